"""The editor's errors: branches of Coscribe's one error tree (:mod:`shared.errors`).

Everything the editor raises on purpose derives from :class:`shared.errors.CollabError`
(what the user typed sits beside ``InvalidDocumentName``; failures on our side under
``LocalError``). Each class also keeps the built-in base it always had (``ValueError``,
``OSError``, ``AssertionError``), so code that caught those goes on working::

    CollabError (shared.errors)
    ├── LinkError (also ValueError)            not a document link; the message is for the user
    ├── UnsupportedFileType (also ValueError)  an export/import format the editor does not handle
    └── LocalError (shared.errors)
        ├── ExportError (also OSError)         writing an export file failed
        └── BindingDesync (also AssertionError)  Qt and the text mirror disagree: a bug

Qt-free on purpose: the Qt layer raises some of these (:class:`BindingDesync`,
:class:`ExportError`), but the tree is one module that every layer may import.
"""

from __future__ import annotations

from shared.errors import CollabError, LocalError

__all__ = [
    "BindingDesync",
    "ExportError",
    "LinkError",
    "UnsupportedFileType",
]


class LinkError(CollabError, ValueError):
    """A string that is not a Coscribe document link; the message is shown to the user."""


class UnsupportedFileType(CollabError, ValueError):
    """An export format or import file type the editor does not handle."""


class ExportError(LocalError, OSError):
    """Writing the export file failed (permissions, full disk, a Qt writer refused)."""


class BindingDesync(LocalError, AssertionError):
    """Qt and the text mirror disagree about the document length: a bug, never user error."""
