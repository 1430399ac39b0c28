"""Widgets, dialogs and the application shell: the only layer that imports ``QtWidgets``.

Widgets wire view-models (:mod:`editor_app.qt`) together and hold no document logic;
:mod:`editor_app.ui.app` is the composition root that builds one window per document.
"""
