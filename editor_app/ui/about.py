"""Help > About: the version, and the licenses of everything the app is built from.

Why it matters beyond courtesy: an installed Coscribe redistributes Qt/PySide6 under the
LGPL-3.0 and several permissive libraries, and those licenses require that users can see
them. The versions are read from the installed package metadata (``importlib.metadata``),
so the box tells the truth for a source checkout, a wheel and a PyInstaller bundle alike
(the bundle carries the dist-info folders). In a bundle the full license texts are in the
``licenses`` folder next to the program; the box shows where.
"""

from __future__ import annotations

import importlib.metadata as md
import sys
from dataclasses import dataclass
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt, qVersion
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QLabel,
    QTextBrowser,
    QVBoxLayout,
    QWidget,
)

from editor_app.qt.icons import app_icon

DISTRIBUTION = "coscribe"


@dataclass(frozen=True)
class Component:
    """A bundled component as the About box lists it."""

    name: str
    distribution: str | None  # PyPI distribution to read the version from
    license: str
    url: str


COMPONENTS: tuple[Component, ...] = (
    Component("Qt", None, "LGPL-3.0", "https://www.qt.io/"),
    Component("PySide6 (Qt for Python)", "PySide6-Essentials", "LGPL-3.0",
              "https://pyside.org/"),
    Component("Shiboken6", "shiboken6", "LGPL-3.0", "https://pyside.org/"),
    Component("pycrdt (Yrs/Yjs CRDT)", "pycrdt", "MIT", "https://github.com/y-crdt/pycrdt"),
    Component("websockets", "websockets", "BSD-3-Clause",
              "https://github.com/python-websockets/websockets"),
    Component("qasync", "qasync", "BSD-2-Clause", "https://github.com/CabbageDevelopment/qasync"),
    Component("platformdirs", "platformdirs", "MIT", "https://github.com/tox-dev/platformdirs"),
    Component("AnyIO", "anyio", "MIT", "https://github.com/agronholm/anyio"),
    Component("idna", "idna", "BSD-3-Clause", "https://github.com/kjd/idna"),
    Component("typing_extensions", "typing_extensions", "PSF-2.0",
              "https://github.com/python/typing_extensions"),
    Component("Python", None, "PSF-2.0", "https://www.python.org/"),
)  # fmt: skip

QT_NOTE = (
    "Qt and PySide6 are used under the GNU LGPL version 3. They are dynamically linked and "
    "shipped unmodified as separate shared libraries in the application folder, so you can "
    "replace them with your own builds. Their source code is available from "
    "https://download.qt.io/ and https://code.qt.io/ (or from us on request)."
)


def app_version() -> str:
    """Coscribe's version from the package metadata ("unknown" if not installed)."""
    return component_version(DISTRIBUTION) or "unknown"


def component_version(distribution: str) -> str | None:
    try:
        return md.version(distribution)
    except md.PackageNotFoundError:
        return None


def version_of(component: Component) -> str:
    if component.name == "Qt":
        return qVersion()
    if component.name == "Python":
        return sys.version.split()[0]
    if component.distribution is None:
        return ""
    return component_version(component.distribution) or "not installed"


def licenses_dir() -> Path | None:
    """The folder with the full license texts: present in a PyInstaller bundle."""
    base = getattr(sys, "_MEIPASS", None)
    if base is None:
        return None
    folder = Path(base) / "licenses"
    return folder if folder.is_dir() else None


def about_html() -> str:
    rows = "".join(
        f"<tr><td><a href='{escape(c.url)}'>{escape(c.name)}</a></td>"
        f"<td>{escape(version_of(c))}</td><td>{escape(c.license)}</td></tr>"
        for c in COMPONENTS
    )
    folder = licenses_dir()
    where = (
        f"The full license texts are in <code>{escape(str(folder))}</code>."
        if folder is not None
        else "The full license texts are in each package's metadata "
        "(<code>*.dist-info/licenses</code>) of this Python installation."
    )
    return (
        "<p>Write together in real time, online or offline. Documents sync through a "
        "self-hosted relay speaking the Yjs protocol, and a copy of every document you open "
        "stays on this computer.</p>"
        "<p>Coscribe is free software under the MIT license.</p>"
        "<p><b>Built with</b></p>"
        "<table cellspacing='0' cellpadding='2'>"
        "<tr><th align='left'>Component</th><th align='left'>Version</th>"
        f"<th align='left'>License</th></tr>{rows}</table>"
        f"<p>{escape(QT_NOTE)}</p><p>{where}</p>"
    )


class AboutDialog(QDialog):
    """Name, version, what Coscribe is, and the bundled components with their licenses."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("aboutDialog")
        self.setWindowTitle("About Coscribe")
        self.setWindowIcon(app_icon())
        layout = QVBoxLayout(self)
        header = QLabel(self)
        header.setObjectName("aboutHeader")
        header.setTextFormat(Qt.TextFormat.RichText)
        header.setText(
            f"<h2>Coscribe</h2><p>Version {escape(app_version())} · "
            f"Python {escape(sys.version.split()[0])} · Qt {escape(qVersion())}</p>"
        )
        icon = QLabel(self)
        icon.setPixmap(app_icon().pixmap(64, 64))
        layout.addWidget(icon, alignment=Qt.AlignmentFlag.AlignHCenter)
        layout.addWidget(header, alignment=Qt.AlignmentFlag.AlignHCenter)
        body = QTextBrowser(self)
        body.setObjectName("aboutBody")
        body.setOpenExternalLinks(True)
        body.setHtml(about_html())
        body.setMinimumSize(460, 320)
        layout.addWidget(body)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close, self)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        self.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)


def about_box(parent: QWidget | None) -> AboutDialog:
    """The About dialog, ready to ``open()`` (same call shape as the old message box)."""
    return AboutDialog(parent)
