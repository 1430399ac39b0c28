"""The editor's Qt layer without widgets: view-models, the QTextDocument binding, formats.

``QObject`` view-models with signals (:mod:`~editor_app.qt.document_model`,
:mod:`~editor_app.qt.connection_model`), the two-way ``QTextDocument`` <-> CRDT binding
(:mod:`~editor_app.qt.binding`), the Quill <-> Qt format mapping
(:mod:`~editor_app.qt.formats`), export/import through ``QTextDocument``, ``QSettings``
preferences and the app icon. Imports ``QtCore``/``QtGui`` only, never ``QtWidgets`` nor
:mod:`editor_app.ui` (checked by tests/test_architecture.py and import-linter).
"""
