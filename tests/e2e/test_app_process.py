"""``python -m editor_app URL`` as a real process (offscreen): it joins the document, keeps
a local copy, and quits cleanly on SIGTERM (presence withdrawn, exit status 0)."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from pathlib import Path

import pycrdt
import pytest

from editor_app.core.local_store import LocalStore
from editor_app.core.schema import content
from editor_app.core.sync_client import SyncClient
from shared import Origin
from tests.e2e.harness import DEADLINE, relay, wait_until

TEXT = "written by a collaborator 한글 😀"


def local_copy(data_dir: Path, url: str) -> str:
    """The content of the editor's offline copy of ``url``, read through LocalStore."""
    store = LocalStore(data_dir / "documents.sqlite3")
    try:
        copy = pycrdt.Doc()
        store.open_document(url).load_into(copy)
        return str(content(copy))
    finally:
        store.close()


def names(awareness: pycrdt.Awareness) -> set[str]:
    return {
        str((state.get("user") or {}).get("name"))
        for state in awareness.states.values()
        if isinstance(state, dict)
    }


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_app_process_syncs_keeps_a_local_copy_and_quits_on_sigterm(tmp_path: Path) -> None:
    data_dir = tmp_path / "editor"
    async with relay(tmp_path / "server") as server:
        url = f"{server.url}/process-doc"
        doc = pycrdt.Doc()
        awareness = pycrdt.Awareness(doc)
        watcher = SyncClient(url, doc, awareness)
        log = tmp_path / "editor.log"
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen"}
        with log.open("wb") as out:
            app = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "editor_app",
                url,
                "--data-dir",
                str(data_dir),
                "--name",
                "Terminal Tess",
                env=env,
                stdout=out,
                stderr=out,
            )
        try:
            async with asyncio.TaskGroup() as tg:
                tg.create_task(watcher.run())
                try:
                    await wait_until(
                        lambda: "Terminal Tess" in names(awareness),
                        lambda: f"the app's presence; log: {log.read_text(errors='replace')}",
                        within=30,
                    )
                    with doc.transaction(origin=Origin.LOCAL_EDIT):
                        content(doc).insert(0, TEXT)
                    # The running app persists what it receives (SQLite in WAL mode, so a
                    # second reader sees each commit).
                    await wait_until(
                        lambda: local_copy(data_dir, url) == TEXT,
                        lambda: f"the app's local copy, have {local_copy(data_dir, url)!r}",
                    )
                    app.send_signal(signal.SIGTERM)
                    status = await asyncio.wait_for(app.wait(), DEADLINE)
                    assert status == 0, log.read_text(errors="replace")
                    await wait_until(
                        lambda: "Terminal Tess" not in names(awareness),
                        "the app's presence to be withdrawn",
                    )
                finally:
                    await watcher.close()
        finally:
            if app.returncode is None:
                app.kill()
                await app.wait()

    assert local_copy(data_dir, url) == TEXT  # still there after the process ended
