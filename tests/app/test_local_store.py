"""LocalStore on real SQLite files in tmp_path, including a process killed mid-session."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from editor_app.core import local_store
from editor_app.core.local_store import LocalDocument, LocalStore
from editor_app.core.schema import TITLE, content, meta
from shared.origins import Origin

URL = "ws://127.0.0.1:1234/notes"


def new_doc() -> pycrdt.Doc[Any]:
    return pycrdt.Doc()


def attached(local: LocalDocument) -> pycrdt.Doc[Any]:
    """A new document whose edits ``local`` stores."""
    doc = new_doc()
    local.attach(doc)
    return doc


@pytest.fixture
def store(tmp_path: Path) -> Iterator[LocalStore]:
    """A LocalStore in tmp_path, closed after the test."""
    store = LocalStore(tmp_path / "local.sqlite3")
    yield store
    store.close()


def edit(doc: pycrdt.Doc[Any], s: str, attrs: dict[str, Any] | None = None) -> None:
    text = content(doc)
    with doc.transaction(origin=Origin.LOCAL_EDIT):
        text.insert(len(text), s, attrs)


def test_edits_survive_closing_and_reopening(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "local.sqlite3")
    local = store.open_document(URL)
    doc = new_doc()
    local.load_into(doc)
    local.attach(doc)
    edit(doc, "한국어 😀 ")
    edit(doc, "bold", {"bold": True})
    store.close()
    store.close()  # idempotent

    store = LocalStore(tmp_path / "local.sqlite3")
    again = new_doc()
    store.open_document(URL).load_into(again)
    assert str(content(again)) == "한국어 😀 bold"
    assert content(again).diff()[-1] == ("bold", {"bold": True})
    store.close()


def test_store_loads_are_not_stored_again_but_remote_updates_are(store: LocalStore) -> None:
    local = store.open_document(URL)
    doc = attached(local)
    edit(doc, "a")
    edit(doc, "b")
    assert local.stored_updates() == 2
    local.detach()

    fresh = new_doc()
    local.load_into(fresh)
    local.attach(fresh)
    assert local.stored_updates() == 2  # the STORE_LOAD transaction was skipped

    peer = new_doc()
    peer.apply_update(fresh.get_update())
    edit(peer, "c")
    with fresh.transaction(origin=Origin.REMOTE):
        fresh.apply_update(peer.get_update(fresh.get_state()))
    assert local.stored_updates() == 3  # a collaborator's edit is part of the offline copy


def test_survives_being_killed(tmp_path: Path) -> None:
    db = tmp_path / "killed.sqlite3"
    script = textwrap.dedent(
        f"""
        import os, signal, sys
        import pycrdt
        from editor_app.core.local_store import LocalStore
        from editor_app.core.schema import content
        from shared.origins import Origin
        store = LocalStore({str(db)!r})
        local = store.open_document({URL!r})
        doc = pycrdt.Doc()
        local.attach(doc)
        text = content(doc)
        for word in ["typed ", "before ", "the ", "crash 💥"]:
            with doc.transaction(origin=Origin.LOCAL_EDIT):
                text.insert(len(text), word)
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, timeout=60)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()
    store = LocalStore(db)
    doc = new_doc()
    store.open_document(URL).load_into(doc)
    assert str(content(doc)) == "typed before the crash 💥"
    store.close()


def test_compaction_keeps_the_content(store: LocalStore) -> None:
    local = store.open_document(URL)
    doc = attached(local)
    for i in range(local_store.COMPACT_AFTER + 10):
        edit(doc, str(i % 10))
    assert local.stored_updates() <= 11  # compacted automatically once
    local.compact()
    assert local.stored_updates() == 1
    loaded = new_doc()
    local.load_into(loaded)
    assert str(content(loaded)) == str(content(doc))


def test_recent_documents_with_titles(store: LocalStore) -> None:
    doc = attached(store.open_document("ws://h/first"))
    with doc.transaction(origin=Origin.LOCAL_EDIT):
        meta(doc)[TITLE] = "Quarterly plan — 계획"
    store.open_document("ws://h/second")
    recent = store.recent()
    assert [e.url for e in recent] == ["ws://h/second", "ws://h/first"]
    assert recent[1].title == "Quarterly plan — 계획"
    assert recent[0].last_opened >= recent[1].last_opened
    assert len(store.recent(limit=1)) == 1
    store.open_document("ws://h/first")  # re-opening moves it to the top
    assert store.recent()[0].url == "ws://h/first"
    store.forget("ws://h/second")
    assert [e.url for e in store.recent()] == ["ws://h/first"]


def test_incarnation_discard_and_copy(tmp_path: Path) -> None:
    path = tmp_path / "i.db"
    store = LocalStore(path)
    local = store.open_document(URL)
    assert local.incarnation is None
    edit(attached(local), "offline work")
    local.set_incarnation("inc-1")
    store.close()

    store = LocalStore(path)
    local = store.open_document(URL)
    assert local.incarnation == "inc-1"
    local.save_as_copy(URL + "-copy")
    local.discard()
    assert local.incarnation is None
    emptied = new_doc()
    local.load_into(emptied)
    assert str(content(emptied)) == ""

    copy = store.open_document(URL + "-copy")
    assert copy.incarnation is None
    kept = new_doc()
    copy.load_into(kept)
    assert str(content(kept)) == "offline work"
    store.close()


def test_wal_mode(tmp_path: Path) -> None:
    store = LocalStore(tmp_path / "w.db")
    assert os.path.exists(tmp_path / "w.db")
    (mode,) = store.db.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    store.close()


def test_data_dir_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from editor_app.core.paths import ENV_VAR, data_dir

    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))  # never the real one

    env = {ENV_VAR: str(tmp_path / "from-env")}
    assert data_dir(tmp_path / "from-cli", env) == tmp_path / "from-cli"
    assert data_dir(None, env) == tmp_path / "from-env"
    assert (tmp_path / "from-env").is_dir()  # created on demand
    assert data_dir(None, {}) == tmp_path / "xdg" / "Coscribe"
