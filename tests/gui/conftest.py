"""Qt test setup shared by every GUI test: offscreen platform, qasync loops.

The platform variable must be set before PySide6 is imported anywhere (pytest-qt does not
set it), otherwise a test run on a machine without a display aborts in QGuiApplication.
"""

from __future__ import annotations

import os

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

import asyncio  # noqa: E402
from collections.abc import Callable, Iterator  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402
import qasync  # noqa: E402
from PySide6.QtWidgets import QApplication  # noqa: E402

from editor_app.ui.spell_highlighter import Spelling  # noqa: E402


def _qapp() -> QApplication:
    app = QApplication.instance()
    if isinstance(app, QApplication):
        return app
    return QApplication([])


def pytest_asyncio_loop_factories(
    config: pytest.Config, item: pytest.Item
) -> dict[str, Callable[[], asyncio.AbstractEventLoop]]:
    """Run every async GUI test on a qasync loop, so Qt events and asyncio share one loop.

    pytest-asyncio >= 1.0 has no ``event_loop`` fixture any more; this hook picks the loop.
    """
    return {"qasync": lambda: qasync.QEventLoop(_qapp())}


@pytest.fixture
def qloop_running(qapp: QApplication) -> Iterator[asyncio.AbstractEventLoop]:
    """An asyncio loop for SYNC tests that drive Qt with ``qtbot.waitUntil``/``waitSignal``.

    Marked ``already_running`` so that code calling ``asyncio.get_running_loop()`` (websockets,
    task spawners) works while qtbot spins the Qt event loop.
    """
    loop = qasync.QEventLoop(qapp, already_running=True)
    asyncio.set_event_loop(loop)
    yield loop
    for task in asyncio.all_tasks(loop):
        task.cancel()
    qapp.processEvents()
    loop.stop()
    loop.close()
    asyncio.events._set_running_loop(None)
    asyncio.set_event_loop(None)


@pytest.fixture(autouse=True)
def _settle_qt_after_each_test() -> Iterator[None]:
    """After each GUI test, deliver what it left queued (deferred deletes, zero timers),
    so a test's leftovers act inside that test and not in whichever test runs next."""
    yield
    app = QApplication.instance()
    if app is not None:
        import gc

        from PySide6.QtCore import QCoreApplication, QEvent

        gc.collect()
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        app.processEvents()


def spelling_or_skip(data_dir: Path, languages: list[str]) -> Spelling:
    """Real Hunspell dictionaries for ``languages`` (user words kept in ``data_dir``); the
    test is skipped, saying why, only where they are not installed."""
    spelling = Spelling(data_dir, languages)
    if spelling.checker is None or spelling.checker.languages != languages:
        pytest.skip(f"needs the {' and '.join(languages)} dictionaries: {spelling.unavailable}")
    return spelling


@pytest.fixture
def english_spelling(tmp_path: Path) -> Spelling:
    return spelling_or_skip(tmp_path, ["en_US"])
