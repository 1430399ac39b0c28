"""Print preview, PDF and word count (issue 13, part C)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import QSizeF
from PySide6.QtGui import QPageSize
from PySide6.QtPrintSupport import QPrinter

from editor_app.qt import export
from tests.e2e.harness import place_cursor, solo_document, type_text


@pytest.mark.asyncio
async def test_print_preview_pdf_and_word_count(tmp_path: Path) -> None:
    async with solo_document(tmp_path, "printing") as opened:
        window, editor = opened.window, opened.editor
        type_text(editor, "Title\n")
        editor.insertPlainText("Some words here. " * 400 + "\n한글 끝")  # a paste
        editor.selectAll()
        editor.set_heading(None)
        place_cursor(editor, 0, 5)
        window.actions_by_name["heading1"].trigger()
        dialog = window.show_word_count()
        assert dialog.document_counts.words == 1 + 3 * 400 + 2
        assert dialog.selection_counts is not None and dialog.selection_counts.words == 1
        dialog.close()
        # The page geometry goes to print: more than one A4 page, headings spaced.
        ready = export.print_ready(editor.document())
        printer = QPrinter(QPrinter.PrinterMode.HighResolution)
        printer.setOutputFormat(QPrinter.OutputFormat.PdfFormat)
        printer.setOutputFileName(str(tmp_path / "printed.pdf"))
        printer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
        ready.print_(printer)
        assert (tmp_path / "printed.pdf").read_bytes().startswith(b"%PDF")
        ready.setPageSize(QSizeF(595, 842))
        assert ready.pageCount() >= 2
        second = ready.firstBlock().next()
        assert second.blockFormat().lineHeight() == export.PRINT_LINE_HEIGHT
        preview = window.print_preview()
        assert preview.isVisible()
        preview.close()
        written = window.export_to(tmp_path / "doc.pdf", "pdf")
        assert written.read_bytes().startswith(b"%PDF")
        assert window.actions_by_name["printPreview"].shortcut().toString() == "Ctrl+P"
        # Google Docs' key for the word count (Copy link, which had it, has none now).
        assert window.actions_by_name["wordCount"].shortcut().toString() == "Ctrl+Shift+C"
        assert window.actions_by_name["copyLink"].shortcut().isEmpty()
        # Help > Keyboard shortcuts lists the menus' keys and the text's own.
        listed = window.show_shortcuts()
        rows = listed.rows()
        listed.close()
        assert ("Word count", "Ctrl+Shift+C") in rows
        assert ("Copy formatting", "Ctrl+Alt+C") in rows
        assert ("Open a link", "Ctrl+click") in rows
        assert ("Nest a list item / take it out a level", "Tab / Shift+Tab at its start") in rows
