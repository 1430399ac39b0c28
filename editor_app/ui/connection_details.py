""" "Connection details": the server, how the editor reaches it, and a "Test connection".

Opened from the status bar's "Details…" button. Renders
:meth:`ConnectionModel.details` (server, transport, proxy, round trip, last error, since
when) and refreshes when the connection changes; "Test connection" tries every way to the
server once and shows the verdict in plain words (``editor_app.core.diagnose``).
"""

from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from editor_app.qt.connection_model import ConnectionModel
from editor_app.ui.background import BackgroundTasks


class ConnectionDetailsDialog(QDialog):
    def __init__(self, connection: ConnectionModel, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("connectionDetails")
        self.setWindowTitle("Connection details")
        self.connection = connection
        self._tasks = BackgroundTasks()
        self.form = QFormLayout()
        self.values: dict[str, QLabel] = {}
        for name, value in connection.details():
            label = QLabel(value)
            label.setObjectName(f"detail{name.replace(' ', '')}")
            label.setWordWrap(True)
            self.values[name] = label
            self.form.addRow(name, label)
        self.test_button = QPushButton("Test connection")
        self.test_button.setObjectName("testConnectionButton")
        self.verdict = QLabel("")
        self.verdict.setObjectName("testResult")
        self.verdict.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addLayout(self.form)
        layout.addWidget(self.test_button)
        layout.addWidget(self.verdict)
        layout.addWidget(buttons)
        # qasync's asyncSlot fails on clicked (qasync#177): keep the task ourselves.
        self.test_button.clicked.connect(lambda *_: self._tasks.spawn(self.run_test()))
        connection.detailsChanged.connect(self.refresh)
        connection.statusChanged.connect(lambda *_: self.refresh())
        self.setMinimumWidth(460)

    def refresh(self) -> None:
        for name, value in self.connection.details():
            label = self.values.get(name)
            if label is not None:
                label.setText(value)

    async def run_test(self) -> None:
        self.test_button.setEnabled(False)
        self.verdict.setText("Testing…")
        try:
            outcome = await self.connection.check_connection()
        finally:
            self.test_button.setEnabled(True)
        text = outcome.summary
        if outcome.steps:
            text += "\n" + "\n".join(f"• {step}" for step in outcome.steps)
        self.verdict.setText(text)
        self.refresh()

    def done(self, result: int) -> None:  # closing the dialog stops a test in progress
        self._tasks.cancel()
        super().done(result)
