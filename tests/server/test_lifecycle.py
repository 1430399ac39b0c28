"""The one lifecycle (shared.lifecycle table, sync_server.lifecycle.Resource)."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack

import pytest

from shared.errors import InvalidState
from shared.lifecycle import Lifecycle, LifeState
from sync_server.lifecycle import Resource


def test_the_table_allows_only_the_documented_moves() -> None:
    life = Lifecycle("thing")
    with pytest.raises(InvalidState):
        life.opened()
    life.begin_open()
    with pytest.raises(InvalidState):
        life.begin_open()
    life.opened()
    life.require_open()
    assert life.begin_close() is True
    assert life.begin_close() is False
    life.closed()
    assert life.state is LifeState.CLOSED
    with pytest.raises(InvalidState, match="thing is closed"):
        life.require_open()


def test_closing_a_never_opened_thing_is_a_no_op() -> None:
    life = Lifecycle("thing")
    assert life.begin_close() is False
    assert life.state is LifeState.CLOSED


class Recorder(Resource):
    def __init__(self, log: list[str], fail_open: bool = False) -> None:
        super().__init__("recorder")
        self.log = log
        self.fail_open = fail_open

    async def _open(self, stack: AsyncExitStack) -> None:
        stack.callback(self.log.append, "stack unwound")
        self.spawn(self._forever(), "forever")
        if self.fail_open:
            raise RuntimeError("no")

    async def _forever(self) -> None:
        try:
            await asyncio.Event().wait()
        except asyncio.CancelledError:
            self.log.append("background cancelled")
            raise

    async def _close(self) -> None:
        self.log.append("close")


@pytest.mark.asyncio
async def test_close_is_ordered_idempotent_and_waits_for_the_first_caller() -> None:
    log: list[str] = []
    async with Recorder(log) as r:
        assert r.is_open
        await asyncio.sleep(0)
        await asyncio.gather(r.aclose(), r.aclose())
        assert log == ["close", "background cancelled", "stack unwound"]
    assert log.count("close") == 1
    with pytest.raises(InvalidState):
        r.spawn(asyncio.sleep(0), "late")


@pytest.mark.asyncio
async def test_a_failed_open_leaves_nothing_running() -> None:
    log: list[str] = []
    r = Recorder(log, fail_open=True)
    with pytest.raises(RuntimeError):
        await r.__aenter__()
    assert r.life.state is LifeState.CLOSED
    assert "stack unwound" in log and "close" not in log
