"""The page view: the text is cut into the pages Print uses, with the desk between them;
"Page 2 of 5"; and the empty block after a Quill document's final newline is no line."""

from __future__ import annotations

import pycrdt
from PySide6.QtCore import Qt
from PySide6.QtGui import QTextBlock, QTextCursor
from PySide6.QtPrintSupport import QPrintPreviewDialog, QPrintPreviewWidget
from PySide6.QtTest import QTest
from pytestqt.qtbot import QtBot

from editor_app.qt import export
from editor_app.ui.editor_widget import EditorWidget
from editor_app.ui.pagination import PageGeometry
from editor_app.ui.word_count import PageIndicator
from tests.gui.test_binding import make_editor, remote_edit, type_text

PARAGRAPH = (
    "Pages are cut where a line would cross the bottom margin, and the next line starts "
    "the next sheet, as in a word processor. "
)
MIXED = "한국어 문장과 이모지 😀👍🏽 그리고 결합 문자 e\u0301 a\u0308 n\u0303 가나다라마바사. "


def shown_editor(qtbot: QtBot, text: str) -> EditorWidget:
    doc = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, text, {})
    editor = make_editor(qtbot, doc)
    editor.resize(820, 700)
    editor.show()
    qtbot.waitExposed(editor)
    editor.viewport().grab()  # a paint: the view knows its page geometry
    return editor


def long_text(paragraphs: int, body: str = PARAGRAPH * 3) -> str:
    return "".join(f"{i}. {body}\n" for i in range(paragraphs))


def pages_of(editor: EditorWidget) -> PageGeometry:
    pages = editor.page_layout.pages
    assert pages is not None
    return pages


def line_spans(editor: EditorWidget) -> list[tuple[int, float, float]]:
    """Every line shown, as (block number, top, bottom) in content coordinates."""
    editor.page_count()  # places every block
    spans = []
    block = editor.document().firstBlock()
    while block.isValid():
        top = editor.page_layout.block_top(block)
        assert top is not None
        layout = block.layout()
        for i in range(layout.lineCount()):
            line = layout.lineAt(i)
            spans.append((block.blockNumber(), top + line.y(), top + line.y() + line.height()))
        block = block.next()
    return spans


def assert_no_line_split(editor: EditorWidget) -> None:
    pages = pages_of(editor)
    for number, top, bottom in line_spans(editor):
        if bottom - top < 1:
            continue  # the block after the final newline (no height)
        page = pages.page_at(top)
        start = pages.content_top(page)
        # Lines start on the MARK grid: up to one pixel below where the page puts them.
        assert start <= top + 0.01, (number, top, page)
        assert bottom <= start + pages.content + 1.0, (number, top, bottom, page)


def print_preview_pages(editor: EditorWidget) -> int:
    """The page count of File ▸ Print preview for the same text (the window's code)."""
    dialog = QPrintPreviewDialog()
    ready = export.print_ready(editor.document())
    dialog.paintRequested.connect(lambda printer: ready.print_(printer))
    preview = dialog.findChild(QPrintPreviewWidget)
    assert preview is not None
    preview.updatePreview()
    count = preview.pageCount()
    dialog.deleteLater()
    return count


def test_a_long_document_has_the_pages_print_preview_has(qtbot: QtBot) -> None:
    editor = shown_editor(qtbot, long_text(60))
    count = editor.page_count()
    assert count >= 4
    assert abs(count - print_preview_pages(editor)) <= 1
    editor.moveCursor(QTextCursor.MoveOperation.Start)
    assert editor.page_count() == count
    assert editor.page_status() == (1, count)
    editor.moveCursor(QTextCursor.MoveOperation.End)
    assert editor.page_status() == (count, count)


def test_a_line_is_never_split_across_pages(qtbot: QtBot) -> None:
    text = long_text(40) + "".join(
        f"{i} {'short line ' * (i % 5 + 1)}\n" for i in range(80)
    )  # many paragraph heights, so page bottoms fall at many places in a line
    editor = shown_editor(qtbot, text)
    first_end = text.index("\n")
    remote_edit(editor.model.doc, lambda t: t.format(first_end, first_end + 1, {"header": 1}))
    assert_no_line_split(editor)
    assert editor.page_count() >= 4
    # Some line was moved to the next page, leaving the rest of its page empty.
    pages = pages_of(editor)
    firsts = {pages.page_at(top): top for _, top, _ in reversed(line_spans(editor))}
    del firsts[0]  # page 1 begins with the heading's own spacing
    assert all(abs(top - pages.content_top(page)) < 2.0 for page, top in firsts.items())


def first_on_page(editor: EditorWidget, page: int) -> int:
    """The text position where ``page`` (0-based) begins."""
    pages = pages_of(editor)
    for number, top, _ in line_spans(editor):
        if pages.page_at(top) == page:
            block = editor.document().findBlockByNumber(number)
            layout = block.layout()
            for i in range(layout.lineCount()):
                line = layout.lineAt(i)
                if pages.page_at(editor.page_layout.block_top(block) or 0.0) + 0 >= 0 and (
                    pages.page_at((editor.page_layout.block_top(block) or 0.0) + line.y()) == page
                ):
                    return block.position() + line.textStart()
    raise AssertionError(f"no page {page}")


def test_typing_at_the_end_of_page_one_pushes_a_line_to_page_two(qtbot: QtBot) -> None:
    editor = shown_editor(qtbot, long_text(30))
    pages = pages_of(editor)
    page_two = first_on_page(editor, 1)
    # The end of the last paragraph that ends on page 1.
    block = editor.document().findBlock(page_two).previous()
    while pages.page_at(line_spans_of(editor, block)[-1]) != 0:
        block = block.previous()
    cursor = QTextCursor(block)
    cursor.movePosition(QTextCursor.MoveOperation.EndOfBlock)
    editor.setTextCursor(cursor)
    assert editor.page_status()[0] == 1
    typed = " more words" * 12  # at least one more line in this paragraph
    type_text(editor, typed)
    editor.viewport().grab()
    # Page 2 now begins earlier in the text: a line of page 1 went over.
    assert first_on_page(editor, 1) < page_two + len(typed)
    assert_no_line_split(editor)
    current = editor.page_status()[0]
    caret_top = line_spans_of(editor, editor.textCursor().block())[-1]
    assert current == pages.page_at(caret_top) + 1


def line_spans_of(editor: EditorWidget, block: QTextBlock) -> list[float]:
    """Content y of each line of ``block``."""
    top = editor.page_layout.block_top(block) or 0.0
    layout = block.layout()
    return [top + layout.lineAt(i).y() for i in range(layout.lineCount())]


def test_hangul_emoji_and_combining_text_paginates(qtbot: QtBot) -> None:
    editor = shown_editor(qtbot, long_text(70, MIXED * 4))
    assert editor.page_count() >= 3
    assert abs(editor.page_count() - print_preview_pages(editor)) <= 1
    assert_no_line_split(editor)


def test_the_desk_shows_between_sheets(qtbot: QtBot) -> None:
    editor = shown_editor(qtbot, long_text(30))
    pages = pages_of(editor)
    cursor = editor.textCursor()
    cursor.setPosition(first_on_page(editor, 1))
    editor.setTextCursor(cursor)
    editor.centerCursor()  # the first line of page 2 mid-view, the desk above it
    image = editor.viewport().grab().toImage()
    first = editor.firstVisibleBlock()
    shift = editor.blockBoundingGeometry(first).translated(editor.contentOffset()).top()
    shift -= editor.page_layout.block_top(first) or 0.0
    desk = pages.content_top(0) + pages.content + pages.bottom + pages.gap / 2
    middle = int(desk + shift)
    assert 0 < middle < image.height()
    assert image.pixelColor(image.width() // 2, middle).name() == "#f1f3f4"  # the desk
    assert image.pixelColor(image.width() // 2, middle - 40).name() == "#ffffff"  # page 1
    assert image.pixelColor(image.width() // 2, middle + 40).name() == "#ffffff"  # page 2


def test_page_indicator_follows_the_caret(qtbot: QtBot) -> None:
    editor = shown_editor(qtbot, long_text(40))
    label = PageIndicator(editor)
    qtbot.addWidget(label)
    qtbot.waitUntil(lambda: editor.page_layout.is_paginated)
    count = editor.page_count()
    editor.setFocus()
    QTest.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: label.text() == f"Page {count} of {count}")
    QTest.keyClick(editor, Qt.Key.Key_Home, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: label.text() == f"Page 1 of {count}")


def test_a_quill_document_ends_with_its_last_paragraph(qtbot: QtBot) -> None:
    # Quill keeps a "\n" at the end: the last line shown is the list item, not an empty one.
    editor = shown_editor(qtbot, "Groceries\napples\npears\n")
    doc = editor.model.doc
    for end in (len("Groceries\napples"), len("Groceries\napples\npears")):
        remote_edit(doc, lambda t, end=end: t.format(end, end + 1, {"list": "bullet"}))
    editor.setFocus()
    QTest.keyClick(editor, Qt.Key.Key_End, Qt.KeyboardModifier.ControlModifier)
    cursor = editor.textCursor()
    assert cursor.block().text() == "pears"
    assert cursor.atBlockEnd()
    # Nothing is drawn below the last item: the block after the final newline has no height.
    editor.viewport().grab()
    last = editor.document().lastBlock()
    assert editor.blockBoundingGeometry(last).height() < 1 + editor.document().documentMargin()
    QTest.keyClick(editor, Qt.Key.Key_Down)
    assert editor.textCursor().block().text() == "pears"
    type_text(editor, "s\nplums")
    text = editor.model.text
    assert str(text) == "Groceries\napples\npearss\nplums\n"
    lines = [(s, a) for s, a in text.diff()]
    assert lines[-1] == ("\n", {"list": "bullet"})  # the new item is a list item too
    # Delete at the very end does not take the list item's newline (its format) away.
    QTest.keyClick(editor, Qt.Key.Key_Delete)
    assert str(text).endswith("plums\n")
    # Enter on an empty last item ends the list: the caret is on a new empty line, last.
    type_text(editor, "\n\n")
    assert str(text) == "Groceries\napples\npearss\nplums\n"
    editor.viewport().grab()
    last = editor.document().lastBlock()
    assert editor.textCursor().block() == last
    assert editor.blockBoundingGeometry(last).height() > editor.document().documentMargin() + 10
    type_text(editor, "total")
    assert str(text) == "Groceries\napples\npearss\nplums\ntotal"
    assert editor.page_layout.page_count() == 1
