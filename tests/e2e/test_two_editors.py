"""End to end: the real relay, two complete editors in one process, and a stock Yjs client.

Each editor is a full CoscribeApp (own data dir, own LocalStore, own SyncClient) with its
MainWindow, EditorWidget and binding, exactly as ``python -m editor_app`` builds them.
Edits are typed as key events; what crosses the network is checked in the other editors'
widgets, CRDTs and people lists.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QTextCursor

from editor_app.ui.app import OpenDocument
from tests.e2e.harness import (
    DEADLINE,
    OFFLINE,
    RECONNECT_DEADLINE,
    SAVED,
    alice_and_bob,
    place_cursor,
    type_text,
    wait_until,
)

KOREAN = "안녕하세요"
EMOJI = "😀"


def text_of(opened: OpenDocument) -> str:
    return opened.editor.toPlainText()


def crdt_text(opened: OpenDocument) -> str:
    return str(opened.model.text)


def go_to_end(opened: OpenDocument) -> None:
    cursor = opened.editor.textCursor()
    cursor.movePosition(QTextCursor.MoveOperation.End)
    opened.editor.setTextCursor(cursor)


def status(opened: OpenDocument) -> str:
    return opened.window.status_badge.text


@contextlib.asynccontextmanager
async def node_client(tmp_path: Path, url: str, room: str) -> AsyncIterator[Any]:
    """A stock Yjs client (tests/interop/node) on the same document, if Node is available."""
    from tests.interop.node_client import NodeClient, NodeUnavailable, ensure_node_packages

    try:
        node = ensure_node_packages()
    except NodeUnavailable as exc:
        pytest.skip(f"stock Yjs client unavailable: {exc}")
    client = await NodeClient.start(node, url, room, tmp_path / "node-stderr.txt")
    try:
        await client.wait_synced()
        yield client
    finally:
        await client.aclose()


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_two_editors_and_a_yjs_client_edit_format_and_see_each_other(
    tmp_path: Path,
) -> None:
    async with alice_and_bob(tmp_path, "e2e-notes") as two:
        server, alice, bob = two.server, two.alice, two.bob
        for who in (alice, bob):
            await wait_until(lambda w=who: status(w) == SAVED, "both editors to be saved")

        # Alice types; Bob sees the same text in his widget.
        go_to_end(alice)
        type_text(alice.editor, f"Hello from Alice {KOREAN} {EMOJI}")
        expected = f"Hello from Alice {KOREAN} {EMOJI}"
        await wait_until(lambda: text_of(bob) == expected, lambda: f"Bob: {text_of(bob)!r}")

        # Bob makes "Alice" bold; Alice's CRDT carries the Quill attribute.
        start = text_of(bob).index("Alice")
        place_cursor(bob.editor, start, start + len("Alice"))
        bob.editor.toggle_bold()

        def alice_has_bold() -> bool:
            return any(
                chunk == "Alice" and (attrs or {}).get("bold")
                for chunk, attrs in alice.model.text.diff()
            )

        await wait_until(alice_has_bold, lambda: f"bold in Alice's CRDT: {alice.model.text.diff()}")

        # Presence: each sees the other in the people list, by name.
        await wait_until(lambda: "Bob" in alice.window.people.names(), "Bob in Alice's people")
        await wait_until(lambda: "Alice" in bob.window.people.names(), "Alice in Bob's people")

        # A stock Yjs client joins: its edit and formatting reach both editors; theirs reach it.
        async with node_client(tmp_path, server.url, "e2e-notes") as js:
            await js.wait_text(expected)
            await js.insert(0, f"{EMOJI}JS ", {"italic": True})
            expected = f"{EMOJI}JS {expected}"
            for who in (alice, bob):
                await wait_until(
                    lambda w=who: text_of(w) == expected, lambda w=who: f"{text_of(w)!r}"
                )
            for who in (alice, bob):  # the stock client's formatting, in the editors' CRDT
                await wait_until(
                    lambda w=who: any(
                        chunk.startswith(EMOJI) and (a or {}).get("italic")
                        for chunk, a in w.model.text.diff()
                    ),
                    lambda w=who: f"italic from the Yjs client: {w.model.text.diff()}",
                )
            italic = alice.editor.document().firstBlock().begin().fragment().charFormat()
            assert italic.fontItalic()

            # Presence both ways: the editors' names (and cursors) reach the stock client.
            async def js_sees_editors() -> bool:
                states = await js.awareness_states()
                users = {(s.get("user") or {}).get("name"): s for s in states.values() if s}
                return {"Alice", "Bob"} <= users.keys() and all(
                    users[n].get("cursor") for n in ("Alice", "Bob")
                )

            deadline = asyncio.get_running_loop().time() + DEADLINE
            while not await js_sees_editors():
                assert asyncio.get_running_loop().time() < deadline, await js.awareness_states()
                await asyncio.sleep(0.02)
            await js.set_presence({"user": {"name": "Nora", "color": "#9334e6"}})
            for who in (alice, bob):
                await wait_until(
                    lambda w=who: "Nora" in w.window.people.names(), "Nora in the people list"
                )
            go_to_end(bob)
            type_text(bob.editor, " — Bob")
            expected += " — Bob"
            await js.wait_text(expected)
            delta = await js.delta()
            assert any(op.get("attributes", {}).get("italic") for op in delta), delta
            assert any(
                op.get("insert") == "Alice" and op.get("attributes", {}).get("bold") for op in delta
            ), delta
        # The stock client left: its entry disappears from the people lists.
        for who in (alice, bob):
            await wait_until(lambda w=who: "Nora" not in w.window.people.names(), "Nora to leave")


@pytest.mark.asyncio
@pytest.mark.timeout(180)
async def test_server_restart_while_both_keep_typing_converges(tmp_path: Path) -> None:
    async with alice_and_bob(tmp_path, "restart-notes") as two:
        server, alice, bob = two.server, two.alice, two.bob
        go_to_end(alice)
        type_text(alice.editor, "start.")
        await wait_until(lambda: text_of(bob) == "start.", lambda: f"Bob: {text_of(bob)!r}")
        for who in (alice, bob):
            await wait_until(lambda w=who: status(w) == SAVED, "saved before the outage")

        await server.stop()
        for who in (alice, bob):
            await wait_until(lambda w=who: status(w) == OFFLINE, lambda w=who: status(w))

        # Both keep typing while the server is down: each sees only their own edits.
        go_to_end(alice)
        type_text(alice.editor, f" Alice offline {KOREAN}.")
        go_to_end(bob)
        type_text(bob.editor, f" Bob offline {EMOJI}.")
        assert status(alice) == OFFLINE and status(bob) == OFFLINE
        assert "Bob offline" not in text_of(alice)

        await server.start()  # same port, same data dir

        def converged() -> bool:
            a, b = text_of(alice), text_of(bob)
            return a == b and "Alice offline" in a and "Bob offline" in a

        await wait_until(
            converged,
            lambda: f"convergence: {text_of(alice)!r} vs {text_of(bob)!r}",
            within=RECONNECT_DEADLINE,
        )
        final = text_of(alice)
        assert final.startswith("start.")
        assert final.count("Alice offline") == 1 and final.count("Bob offline") == 1
        assert crdt_text(alice) == crdt_text(bob) == final
        for who in (alice, bob):
            await wait_until(
                lambda w=who: status(w) == SAVED,
                lambda w=who: f"saved after reconnect, have {status(w)!r}",
                within=RECONNECT_DEADLINE,
            )
