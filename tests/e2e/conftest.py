"""End-to-end fixtures: Qt offscreen (in-process editors) on a qasync loop.

The Xvfb test (marker ``gui``) drives the real app in a subprocess and runs its own client
on a plain asyncio loop, so it does not need Qt in the test process.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio  # noqa: E402
from collections.abc import Callable  # noqa: E402

import pytest  # noqa: E402


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """In-process editor tests share one qasync loop between Qt and asyncio."""
    if item.get_closest_marker("gui") is not None:
        return {"asyncio": asyncio.new_event_loop}

    def qasync_loop() -> asyncio.AbstractEventLoop:
        import qasync
        from PySide6.QtWidgets import QApplication

        app = QApplication.instance() or QApplication([])
        assert isinstance(app, QApplication)
        return qasync.QEventLoop(app)

    return {"qasync": qasync_loop}
