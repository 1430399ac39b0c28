"""The page follows the system's dark colour scheme (issue 13, part C)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QPalette

from tests.e2e.harness import solo_document, type_text, wait_until


def page_lightness(window: object) -> int:
    editor = window.editor  # type: ignore[attr-defined]
    image = editor.viewport().grab().toImage()
    return image.pixelColor(image.width() - 5, image.height() - 5).lightness()


@pytest.mark.asyncio
async def test_dark_scheme_darkens_the_page_and_back(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "dark") as opened:
        type_text(opened.editor, "Night owl")
        await wait_until(lambda: page_lightness(opened.window) > 200, "a light page")
        # A dark system theme reaches Qt as a dark palette (the offscreen platform has no
        # colour scheme to switch). The window's own palette stands in for the
        # application's here, so no global state outlives the test.
        light = QPalette(opened.window.palette())
        dark = QPalette(light)
        dark.setColor(QPalette.ColorRole.Window, QColor("#202124"))
        dark.setColor(QPalette.ColorRole.WindowText, QColor("#e8eaed"))
        opened.window.setPalette(dark)
        await wait_until(lambda: page_lightness(opened.window) < 80, "a dark page")
        assert opened.window.dark
        opened.window.setPalette(light)
        await wait_until(lambda: page_lightness(opened.window) > 200, "light again")
