"""The editor's errors: branches of Coscribe's one error tree (:mod:`shared.errors`).

Everything the editor raises on purpose derives from :class:`shared.errors.CollabError`
(what the user typed sits beside ``InvalidDocumentName``; failures on our side under
``LocalError``). Each class also keeps the built-in base it always had (``ValueError``,
``OSError``, ``AssertionError``), so code that caught those goes on working::

    CollabError (shared.errors)
    ├── LinkError (also ValueError)            not a document link; the message is for the user
    ├── UnsupportedFileType (also ValueError)  an export/import format the editor does not handle
    ├── InvalidColor (also ValueError)         a cursor color that is not ``#rrggbb``
    └── LocalError (shared.errors)
        ├── ExportError (also OSError)         writing an export file failed
        ├── SurrogateSplit (also ValueError)   a UTF-16 range that cuts a surrogate pair
        ├── PositionUnavailable (also ValueError)  no relative position can be computed now
        ├── UnreadableEncoding (also ValueError)   pycrdt bytes that do not decode: a bug
        └── BindingDesync (also AssertionError)  Qt and the text mirror disagree: a bug

Qt-free on purpose: the Qt layer raises some of these (:class:`BindingDesync`,
:class:`ExportError`), but the tree is one module that every layer may import.
"""

from __future__ import annotations

from shared.errors import CollabError, LocalError

__all__ = [
    "BindingDesync",
    "ExportError",
    "InvalidColor",
    "LinkError",
    "PositionUnavailable",
    "SurrogateSplit",
    "UnreadableEncoding",
    "UnsupportedFileType",
]


class LinkError(CollabError, ValueError):
    """A string that is not a Coscribe document link; the message is shown to the user."""


class UnsupportedFileType(CollabError, ValueError):
    """An export format or import file type the editor does not handle."""


class InvalidColor(CollabError, ValueError):
    """A cursor color that is not written ``#rrggbb``."""


class ExportError(LocalError, OSError):
    """Writing the export file failed (permissions, full disk, a Qt writer refused)."""


class SurrogateSplit(LocalError, ValueError):
    """A UTF-16 range whose start or end falls between the two halves of a surrogate pair.

    pycrdt counts UTF-8 bytes and cannot express such an edit, and as a Yjs update it would
    make Yjs and yrs diverge (the relay refuses it with 1007), so nothing is changed. The
    Qt binding never asks for one: Qt edits whole code points.
    """


class PositionUnavailable(LocalError, ValueError):
    """No Yjs RelativePosition can be computed right now: pycrdt refuses to read a document
    inside one of its observers. Retry once the transaction is over."""


class UnreadableEncoding(LocalError, ValueError):
    """Bytes from pycrdt (an update, a state vector) that do not decode as lib0 says they
    should: truncated, or a number too large for Yjs. A bug, or a pycrdt we do not know."""


class BindingDesync(LocalError, AssertionError):
    """Qt and the text mirror disagree about the document length: a bug, never user error."""
