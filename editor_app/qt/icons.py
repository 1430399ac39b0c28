"""The application icon as a ``QIcon`` (the files are in :mod:`editor_app.resources`)."""

from __future__ import annotations

from PySide6.QtGui import QIcon

from editor_app.resources import icon_files


def app_icon() -> QIcon:
    """The application icon with every available size (Qt picks the best per context).

    PNGs rather than the SVG: they need no Qt SVG image-format plugin at run time.
    """
    icon = QIcon()
    for path in icon_files():
        icon.addFile(str(path))
    return icon
