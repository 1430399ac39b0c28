"""The application shell: command line, links, preferences, windows, statuses, conflicts.

Qt runs offscreen (tests/gui/conftest.py). Tests that need a server use the real relay on
port 0 and a data dir in tmp_path, so nothing here touches the user's real settings.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication, QDialogButtonBox, QPushButton, QWidget
from pytestqt.qtbot import QtBot

from editor_app.core.errors import InvalidColor
from editor_app.core.links import (
    DEFAULT_SERVER,
    LinkError,
    new_document_name,
    parse_document_link,
)
from editor_app.core.paths import resolve_data_dir
from editor_app.qt.settings import Settings
from editor_app.ui.app import CoscribeApp, OpenDocument
from editor_app.ui.preferences import PreferencesDialog
from shared import validate_document_name
from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token
from sync_server.config import ServerConfig
from tests.e2e.harness import (
    DEADLINE,
    OFFLINE,
    SAVED,
    Relay,
    alice_and_bob,
    editor_app,
    place_cursor,
    relay,
    solo_document,
    type_text,
    wait_until,
)

# -- command line ---------------------------------------------------------------------------


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "editor_app", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_help_lists_every_option() -> None:
    result = run_cli("--help")
    assert result.returncode == 0
    for option in ("URL", "--name", "--data-dir", "--server", "COSCRIBE_DATA_DIR"):
        assert option in result.stdout


@pytest.mark.parametrize(
    ("arg", "message"),
    [
        ("foo", "coscribe: error: not a document link: 'foo' (expected ws://host:port/<document>"),
        ("http://h:1/doc", "not a document link: 'http://h:1/doc'"),
        ("ws://h:1/", "the link has no document name"),
        ("ws://h:1/a/b", "not a valid document name"),
    ],
)
def test_bad_link_is_a_one_line_error(arg: str, message: str) -> None:
    result = run_cli(arg)
    assert result.returncode == 2
    assert result.stdout == ""
    assert message in result.stderr
    assert result.stderr.count("\n") == 1, result.stderr


def test_bad_server_is_a_one_line_error() -> None:
    result = run_cli("--server", "localhost:1234")
    assert result.returncode == 2
    assert result.stderr == (
        "coscribe: error: not a server address: 'localhost:1234' (expected ws://host:port)\n"
    )


# -- links ----------------------------------------------------------------------------------


def test_parse_document_link() -> None:
    link = parse_document_link(" ws://127.0.0.1:1234/team-notes ")
    assert (link.url, link.server, link.name) == (
        "ws://127.0.0.1:1234/team-notes",
        "ws://127.0.0.1:1234",
        "team-notes",
    )
    secure = parse_document_link("wss://docs.example.org/plan.v2?token=abc")
    assert secure.url == "wss://docs.example.org/plan.v2?token=abc"
    assert secure.server == "wss://docs.example.org"
    for bad in ("", "foo", "ws://", "ws:///doc", "ftp://h/doc", "ws://h:99999/doc", "ws://h/.."):
        with pytest.raises(LinkError):
            parse_document_link(bad)


def test_new_document_names_are_valid_and_distinct() -> None:
    names = {new_document_name() for _ in range(200)}
    assert len(names) > 190
    for name in names:
        assert validate_document_name(name) == name
        assert parse_document_link(f"{DEFAULT_SERVER}/{name}").name == name


# -- settings and preferences ---------------------------------------------------------------


def test_data_dir_resolution(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COSCRIBE_DATA_DIR", str(tmp_path / "from-env"))
    assert resolve_data_dir(None) == tmp_path / "from-env"
    assert resolve_data_dir(tmp_path / "cli") == tmp_path / "cli"
    assert (tmp_path / "cli").is_dir()


def test_settings_live_in_the_data_dir(qapp: QApplication, tmp_path: Path) -> None:
    settings = Settings(tmp_path)
    assert settings.default_server == DEFAULT_SERVER
    color = settings.color
    assert Settings(tmp_path).color == color  # picked once, then remembered
    settings.display_name = "Min-jun 민준"
    settings.default_server = "ws://example.org:9000/"
    again = Settings(tmp_path)
    assert again.display_name == "Min-jun 민준"
    assert again.default_server == "ws://example.org:9000"
    assert (tmp_path / "settings.ini").is_file()
    with pytest.raises(InvalidColor):
        settings.color = "red"


def test_preferences_dialog_remembers_choices(qtbot: QtBot, tmp_path: Path) -> None:
    dialog = PreferencesDialog(Settings(tmp_path))
    qtbot.addWidget(dialog)
    dialog.name_edit.setText("Ada")
    dialog.set_color("#188038")
    dialog.server_edit.setText("not a server")
    dialog.accept()
    assert dialog.result() != dialog.DialogCode.Accepted  # refused, with a message
    assert Settings(tmp_path).display_name != "Ada"
    dialog.server_edit.setText("ws://10.0.0.2:4000")
    dialog.accept()
    assert dialog.result() == dialog.DialogCode.Accepted
    remembered = Settings(tmp_path)
    assert (remembered.display_name, remembered.color, remembered.default_server) == (
        "Ada",
        "#188038",
        "ws://10.0.0.2:4000",
    )
    reopened = PreferencesDialog(remembered)
    qtbot.addWidget(reopened)
    assert reopened.name_edit.text() == "Ada"
    assert reopened.color == "#188038"


# -- the running application (real relay on port 0, full CoscribeApp per editor) ------------


def top_level(object_name: str) -> QWidget | None:
    for widget in QApplication.topLevelWidgets():
        if widget.objectName() == object_name and widget.isVisible():
            return widget
    return None


def only_document(app: CoscribeApp) -> OpenDocument:
    assert len(app.documents) == 1, list(app.documents)
    return next(iter(app.documents.values()))


@pytest.mark.asyncio
async def test_start_window_new_document_close_and_recent(tmp_path: Path) -> None:
    async with relay(tmp_path / "server") as server:
        async with editor_app(tmp_path / "me", "Ada", server=server.url) as app:
            start = app.show_start()
            assert start.isVisible() and start.recent_urls() == []
            start.new_button.click()
            opened = only_document(app)
            assert opened.link.server == server.url
            assert opened.window.isVisible() and not start.isVisible()
            assert opened.window.windowTitle() == "Untitled document — Coscribe"
            await wait_until(lambda: opened.window.status_badge.text == SAVED, "saved")
            opened.window.close()  # the last window: the app is done
            await asyncio.wait_for(app.wait_until_done(), DEADLINE)
            assert app.is_done and app.documents == {}
        async with editor_app(tmp_path / "me", "Ada", server=server.url) as again:
            assert again.show_start().recent_urls() == [opened.link.url]


@pytest.mark.asyncio
async def test_open_link_dialog_validates_and_opens(tmp_path: Path) -> None:
    async with relay(tmp_path / "server") as server, editor_app(tmp_path / "me", "Ada") as app:
        dialog = app.show_start().show_open_link()
        dialog.edit.setText("foo")
        assert "not a document link" in dialog.error.text()
        assert not dialog.buttons.button(QDialogButtonBox.StandardButton.Open).isEnabled()
        dialog.edit.setText(f"{server.url}/shared-doc")
        assert dialog.error.text() == ""
        dialog.buttons.button(QDialogButtonBox.StandardButton.Open).click()
        assert only_document(app).link.url == f"{server.url}/shared-doc"
        # Opening the same link again raises the existing window instead of a second one.
        app.open_document(f"{server.url}/shared-doc")
        assert len(app.documents) == 1


@pytest.mark.asyncio
async def test_title_edit_syncs_and_copy_link(tmp_path: Path, qtbot: QtBot) -> None:
    async with alice_and_bob(tmp_path, "titled") as two:
        alice, bob = two.alice, two.bob
        qtbot.keyClicks(alice.window.title_edit, "Quarterly plan")
        assert alice.model.title() == "Quarterly plan"
        assert alice.window.windowTitle() == "Quarterly plan — Coscribe"
        await wait_until(lambda: bob.window.title_edit.text() == "Quarterly plan", "title")
        assert bob.window.windowTitle() == "Quarterly plan — Coscribe"
        bob.window.copy_link()
        assert QApplication.clipboard().text() == two.url


@pytest.mark.asyncio
async def test_status_texts_follow_the_connection(tmp_path: Path) -> None:
    server = Relay(tmp_path / "server")
    await server.start()
    url = f"{server.url}/status-doc"
    await server.stop()  # the port is known, nobody listens: the app starts offline
    try:
        async with editor_app(tmp_path / "me", "Ada") as app:
            opened = app.open_document(url)
            seen: list[str] = [opened.window.status_badge.text]
            opened.connection.statusChanged.connect(lambda text, _kind: seen.append(text))
            assert seen[0] in ("Connecting…", OFFLINE)
            await wait_until(lambda: opened.window.status_badge.text == OFFLINE, lambda: seen)
            assert opened.window.status_badge.retry_button.isVisibleTo(opened.window)
            type_text(opened.editor, "written offline")
            assert opened.window.status_badge.text == OFFLINE  # never "saved" while offline
            await server.start()
            opened.connection.retry_now()  # the badge's "Retry now"
            await wait_until(
                lambda: opened.window.status_badge.text == SAVED, lambda: f"{seen}", within=20
            )
            assert "Connecting…" in seen
            assert seen.index(OFFLINE) < len(seen) - 1
            type_text(opened.editor, " and online")
            await wait_until(lambda: opened.window.status_badge.text == SAVED, lambda: seen)
    finally:
        await server.stop()


@pytest.mark.asyncio
async def test_find_replace_export_and_word_count(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "find-doc") as opened:
        type_text(opened.editor, "the cat sat on the Cat mat")
        dialog = opened.window.show_find(replace=False)
        dialog.find_edit.setText("cat")
        assert dialog.find_next()
        assert opened.editor.textCursor().selectedText() == "cat"
        dialog.replace_edit.setText("dog")
        assert dialog.replace()
        assert opened.editor.toPlainText() == "the dog sat on the Cat mat"
        dialog.find_edit.setText("zebra")
        assert not dialog.find_next() and "not found" in dialog.message.text()
        dialog.find_edit.setText("the")
        assert dialog.replace_all() == 2
        assert str(opened.model.text) == "dog dog sat on dog Cat mat"
        await wait_until(
            lambda: opened.window.word_count_label.text() == "7 words",
            lambda: opened.window.word_count_label.text(),
        )
        written = opened.window.export_to(tmp_path / "out", "md")
        assert written.read_text(encoding="utf-8").strip() == "dog dog sat on dog Cat mat"


@pytest.mark.asyncio
async def test_import_creates_a_new_formatted_document(tmp_path: Path) -> None:
    source = tmp_path / "Weekly notes.md"
    source.write_text("# Agenda\n\nSome **bold** 한국어 😀\n\n- one\n- two\n", "utf-8")
    async with relay(tmp_path / "server") as server:
        async with editor_app(tmp_path / "me", "Ada", server=server.url) as app:
            opened = app.import_file(str(source))
            assert opened.model.title() == "Weekly notes"
            diff = opened.model.text.diff()
            text = str(opened.model.text)
            assert text.startswith("Agenda\n") and "한국어 😀" in text and "two" in text
            assert any(chunk == "bold" and (a or {}).get("bold") for chunk, a in diff), diff
            assert any((a or {}).get("header") == 1 for _, a in diff), diff
            assert any((a or {}).get("list") == "bullet" for _, a in diff), diff


async def _make_conflict(tmp_path: Path, server: Relay, name: str) -> None:
    """Alice's local copy comes from one incarnation of ``name``; the server then deletes
    the document and Bob creates a new one under the same name."""
    url = f"{server.url}/{name}"
    async with editor_app(tmp_path / "alice", "Alice") as alice_app:
        alice = alice_app.open_document(url)
        type_text(alice.editor, "Alice's version")
        await wait_until(lambda: alice.window.status_badge.text == SAVED, "Alice saved")
    assert server.server is not None
    await server.server.delete_document(name)
    async with editor_app(tmp_path / "bob", "Bob") as bob_app:
        bob = bob_app.open_document(url)
        type_text(bob.editor, "Bob's new document")
        await wait_until(lambda: bob.window.status_badge.text == SAVED, "Bob saved")


async def _conflict_box() -> QWidget:
    box: QWidget | None = None

    def visible() -> bool:
        nonlocal box
        box = top_level("conflictDialog")
        return box is not None

    await wait_until(visible, "the conflict dialog")
    assert box is not None
    return box


@pytest.mark.asyncio
async def test_conflict_keep_my_version_as_a_new_document(tmp_path: Path) -> None:
    async with relay(tmp_path / "server") as server:
        await _make_conflict(tmp_path, server, "recreated")
        async with editor_app(tmp_path / "alice", "Alice") as app:
            first = app.open_document(f"{server.url}/recreated")
            box = await _conflict_box()
            assert "Conflict" in first.window.status_badge.text
            assert "Bob" not in first.editor.toPlainText()  # never merged silently
            # "Decide later" leaves the window disconnected; "Resolve…" asks again.
            box.findChild(QPushButton, "laterButton").click()
            await wait_until(lambda: top_level("conflictDialog") is None, "the dialog to close")
            assert "Bob" not in first.editor.toPlainText()
            resolve = first.window.status_badge.resolve_button
            assert resolve.isVisibleTo(first.window)
            resolve.click()
            box = await _conflict_box()
            button = box.findChild(QPushButton, "keepCopyButton")
            assert button.text() == "Keep my version as a new document"
            button.click()
            await wait_until(
                lambda: len(app.documents) == 1 and first.link.url not in app.documents,
                lambda: f"only the copy open, have {list(app.documents)}",
            )
            copy = only_document(app)
            assert not app.is_done  # the copy replaced the last window: keep running
            assert copy.link.name.startswith("recreated-copy-")
            assert copy.editor.toPlainText() == "Alice's version"
            await wait_until(lambda: copy.window.status_badge.text == SAVED, "copy saved")


@pytest.mark.asyncio
async def test_conflict_discard_my_offline_changes(tmp_path: Path) -> None:
    async with relay(tmp_path / "server") as server:
        await _make_conflict(tmp_path, server, "recreated2")
        async with editor_app(tmp_path / "alice", "Alice") as app:
            app.open_document(f"{server.url}/recreated2")
            box = await _conflict_box()
            button = box.findChild(QPushButton, "discardButton")
            assert button.text() == "Discard my offline changes"
            button.click()

            def reopened_with_server_text() -> bool:
                return len(app.documents) == 1 and (
                    only_document(app).editor.toPlainText() == "Bob's new document"
                )

            await wait_until(reopened_with_server_text, "the server's document")
            assert not app.is_done
            await wait_until(lambda: only_document(app).window.status_badge.text == SAVED, "saved")


@pytest.mark.asyncio
async def test_preferences_rename_reaches_collaborators(tmp_path: Path) -> None:
    Settings(tmp_path / "bob").color = "#188038"  # not Alice's new colour (it would be taken)
    async with alice_and_bob(tmp_path, "people") as two:
        alice, bob = two.alice, two.bob
        await wait_until(lambda: "Alice" in bob.window.people.names(), "Alice in Bob's list")
        assert alice.window.people.people()[0].is_you
        two.alice_app.show_preferences()
        dialog = top_level("preferencesDialog")
        assert isinstance(dialog, PreferencesDialog)
        dialog.name_edit.setText("Alicia")
        dialog.set_color("#9334e6")
        dialog.accept()
        assert alice.window.people.people()[0].name == "Alicia"
        await wait_until(
            lambda: "Alicia" in bob.window.people.names(), lambda: bob.window.people.names()
        )
        colors = {p.name: p.color for p in bob.window.people.people()}
        assert colors["Alicia"] == "#9334e6"
        assert Settings(tmp_path / "alice").display_name == "Alicia"


@pytest.mark.asyncio
async def test_toolbar_applies_and_reflects_formatting_and_undo(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "toolbar") as opened:
        window, editor = opened.window, opened.editor
        type_text(editor, "Heading\nbody text")
        place_cursor(editor, len("Heading\n"), len("Heading\nbody"))
        window.actions_by_name["bold"].trigger()
        assert ("body", {"bold": True}) in opened.model.text.diff()
        assert window.actions_by_name["bold"].isChecked()
        place_cursor(editor, 1)
        assert not window.actions_by_name["bold"].isChecked()
        window.actions_by_name["heading2"].trigger()
        assert window.heading_combo.currentText() == "Heading 2"
        assert any((a or {}).get("header") == 2 for _, a in opened.model.text.diff())
        window.actions_by_name["bullet"].trigger()
        assert window.actions_by_name["bullet"].isChecked()
        await wait_until(lambda: window.actions_by_name["undo"].isEnabled(), "undo enabled")
        before = opened.model.text.diff()
        window.actions_by_name["undo"].trigger()  # undoes this user's last edit group
        assert opened.model.text.diff() != before
        assert editor.toPlainText() == str(opened.model.text)
        await wait_until(lambda: window.actions_by_name["redo"].isEnabled(), "redo enabled")
        window.actions_by_name["redo"].trigger()
        assert opened.model.text.diff() == before


@pytest.mark.asyncio
async def test_access_denied_and_view_only_links(tmp_path: Path) -> None:
    secret = b"0123456789abcdef-test-secret"
    config = ServerConfig(host="127.0.0.1", port=0, data_dir=tmp_path / "srv", secret=secret)
    (tmp_path / "srv").mkdir()
    async with RelayServer(config) as server, editor_app(tmp_path / "me", "Ada") as app:
        denied = app.open_document(f"{server.url}/private")
        await wait_until(
            lambda: denied.window.status_badge.text.startswith("Access denied"),
            lambda: denied.window.status_badge.text,
        )
        assert "token" in denied.window.status_badge.text  # says what is missing
        assert not denied.window.status_badge.retry_button.isVisibleTo(denied.window)
        assert denied.connection.kind == "denied"
        assert denied.connection.retry_in is None  # no retry loop: a refusal is final

        token = mint_token(secret, "private", Role.VIEWER)
        viewer = app.open_document(f"{server.url}/private?token={token}")
        await wait_until(
            lambda: viewer.window.status_badge.view_only.isVisibleTo(viewer.window),
            lambda: f"view only, status {viewer.window.status_badge.text!r}",
        )
        assert viewer.editor.isReadOnly() and viewer.window.title_edit.isReadOnly()
        assert not viewer.window.toolbar.isEnabled()


@pytest.mark.asyncio
async def test_typing_keeps_saving_until_a_pause_then_says_saved_once(tmp_path: Path) -> None:
    """Every keystroke is "Saving…" and, a few ms later, acknowledged; shown as it
    happened the status flickered at typing speed. While someone types it stays
    "Saving…"; "All changes saved" comes once, when they pause (as in Google Docs), and
    still only after the server acknowledged everything."""
    server = Relay(tmp_path / "server")
    await server.start()
    try:
        async with editor_app(tmp_path / "me", "Ada") as app:
            opened = app.open_document(f"{server.url}/typing-status")
            await wait_until(lambda: opened.window.status_badge.text == SAVED, "saved")
            seen: list[str] = []
            opened.connection.statusChanged.connect(lambda text, _kind: seen.append(text))
            acked: list[int] = []
            opened.client.add_listener(
                lambda status: acked.append(1) if status.status.name == "SAVED" else None
            )
            for ch in "typing at a person's pace":
                sent = len(acked)
                type_text(opened.editor, ch)
                await wait_until(lambda n=sent: len(acked) > n, "the key was acknowledged")
                await asyncio.sleep(0.1)  # typing cadence: the next key comes 0.1 s later
            assert seen == ["Saving…"], seen  # acknowledged 25 times, never shown as saved
            await wait_until(lambda: opened.window.status_badge.text == SAVED, lambda: seen)
            assert seen == ["Saving…", SAVED]
    finally:
        await server.stop()
