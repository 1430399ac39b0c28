"""Help > About (version from the package metadata, bundled licenses) and the app icon."""

from __future__ import annotations

import importlib.metadata as md

import pytest
from PySide6.QtCore import QSize
from PySide6.QtGui import QImage
from PySide6.QtWidgets import QApplication, QLabel, QTextBrowser

from editor_app.qt.icons import app_icon
from editor_app.resources import ICON_DIR, ICON_SIZES, icon_files
from editor_app.ui.about import COMPONENTS, AboutDialog, about_html, app_version


@pytest.fixture
def qapp_instance() -> QApplication:
    app = QApplication.instance()
    return app if isinstance(app, QApplication) else QApplication([])


def test_version_comes_from_the_package_metadata() -> None:
    assert app_version() == md.version("coscribe")


def test_about_lists_components_versions_and_licenses(qapp_instance: QApplication) -> None:
    dialog = AboutDialog()
    try:
        body = dialog.findChild(QTextBrowser, "aboutBody")
        assert body is not None
        text = body.toPlainText()
        for component in COMPONENTS:
            assert component.name in text
            assert component.license in text
        for dist in ("pycrdt", "websockets", "qasync", "platformdirs", "PySide6-Essentials"):
            assert md.version(dist) in text
        assert "LGPL" in text and "replace them with your own builds" in text
        header = dialog.findChild(QLabel, "aboutHeader")
        assert header is not None
        assert md.version("coscribe") in header.text()
    finally:
        dialog.deleteLater()


def test_about_html_names_the_license_folder_only_in_a_bundle() -> None:
    assert "dist-info" in about_html()  # running from source: no bundled licenses folder


def test_icon_pngs_exist_for_every_size_and_match_their_names(
    qapp_instance: QApplication,
) -> None:
    files = icon_files()
    assert [int(p.stem.split("-")[1]) for p in files] == list(ICON_SIZES)
    for path in files:
        image = QImage(str(path))
        size = int(path.stem.split("-")[1])
        assert (image.width(), image.height()) == (size, size)
        assert image.hasAlphaChannel()
    assert (ICON_DIR / "coscribe.svg").is_file()
    assert not app_icon().isNull()
    assert QSize(256, 256) in app_icon().availableSizes()


def test_committed_pngs_are_renderings_of_the_svg(
    qapp_instance: QApplication, tmp_path: object
) -> None:
    """Whoever edits the SVG must re-run packaging/render_icons.py (build.sh does too)."""
    import importlib.util
    from pathlib import Path

    spec = importlib.util.spec_from_file_location(
        "render_icons", ICON_DIR.parents[2] / "packaging" / "render_icons.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    out = Path(str(tmp_path))
    (rendered,) = module.render(out, (48,))
    fresh, committed = QImage(str(rendered)), QImage(str(ICON_DIR / "coscribe-48.png"))
    different = sum(
        fresh.pixel(x, y) != committed.pixel(x, y) for x in range(48) for y in range(48)
    )
    assert different <= 48 * 48 // 100, f"{different} pixels differ: re-render the icons"
