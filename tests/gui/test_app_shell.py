"""The application shell: command line, links, preferences, windows, statuses, conflicts.

Qt runs offscreen (tests/gui/conftest.py). Tests that need a server use the real relay on
port 0 and a data dir in tmp_path, so nothing here touches the user's real settings.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from editor_app.connection_model import (
    LinkError,
    new_document_name,
    parse_document_link,
)
from editor_app.settings import DEFAULT_SERVER, Settings, resolve_data_dir
from editor_app.ui.preferences import PreferencesDialog
from shared import validate_document_name

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
    with pytest.raises(ValueError):
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
