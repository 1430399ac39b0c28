"""Files the running editor needs besides code: the application icon.

Looked up next to this module, which works from a source checkout, an installed wheel
(package data) and a PyInstaller bundle (``coscribe.spec`` copies the folder), so no code
needs to know which of the three it runs from.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from PySide6.QtGui import QIcon

ICON_DIR = Path(__file__).resolve().parent / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def icon_files() -> list[Path]:
    """The PNG renderings of the app icon that exist, smallest first."""
    return [p for s in ICON_SIZES if (p := ICON_DIR / f"coscribe-{s}.png").is_file()]


def app_icon() -> QIcon:
    """The application icon with every available size (Qt picks the best per context).

    PNGs rather than the SVG: they need no Qt SVG image-format plugin at run time.
    """
    from PySide6.QtGui import QIcon

    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon
