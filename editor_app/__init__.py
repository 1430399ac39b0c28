"""Coscribe's desktop editor: a PySide6 client for real-time collaborative documents.

The package is split so that everything below the widgets is Qt-free and testable on its
own: ``offsets``/``text_ops`` (position and delta translation), ``presence``,
``local_store``, ``sync_client`` and ``backoff`` never import PySide6 or qasync.
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("coscribe")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0"

__all__ = ["__version__"]
