"""Qt widgets of the editor. Widgets wire view-models together; they hold no document logic.

Importing this package also applies :func:`ensure_none_headroom` (see there): every Qt
module of the editor (widgets, :mod:`editor_app.formats`, the binding) imports it first.
"""

from __future__ import annotations

import ctypes
import sys

import PySide6

#: Added to None's reference count once; at ~1 leaked reference per Qt call this lasts
#: for millennia of editing, and it is far below the 2**62 where CPython would care.
_NONE_HEADROOM = 1 << 40


def pyside_leaks_none() -> bool:
    """True for the combination verified to leak: PySide6 6.12 on CPython < 3.12.

    Every PySide6 6.12 method that returns ``void`` hands back ``None`` WITHOUT taking a
    reference (harmless on 3.12+, where None is immortal). On 3.11 each call drops None's
    reference count by one; it starts around 5,000, so typing a few hundred characters or
    loading a long document ends in "Fatal Python error: none_dealloc" (measured: -1 per
    ``QObject.setObjectName``, ``QTextCursor.setPosition``, ``QTextCharFormat.setFontWeight``).
    """
    return sys.version_info < (3, 12) and PySide6.__version__.startswith("6.12.")


def ensure_none_headroom() -> None:
    """Work around :func:`pyside_leaks_none` by giving None a huge reference count.

    The proper fix is outside this package (PySide6 < 6.12, or Python >= 3.12); until then
    this keeps the app and the test suite alive. A no-op wherever the leak does not exist.
    """
    if pyside_leaks_none() and sys.getrefcount(None) < _NONE_HEADROOM:
        refcnt = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt: first field of PyObject
        refcnt.value += _NONE_HEADROOM


ensure_none_headroom()
