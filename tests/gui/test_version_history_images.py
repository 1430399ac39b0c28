"""Pictures in File ▸ Version history: the preview shows them as the page does, and
"Show changes" takes an inserted or deleted picture as one unit (one embed) and marks
it where text marks would be hidden under the picture: inserted framed in the author's
colour, deleted faded and struck through.

Real parts: the relay on port 0, started inside the test on the loop the test runs on,
a full editor app, the dialog opened from its menu action.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QImage, QTextCursor

from editor_app.core.offsets import EMBED_CHAR
from editor_app.core.version_diff import author_color
from editor_app.qt import images
from editor_app.ui.editor_widget import EditorWidget
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.e2e.harness import editor_app, type_text, wait_until
from tests.gui.test_images import image_fragments, small_png_url
from tests.gui.test_version_history import named, opened_history, saved

pytestmark = pytest.mark.asyncio

RED, BLUE = "#d93025", "#1a73e8"


def count(shot: QImage, color: str, tolerance: int = 12) -> int:
    """Pixels of ``shot`` within ``tolerance`` of ``color`` (every other pixel looked at)."""
    want = QColor(color)
    found = 0
    for y in range(0, shot.height(), 2):
        for x in range(0, shot.width(), 2):
            got = shot.pixelColor(x, y)
            if (
                abs(got.red() - want.red()) <= tolerance
                and abs(got.green() - want.green()) <= tolerance
                and abs(got.blue() - want.blue()) <= tolerance
            ):
                found += 1
    return found


def faded(color: str) -> str:
    """``color`` drawn at the deleted pictures' opacity over a white page."""
    c = QColor(color)
    a = images.DELETED_OPACITY
    mix = [round(255 + (v - 255) * a) for v in (c.red(), c.green(), c.blue())]
    return QColor(*mix).name()


def shot(page: EditorWidget) -> QImage:
    return page.viewport().grab().toImage()


async def test_the_preview_shows_pictures_and_changes_mark_a_picture_as_one(
    tmp_path: Path,
) -> None:
    red, blue = small_png_url(RED, (160, 90)), small_png_url(BLUE, (120, 80))
    async with (
        RelayServer(ServerConfig(port=0, data_dir=None)) as server,
        editor_app(tmp_path / "me", "Ada") as app,
    ):
        opened = app.open_document(f"{server.url}/pictures")
        await saved(opened)
        editor = opened.editor
        type_text(editor, "Look here")
        cursor = editor.textCursor()
        cursor.setPosition(len("Look "))
        editor.setTextCursor(cursor)
        assert editor.insert_image(red)
        await saved(opened)
        first = await opened_history(opened)
        one = await named(first, "One")
        await wait_until(
            lambda: first.shown is not None and first.shown.id == one,
            lambda: f"the preview of version {one}, message {first.message!r}",
        )
        # The preview shows the picture itself, at its size, not a placeholder.
        page = first.preview
        assert page is not None and page.toPlainText() == f"Look {EMBED_CHAR}here"
        ((position, fmt),) = image_fragments(page)
        assert position == len("Look ")
        picture = images.picture(page.document(), fmt)
        assert picture is not None and not images.is_placeholder(picture)
        size = page.images.intrinsicSize(page.document(), position, fmt)
        assert (size.width(), size.height()) == (160, 90)
        assert count(shot(page), RED) > 160 * 90 / 4 * 0.8
        first.close_button.click()

        # The next version: the red picture deleted, a blue one added at the end.
        cursor = editor.textCursor()
        cursor.setPosition(len("Look "))
        cursor.setPosition(len("Look ") + 1, QTextCursor.MoveMode.KeepAnchor)
        editor.setTextCursor(cursor)
        editor.textCursor().removeSelectedText()
        cursor = editor.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        editor.setTextCursor(cursor)
        assert editor.insert_image(blue)
        assert editor.toPlainText() == f"Look here{EMBED_CHAR}"
        await saved(opened)
        dialog = await opened_history(opened)
        two = await named(dialog, "Two")
        await wait_until(
            lambda: dialog.shown is not None and dialog.shown.id == two,
            lambda: f"the preview of version {two}, message {dialog.message!r}",
        )
        dialog.changes_box.click()  # "Show changes"
        await wait_until(
            lambda: dialog.changes is not None, lambda: f"the changes, {dialog.message!r}"
        )
        changes = dialog.changes
        assert changes is not None
        pictures = [(p.change, p.value) for p in changes if not isinstance(p.value, str)]
        assert pictures == [("delete", {"image": red}), ("insert", {"image": blue})]
        page = dialog.preview
        assert page is not None and page.toPlainText() == f"Look {EMBED_CHAR}here{EMBED_CHAR}"
        marks = {p: images.change_of(f) for p, f in image_fragments(page)}
        assert marks == {5: "delete", 10: "insert"}
        assert all(images.picture(page.document(), f) is not None for _, f in image_fragments(page))
        # Drawn as marked: the deleted picture faded (none of its own red left), the
        # inserted one whole and framed in the author's colour.
        pixels = shot(page)
        assert count(pixels, RED) == 0
        assert count(pixels, faded(RED), tolerance=8) > 160 * 90 / 4 * 0.7
        assert count(pixels, BLUE) > (120 - 6) * (80 - 6) / 4 * 0.8
        assert count(pixels, author_color("Ada"), tolerance=8) >= (120 + 80) * 2 * 3 / 4 * 0.6
        # The text around them is not marked: only the pictures changed.
        plain = [p for p in changes if isinstance(p.value, str) and p.change != "equal"]
        assert plain == []
