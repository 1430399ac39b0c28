"""Comments in the editor window against the real relay: Insert ▸ Comment (Ctrl+Alt+M) on
a selection, the thread reaching another client's document with its quote, replies and
resolve both ways, and who may comment (an editor and a commenter: yes, with the
commenter's page read-only; a viewer: no)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QPushButton

from editor_app.core.offsets import utf16_len
from editor_app.ui.app import OpenDocument
from editor_app.ui.comments_panel import CommentsPanel
from shared.access import Role
from shared.origins import Origin
from sync_server.app import RelayServer
from sync_server.auth import mint_token
from tests.e2e.harness import SAVED, editor_app, place_cursor, relay, type_text, wait_until
from tests.server.access_links import SECRET, secured
from tests.support.client import TestClient

TEXT = "Plan: 한국어 notes 😀 for Friday"
QUOTE = "한국어 notes 😀"
CTRL_ALT = Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.AltModifier


def panel_of(opened: OpenDocument) -> CommentsPanel:
    panel = opened.window.comments
    assert isinstance(panel, CommentsPanel)
    return panel


def select(opened: OpenDocument, s: str) -> None:
    text = opened.editor.toPlainText()
    start = utf16_len(text[: text.index(s)])
    place_cursor(opened.editor, start, start + utf16_len(s))


def comments_map(doc: pycrdt.Doc[Any]) -> pycrdt.Map[Any]:
    root: pycrdt.Map[Any] = doc.get("comments", type=pycrdt.Map)
    return root


async def comment_with_keys(opened: OpenDocument, quote: str, words: str) -> str:
    """Select ``quote``, press Ctrl+Alt+M, type ``words``, Enter: the new thread's id."""
    select(opened, quote)
    opened.window.activateWindow()  # (window shortcuts go to the active window)
    await wait_until(opened.window.isActiveWindow, "the window active")
    QTest.keyClick(opened.editor, Qt.Key.Key_M, CTRL_ALT)
    panel = panel_of(opened)
    draft = panel.draft
    assert draft is not None, "Ctrl+Alt+M opened no draft"
    assert draft.field.hasFocus()
    type_text(draft.field, words)
    QTest.keyClick(draft.field, Qt.Key.Key_Return)
    assert panel.draft is None
    (thread,) = [t for t in panel.model.threads if t.quote == quote]
    return thread.id


async def saved(opened: OpenDocument) -> None:
    await wait_until(
        lambda: opened.window.status_badge.text == SAVED,
        lambda: f"saved, status is {opened.window.status_badge.text!r}",
    )


@pytest.mark.asyncio
async def test_ctrl_alt_m_comments_and_another_client_sees_the_thread(tmp_path: Path) -> None:
    async with relay(tmp_path / "srv") as server, editor_app(tmp_path / "ada", "Ada") as app:
        url = f"{server.url}/notes"
        ada = app.open_document(url)
        type_text(ada.editor, TEXT)
        await saved(ada)
        async with TestClient(url) as peer:
            thread_id = await comment_with_keys(ada, QUOTE, "Is Friday right? 👍")
            await wait_until(lambda: thread_id in comments_map(peer.doc), "the thread at the peer")
            stored = comments_map(peer.doc)[thread_id]
            assert stored["quote"] == QUOTE
            assert stored["author"] == "Ada"
            assert stored["messages"][0]["text"] == "Is Friday right? 👍"
            assert str(peer.text) == TEXT  # the text itself untouched
            assert ada.window.actions_by_name["insertComment"].shortcut().toString() == (
                "Ctrl+Alt+M"
            )
            panel = panel_of(ada)
            assert panel.isVisible()
            assert [(s, e) for s, e, _ in panel.model.highlights] == [(6, 6 + utf16_len(QUOTE))]
            assert ada.editor.extraSelections()[0].cursor.selectedText() == QUOTE

            # A reply from the peer shows in Ada's card; Ada resolves, the peer sees it.
            with peer.doc.transaction(origin=Origin.LOCAL_EDIT):
                stored["messages"].append(
                    pycrdt.Map(
                        {
                            "id": "r1",
                            "author": "Bo",
                            "text": "Yes",
                            "created_at": 1.0,
                            "deleted": False,
                        }
                    )
                )
            await peer.flush()
            await wait_until(
                lambda: (
                    [v.message.text for v in panel.cards[thread_id].message_views()]
                    == ["Is Friday right? 👍", "Yes"]
                ),
                "Bo's reply in Ada's card",
            )
            card = panel.cards[thread_id]
            mine, bos = card.message_views()
            assert mine.findChild(QPushButton, "editMessage") is not None
            assert bos.findChild(QPushButton, "editMessage") is None  # not Ada's to change
            QTest.mouseClick(mine.edit_button, Qt.MouseButton.LeftButton)
            assert mine.editor is not None
            mine.editor.setText("Is Thursday right?")
            QTest.keyClick(mine.editor, Qt.Key.Key_Return)
            await wait_until(
                lambda: stored["messages"][0]["text"] == "Is Thursday right?",
                "the edit at the peer",
            )
            assert "edited_at" in stored["messages"][0]
            card = panel.cards[thread_id]
            QTest.mouseClick(card.resolve_button, Qt.MouseButton.LeftButton)
            await wait_until(lambda: stored["resolved"] is True, "resolved at the peer")
            assert thread_id not in panel.cards  # resolved threads are hidden...
            panel.show_resolved.setChecked(True)
            assert thread_id in panel.cards  # ...unless asked for
            assert ada.editor.extraSelections() == []

            # Clicking a card selects its text in the page.
            place_cursor(ada.editor, 0)
            QTest.mouseClick(panel.cards[thread_id], Qt.MouseButton.LeftButton)
            assert ada.editor.textCursor().selectedText() == QUOTE


@asynccontextmanager
async def shared_with(
    tmp_path: Path, role: Role
) -> AsyncIterator[tuple[OpenDocument, OpenDocument]]:
    """Ada (an editor) typed TEXT on a relay that checks links; Cal opened it with a link
    of ``role``. Yields (Ada's window, Cal's window) once Cal has the text."""
    async with (
        RelayServer(secured(data_dir=tmp_path / "srv")) as server,
        editor_app(tmp_path / "ada", "Ada") as ada_app,
        editor_app(tmp_path / "cal", "Cal") as cal_app,
    ):
        ada = ada_app.open_document(
            f"{server.url}/memo?token={mint_token(SECRET, 'memo', Role.EDITOR)}"
        )
        type_text(ada.editor, TEXT)
        await saved(ada)
        cal = cal_app.open_document(f"{server.url}/memo?token={mint_token(SECRET, 'memo', role)}")
        await wait_until(
            lambda: cal.editor.isReadOnly() and cal.editor.toPlainText() == TEXT,
            lambda: f"Cal read-only with the text, has {cal.editor.toPlainText()!r}",
        )
        yield ada, cal


@pytest.mark.asyncio
async def test_a_commenter_comments_on_a_read_only_page(tmp_path: Path) -> None:
    async with shared_with(tmp_path, Role.COMMENTER) as (ada, cal):
        await wait_until(
            lambda: cal.window.actions_by_name["insertComment"].isEnabled(),
            "Insert ▸ Comment enabled for the commenter",
        )
        assert not cal.window.actions_by_name["bold"].isEnabled()
        thread_id = await comment_with_keys(cal, QUOTE, "Typo here?")
        await wait_until(
            lambda: any(t.id == thread_id for t in panel_of(ada).model.threads),
            "the commenter's thread in the editor's panel",
        )
        (thread,) = panel_of(ada).model.threads
        assert (thread.quote, thread.author, thread.messages[0].text) == (
            QUOTE,
            "Cal",
            "Typo here?",
        )
        await saved(cal)  # stored: the server accepted it (a refusal closes with 1007)
        # Ada replies from her card; Cal sees it.
        card = panel_of(ada).cards[thread_id]
        type_text(card.reply_field, "Fixed, thanks")
        QTest.keyClick(card.reply_field, Qt.Key.Key_Return)
        await wait_until(
            lambda: (
                [m.text for m in panel_of(cal).model.threads[0].messages]
                == ["Typo here?", "Fixed, thanks"]
            ),
            "Ada's reply at Cal's",
        )
        assert cal.editor.isReadOnly() and str(cal.model.text) == TEXT


@pytest.mark.asyncio
async def test_a_viewer_cannot_comment(tmp_path: Path) -> None:
    async with shared_with(tmp_path, Role.VIEWER) as (ada, vic):
        await comment_with_keys(ada, QUOTE, "Seen by all")
        await wait_until(lambda: len(panel_of(vic).model.threads) == 1, "the thread at Vic's")
        await wait_until(
            lambda: not vic.window.actions_by_name["insertComment"].isEnabled(),
            "Insert ▸ Comment disabled for the viewer",
        )
        select(vic, "Friday")
        vic.window.activateWindow()
        await wait_until(vic.window.isActiveWindow, "Vic's window active")
        QTest.keyClick(vic.editor, Qt.Key.Key_M, CTRL_ALT)
        panel = panel_of(vic)
        assert panel.draft is None and panel.start_comment() is None
        (card,) = panel.cards.values()
        assert not card.resolve_button.isEnabled()
        assert card.reply_field.isHidden()
        assert len(comments_map(vic.doc)) == 1
