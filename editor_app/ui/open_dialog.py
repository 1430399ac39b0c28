"""File ▸ Open… (Ctrl+O): the document library of a server, as on the start window's *On
this server* tab (the same :class:`~editor_app.ui.start_window.LibraryPanel`), in a
dialog; it lists the current document's server with the current link's token (so a link
for ``team-*`` lists the team's documents). "Open link…" is there too for a pasted link.

Shown with ``open()``, never ``exec()`` (a nested loop inside qasync is fragile); the
chosen document is reported through :attr:`OpenDocumentDialog.linkChosen`.
"""

from __future__ import annotations

import ssl as ssl_module

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QDialog, QHBoxLayout, QPushButton, QVBoxLayout, QWidget

from editor_app.core.proxy import ProxyResolver
from editor_app.ui.dialogs import OpenLinkDialog
from editor_app.ui.start_window import LibraryPanel


class OpenDocumentDialog(QDialog):
    """The documents of ``server`` (an address, or the current document's link)."""

    linkChosen = Signal(str)

    def __init__(
        self,
        server: str,
        parent: QWidget | None = None,
        *,
        token: str | None = None,
        proxy: ProxyResolver | None = None,
        ssl: ssl_module.SSLContext | None = None,
    ) -> None:
        super().__init__(parent)
        self.setObjectName("openDocumentDialog")
        self.setWindowTitle("Open a document")
        self.library = LibraryPanel([server], token=token, proxy=proxy, ssl=ssl)
        self.library.openRequested.connect(self._chosen)
        self.link_button = QPushButton("Open link…")
        self.link_button.setObjectName("openLinkButton")
        self.link_button.clicked.connect(lambda *_: self.show_open_link())
        close = QPushButton("Close")
        close.clicked.connect(lambda *_: self.reject())
        buttons = QHBoxLayout()
        buttons.addWidget(self.link_button)
        buttons.addStretch(1)
        buttons.addWidget(close)
        layout = QVBoxLayout(self)
        layout.addWidget(self.library, 1)
        layout.addLayout(buttons)
        self.finished.connect(lambda *_: self.library.cancel())
        self.resize(760, 480)

    def show_open_link(self) -> OpenLinkDialog:
        dialog = OpenLinkDialog(self)
        dialog.linkChosen.connect(self._chosen)
        dialog.open()
        return dialog

    def _chosen(self, url: str) -> None:
        self.accept()
        self.linkChosen.emit(url)
