"""A key press leaves at once: ``SyncClient.flush`` writes in the call, not a loop turn later.

Why it matters: in the editor, Qt repaints the window before the event loop runs the writer
task, so a typed character waited for the repaint (2-4 ms) before it left. The editor calls
``flush`` at the end of each key press (``DocumentModel.inputHandled``).

How it is checked without trusting our own loop: the relay and an observer run in another
thread with their own event loop; after the edit and ``flush()`` the test BLOCKS this
thread's loop (no task of ours can run) and waits, with a deadline, for the observer to
see the text. Without the synchronous write the frame would sit in a queue until this
loop turns, and the wait would time out.
"""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import Future
from contextlib import contextmanager

import pytest

from editor_app.core.sync_client import Status
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.app.test_server_connection import running_editor
from tests.support.client import TestClient
from tests.support.waiting import wait_until


class _RelayThread:
    """A relay and one observing client on their own event loop, in their own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self.url: Future[str] = Future()
        self._stop: asyncio.Event | None = None
        self.observer: TestClient | None = None
        self.thread = threading.Thread(target=self.loop.run_until_complete, args=(self._main(),))

    async def _main(self) -> None:
        self._stop = asyncio.Event()
        config = ServerConfig(host="127.0.0.1", port=0)
        async with RelayServer(config) as server:
            async with TestClient(f"{server.url}/flush-doc") as observer:
                await observer.wait_synced()
                self.observer = observer
                self.url.set_result(server.url)
                await self._stop.wait()

    def wait_text(self, expected: str, within: float) -> None:
        """Block the calling thread until the observer holds ``expected``."""
        assert self.observer is not None
        future = asyncio.run_coroutine_threadsafe(
            self.observer.wait_text(expected, within=within), self.loop
        )
        future.result(timeout=within + 5)

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self.thread.join(timeout=30)
        self.loop.close()


@contextmanager
def relay_thread() -> Iterator[_RelayThread]:
    relay = _RelayThread()
    relay.thread.start()
    try:
        relay.url.result(timeout=30)
        yield relay
    finally:
        relay.stop()


@pytest.mark.asyncio
async def test_flush_writes_a_local_edit_before_the_loop_turns() -> None:
    with relay_thread() as relay:
        async with running_editor(relay.url.result(), "flush-doc") as (_conn, editor):
            await wait_until(lambda: editor.status == Status.SAVED, "synced")
            for word in ("한글 ", "e\u0301 ", "🙂 ", "typed"):
                editor.type(word)
                editor.client.flush()
                relay.wait_text(editor.typed, within=5.0)  # this thread's loop stays blocked
            await wait_until(lambda: editor.status == Status.SAVED, "acknowledged")


@pytest.mark.asyncio
async def test_without_flush_the_edit_waits_for_the_loop() -> None:
    """The control: the same edit without ``flush`` does not arrive while the loop is
    blocked (so the test above can fail), and does once the loop runs."""
    with relay_thread() as relay:
        async with running_editor(relay.url.result(), "flush-doc") as (_conn, editor):
            await wait_until(lambda: editor.status == Status.SAVED, "synced")
            editor.type("later")
            with pytest.raises(AssertionError, match="timed out"):
                relay.wait_text("later", within=0.5)
            await wait_until(lambda: editor.status == Status.SAVED, "acknowledged")
            relay.wait_text("later", within=5.0)
