"""Coscribe's desktop editor: a PySide6 client for real-time collaborative documents.

Three layers, each importing only the ones below it (import-linter contracts in
pyproject.toml):

* :mod:`editor_app.core`: Qt-free (offsets, text ops, presence, sync client, local store,
  links, schema, errors);
* :mod:`editor_app.qt`: Qt without widgets (view-models, the QTextDocument binding, formats,
  export, settings);
* :mod:`editor_app.ui`: widgets, dialogs and the app shell.

``python -m editor_app`` (:mod:`editor_app.__main__`) is the entry point.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("coscribe")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
