"""Preferences: display name, cursor color, default server for new documents, and the
network: which proxy to use (automatic = the environment, then the system's settings;
manual host, port, user and password; or none).

Values are written to :class:`~editor_app.qt.settings.Settings` (a file in the data dir) when
the user presses OK; the application then re-announces the new name and color to everyone.
"""

from __future__ import annotations

from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QButtonGroup,
    QColorDialog,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from editor_app.core.links import LinkError, parse_document_link
from editor_app.core.presence import PALETTE
from editor_app.core.proxy import Proxy, ProxyMode
from editor_app.qt.settings import Settings


def _palette() -> tuple[str, ...]:
    """The presence palette, so the swatches match the colors cursors are drawn in."""
    return tuple(PALETTE)


class PreferencesDialog(QDialog):
    def __init__(self, settings: Settings, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("preferencesDialog")
        self.setWindowTitle("Preferences")
        self.settings = settings
        self.name_edit = QLineEdit(settings.display_name)
        self.name_edit.setObjectName("nameEdit")
        self.name_edit.setMaxLength(64)
        self.server_edit = QLineEdit(settings.default_server)
        self.server_edit.setObjectName("serverEdit")
        self.server_edit.setPlaceholderText("ws://host:port")
        self.error = QLabel("")
        self.error.setStyleSheet("color: #d93025")
        self._color = settings.color

        swatches = QHBoxLayout()
        self.swatch_buttons: dict[str, QPushButton] = {}
        for color in _palette():
            button = QPushButton()
            button.setFixedSize(24, 24)
            button.setToolTip(color)
            button.clicked.connect(lambda *_, c=color: self.set_color(c))
            swatches.addWidget(button)
            self.swatch_buttons[color] = button
        other = QPushButton("Other…")
        other.clicked.connect(lambda *_: self._pick_color())
        swatches.addWidget(other)
        swatches.addStretch(1)

        form = QFormLayout()
        form.addRow("Your name", self.name_edit)
        form.addRow("Your color", swatches)
        form.addRow("Server for new documents", self.server_edit)
        self._build_network(form)
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Collaborators see your name and color next to your cursor."))
        layout.addLayout(form)
        layout.addWidget(self.error)
        layout.addWidget(buttons)
        self.set_color(self._color)

    def _build_network(self, form: QFormLayout) -> None:
        settings = self.settings
        self.proxy_modes = QButtonGroup(self)
        row = QHBoxLayout()
        self.proxy_buttons: dict[ProxyMode, QRadioButton] = {}
        for mode, text in (
            (ProxyMode.AUTO, "Automatic"),
            (ProxyMode.MANUAL, "Manual"),
            (ProxyMode.NONE, "No proxy"),
        ):
            button = QRadioButton(text)
            button.setObjectName(f"proxy{mode.name.title()}")
            self.proxy_modes.addButton(button)
            self.proxy_buttons[mode] = button
            row.addWidget(button)
        row.addStretch(1)
        self.proxy_buttons[settings.proxy_mode].setChecked(True)
        manual = settings.manual_proxy
        self.proxy_host = QLineEdit(manual.host if manual else "")
        self.proxy_host.setObjectName("proxyHost")
        self.proxy_host.setPlaceholderText("proxy.example.com")
        self.proxy_port = QSpinBox()
        self.proxy_port.setObjectName("proxyPort")
        self.proxy_port.setRange(1, 65535)
        self.proxy_port.setValue(manual.port if manual else 8080)
        self.proxy_user = QLineEdit((manual.username or "") if manual else "")
        self.proxy_user.setObjectName("proxyUser")
        self.proxy_password = QLineEdit((manual.password or "") if manual else "")
        self.proxy_password.setObjectName("proxyPassword")
        self.proxy_password.setEchoMode(QLineEdit.EchoMode.Password)
        hint = QLabel(
            "Automatic uses HTTPS_PROXY / HTTP_PROXY / ALL_PROXY / NO_PROXY, else the "
            "system's proxy settings."
        )
        hint.setWordWrap(True)
        hint.setStyleSheet("color: #5f6368")
        form.addRow("Proxy", row)
        form.addRow("", hint)
        form.addRow("Proxy host", self.proxy_host)
        form.addRow("Proxy port", self.proxy_port)
        form.addRow("Proxy user", self.proxy_user)
        form.addRow("Proxy password", self.proxy_password)
        self.proxy_modes.buttonToggled.connect(lambda *_: self._update_proxy_fields())
        self._update_proxy_fields()

    @property
    def proxy_mode(self) -> ProxyMode:
        for mode, button in self.proxy_buttons.items():
            if button.isChecked():
                return mode
        return ProxyMode.AUTO

    def _update_proxy_fields(self) -> None:
        manual = self.proxy_mode is ProxyMode.MANUAL
        for widget in (self.proxy_host, self.proxy_port, self.proxy_user, self.proxy_password):
            widget.setEnabled(manual)

    @property
    def color(self) -> str:
        return self._color

    def set_color(self, color: str) -> None:
        self._color = QColor(color).name()
        for value, button in self.swatch_buttons.items():
            selected = value.lower() == self._color.lower()
            border = "3px solid #202124" if selected else "1px solid #dadce0"
            button.setStyleSheet(f"background: {value}; border-radius: 12px; border: {border};")

    def _pick_color(self) -> None:
        dialog = QColorDialog(QColor(self._color), self)
        dialog.colorSelected.connect(lambda c: self.set_color(c.name()))
        dialog.open()

    def accept(self) -> None:
        server = self.server_edit.text().strip().rstrip("/")
        try:
            parse_document_link(server + "/probe")
        except LinkError:
            self.error.setText("The server must look like ws://host:port or wss://host")
            return
        if not self.name_edit.text().strip():
            self.error.setText("Please enter a name")
            return
        mode = self.proxy_mode
        host = self.proxy_host.text().strip()
        if mode is ProxyMode.MANUAL and not host:
            self.error.setText("Enter the proxy's host name, or choose Automatic")
            return
        manual = (
            Proxy(
                host,
                self.proxy_port.value(),
                self.proxy_user.text().strip() or None,
                self.proxy_password.text() or None,
                "Preferences",
            )
            if host
            else None
        )
        self.settings.set_proxy(mode, manual)
        self.settings.display_name = self.name_edit.text()
        self.settings.color = self._color
        self.settings.default_server = server
        super().accept()
