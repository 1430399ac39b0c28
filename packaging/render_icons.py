"""Render the app icon's SVG source to the PNG sizes desktops and installers need.

Why committed PNGs *and* an SVG: the SVG is the one source to edit; the PNGs are what the
running app (window icon, no Qt SVG plugin needed), hicolor icon themes, Windows .ico and
macOS .icns consume. Run after editing the SVG (``build.sh`` runs it too, so a bundle
never ships stale PNGs)::

    python packaging/render_icons.py [OUT_DIR]   # default: editor_app/resources/icons

Rendering uses Qt's QSvgRenderer on the offscreen platform: no display, no extra tools.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE = REPO / "editor_app" / "resources" / "icons" / "coscribe.svg"
SIZES = (16, 24, 32, 48, 64, 128, 256, 512)


def render(out_dir: Path, sizes: tuple[int, ...] = SIZES) -> list[Path]:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QGuiApplication, QImage, QPainter
    from PySide6.QtSvg import QSvgRenderer

    _app = QGuiApplication.instance() or QGuiApplication([sys.argv[0]])
    renderer = QSvgRenderer(str(SOURCE))
    if not renderer.isValid():
        raise SystemExit(f"cannot read {SOURCE}")
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for size in sizes:
        image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
        image.fill(Qt.GlobalColor.transparent)
        painter = QPainter(image)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing)
        renderer.render(painter)
        painter.end()
        path = out_dir / f"coscribe-{size}.png"
        if not image.save(str(path)):  # format from the suffix
            raise SystemExit(f"cannot write {path}")
        written.append(path)
    return written


if __name__ == "__main__":
    target = Path(sys.argv[1]) if len(sys.argv) > 1 else SOURCE.parent
    for p in render(target):
        print(p)
