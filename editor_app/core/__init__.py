"""The editor's Qt-free core: everything below the view-models that needs no display.

Position and delta translation (:mod:`~editor_app.core.offsets`,
:mod:`~editor_app.core.text_ops`), Yjs relative positions and presence, the sync client and
its backoff, the offline store, document links, status wording, the document schema, data
paths and the editor's errors. Nothing here imports PySide6, shiboken6 or qasync, nor
:mod:`editor_app.qt` or :mod:`editor_app.ui` (import-linter contracts in pyproject.toml), so
all of it runs and is tested without Qt.
"""
