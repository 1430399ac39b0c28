"""Files the running editor needs besides code: the application icon.

Looked up next to this module, which works from a source checkout, an installed wheel
(package data) and a PyInstaller bundle (``coscribe.spec`` copies the folder), so no code
needs to know which of the three it runs from. Data only: the ``QIcon`` made from these
files is :func:`editor_app.qt.icons.app_icon`.
"""

from __future__ import annotations

from pathlib import Path

ICON_DIR = Path(__file__).resolve().parent / "icons"
ICON_SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def icon_files() -> list[Path]:
    """The PNG renderings of the app icon that exist, smallest first."""
    return [p for s in ICON_SIZES if (p := ICON_DIR / f"coscribe-{s}.png").is_file()]
