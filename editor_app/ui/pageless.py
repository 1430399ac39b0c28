"""*View ▸ Pageless* (Google Docs' option): the document as one continuous sheet, the
choice remembered in the settings (:attr:`Settings.pageless`) for every window opened
after. The editor does the work (:meth:`EditorWidget.set_pageless`)."""

from __future__ import annotations

from PySide6.QtCore import QObject
from PySide6.QtGui import QAction

from editor_app.core.paths import active_data_dir
from editor_app.qt.settings import Settings
from editor_app.ui.editor_widget import EditorWidget


def pageless_action(
    editor: EditorWidget, parent: QObject, settings: Settings | None = None
) -> QAction:
    """The checkable action; gives ``editor`` the remembered choice now. ``settings``:
    the application's (default: those of the data directory in use)."""
    settings = settings if settings is not None else Settings(active_data_dir())
    action = QAction("Page&less", parent)
    action.setObjectName("pageless")
    action.setCheckable(True)
    action.setToolTip("Show the document as one continuous sheet, without page breaks")
    editor.set_pageless(settings.pageless)
    action.setChecked(editor.pageless)

    def toggled(on: bool) -> None:
        settings.pageless = on
        editor.set_pageless(on)

    action.toggled.connect(toggled)
    editor.pagelessChanged.connect(action.setChecked)
    return action
