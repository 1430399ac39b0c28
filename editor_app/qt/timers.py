"""Single-shot timers owned by a Qt object (throttles and "once the event loop is back")."""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer


def single_shot(parent: QObject, slot: Callable[[], object], interval_ms: int = 0) -> QTimer:
    """A stopped single-shot timer of ``parent`` that calls ``slot`` ``interval_ms`` after
    each ``start()`` (0: as soon as the event loop is back). Pass a bound method: Qt drops
    the connection when its object is deleted (a lambda would outlive it)."""
    timer = QTimer(parent)
    timer.setSingleShot(True)
    timer.setInterval(interval_ms)
    timer.timeout.connect(slot)
    return timer
