"""The document outline lists the headings and goes to one on a click (issue 13, part C)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.e2e.harness import place_cursor, solo_document, type_text, wait_until


@pytest.mark.asyncio
async def test_outline_lists_headings_and_jumps(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "outline") as opened:
        window, editor = opened.window, opened.editor
        type_text(editor, "Intro\ntext\nDetails\nmore text\n회의")
        for line, level in ((0, 1), (2, 2), (4, 3)):
            place_cursor(editor, editor.document().findBlockByNumber(line).position())
            editor.set_heading(level)
        window.show()
        window.actions_by_name["showOutline"].trigger()
        outline = window.outline
        await wait_until(
            lambda: outline.headings() == [(1, "Intro"), (2, "Details"), (3, "회의")],
            lambda: f"the outline, has {outline.headings()}",
        )
        last = editor.document().findBlockByNumber(4)
        place_cursor(editor, last.position() + last.length() - 1)
        type_text(editor, " notes")  # edits refresh it (throttled)
        await wait_until(
            lambda: outline.headings()[-1] == (3, "회의 notes"), lambda: outline.headings()
        )
        item = outline.list.item(1)
        assert item is not None
        outline.list.itemClicked.emit(item)
        assert editor.textCursor().block().text() == "Details"
