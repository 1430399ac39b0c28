"""Export to every format and import back: real files, real Qt writers, no mocks."""

from __future__ import annotations

import zipfile
from pathlib import Path

import pytest
from PySide6.QtGui import (
    QFont,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextListFormat,
)
from PySide6.QtWidgets import QApplication, QTextEdit

from editor_app.qt import export, formats

KOREAN = "안녕하세요 세계"
EMOJI = "😀👍🏽"


def sample_document() -> QTextDocument:
    """A small document with a heading, bold, a link, a list, Hangul and emoji."""
    doc = QTextDocument()
    cursor = QTextCursor(doc)
    heading = QTextBlockFormat()
    heading.setHeadingLevel(1)
    big = QTextCharFormat()
    big.setFontWeight(QFont.Weight.Bold)
    big.setFontPointSize(20)
    cursor.setBlockFormat(heading)
    cursor.insertText("Meeting notes", big)
    cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    cursor.insertText("Plain start, ")
    bold = QTextCharFormat()
    bold.setFontWeight(QFont.Weight.Bold)
    cursor.insertText("bold words", bold)
    cursor.insertText(f", {KOREAN} {EMOJI}, ", QTextCharFormat())
    link = QTextCharFormat()
    link.setAnchor(True)
    link.setAnchorHref("https://example.org/")
    cursor.insertText("a link", link)
    cursor.insertBlock(QTextBlockFormat(), QTextCharFormat())
    bullets = QTextListFormat()
    bullets.setStyle(QTextListFormat.Style.ListDisc)
    cursor.insertList(bullets)
    cursor.insertText("first item")
    cursor.insertBlock()
    cursor.insertText("second item")
    return doc


@pytest.fixture
def doc(qapp: QApplication) -> QTextDocument:
    return sample_document()


@pytest.mark.parametrize("fmt", ["txt", "md", "html"])
def test_text_formats_keep_hangul_and_emoji(doc: QTextDocument, tmp_path: Path, fmt: str) -> None:
    written = export.export_document(doc, tmp_path / "notes", fmt, "Notes")
    assert written == tmp_path / f"notes.{fmt}"
    content = written.read_text(encoding="utf-8")
    assert KOREAN in content
    assert EMOJI in content
    assert "second item" in content


def test_markdown_keeps_structure(doc: QTextDocument, tmp_path: Path) -> None:
    content = export.export_document(doc, tmp_path / "n.md", "md").read_text(encoding="utf-8")
    assert "# **Meeting notes**" in content  # this sample's heading is bold (weight 700)
    assert "**bold words**" in content
    assert "[a link](https://example.org/)" in content
    assert "- first item" in content or "* first item" in content


def test_html_has_title_and_formatting(doc: QTextDocument, tmp_path: Path) -> None:
    content = export.export_document(doc, tmp_path / "n.html", "html", "Team <notes>")
    assert content.read_text(encoding="utf-8").count("Team &lt;notes&gt;") >= 1
    html = content.read_text(encoding="utf-8")
    assert 'href="https://example.org/"' in html
    assert "<h1" in html
    assert "<li" in html


def test_plain_text_is_the_visible_text(doc: QTextDocument, tmp_path: Path) -> None:
    text = export.export_document(doc, tmp_path / "n.txt", "txt").read_text(encoding="utf-8")
    assert text.splitlines()[0] == "Meeting notes"
    assert text.endswith("second item\n")


def test_pdf_is_a_pdf(doc: QTextDocument, tmp_path: Path) -> None:
    written = export.export_document(doc, tmp_path / "n.pdf", "pdf", "Notes")
    data = written.read_bytes()
    assert data.startswith(b"%PDF")
    assert b"%%EOF" in data[-1024:]
    assert len(data) > 1000


def test_odt_is_a_zip_with_the_text(doc: QTextDocument, tmp_path: Path) -> None:
    written = export.export_document(doc, tmp_path / "n.odt", "odt")
    with zipfile.ZipFile(written) as odt:
        assert odt.read("mimetype") == b"application/vnd.oasis.opendocument.text"
        content = odt.read("content.xml").decode("utf-8")
    assert "Meeting notes" in content
    assert KOREAN in content
    assert "second item" in content


def test_unknown_format_is_refused(doc: QTextDocument, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unknown export format"):
        export.export_document(doc, tmp_path / "n.doc", "doc")


def test_unwritable_path_raises_export_error(doc: QTextDocument, tmp_path: Path) -> None:
    with pytest.raises(export.ExportError):
        export.export_document(doc, tmp_path / "missing-dir" / "n.txt", "txt")


def test_safe_file_stem() -> None:
    assert export.safe_file_stem('a/b:c*"d"') == "a-b-c-d"
    assert export.safe_file_stem("  ") == "document"
    assert export.safe_file_stem("회의록 😀") == "회의록 😀"


def test_import_markdown_keeps_formatting(qapp: QApplication, tmp_path: Path) -> None:
    source = tmp_path / "in.md"
    source.write_text(f"# Title\n\nSome **bold** {KOREAN} {EMOJI}\n\n- one\n- two\n", "utf-8")
    parsed = export.parse_import(source)
    assert parsed.firstBlock().blockFormat().headingLevel() == 1
    assert parsed.firstBlock().text() == "Title"
    assert KOREAN in parsed.toPlainText() and EMOJI in parsed.toPlainText()
    bold_runs = [text for text, attrs in formats.document_delta(parsed) if attrs.get("bold")]
    assert "bold" in bold_runs
    assert parsed.lastBlock().textList() is not None


def test_import_html_and_txt(qapp: QApplication, tmp_path: Path) -> None:
    html = tmp_path / "in.html"
    html.write_text(f"<h2>Sub</h2><p><i>it</i> {KOREAN}</p>", "utf-8")
    assert export.parse_import(html).firstBlock().blockFormat().headingLevel() == 2
    txt = tmp_path / "in.txt"
    txt.write_bytes(("\ufeff" + f"line 1\n{EMOJI}\n").encode())
    assert export.parse_import(txt).toPlainText() == f"line 1\n{EMOJI}"
    with pytest.raises(ValueError, match="cannot import"):
        export.parse_import(tmp_path / "x.docx")


def test_import_into_editor_appends(qapp: QApplication, tmp_path: Path) -> None:
    source = tmp_path / "in.md"
    source.write_text("**Hello** 세계\n", "utf-8")
    editor = QTextEdit()
    editor.setPlainText("Before")
    export.import_into_editor(source, editor)
    assert editor.toPlainText() == "BeforeHello 세계"


@pytest.mark.parametrize("fmt", ["html", "md", "odt", "pdf"])
def test_links_no_browser_should_follow_are_written_defused(
    doc: QTextDocument, tmp_path: Path, fmt: str
) -> None:
    """A collaborator's javascript:/file: link is written as about:blank (a browser or PDF
    reader follows a file's links; Quill shows such a link so too); web links stay."""
    cursor = QTextCursor(doc)
    cursor.movePosition(QTextCursor.MoveOperation.End)
    for text, href in (
        ("script", "javascript:alert(document.cookie)"),
        ("passwd", "file:///etc/passwd"),
    ):
        evil = QTextCharFormat()
        evil.setAnchor(True)
        evil.setAnchorHref(href)
        cursor.insertText(f" {text}", evil)
    written = export.export_document(doc, tmp_path / f"n.{fmt}", fmt)
    if fmt == "odt":
        with zipfile.ZipFile(written) as odt:
            data = odt.read("content.xml")
    else:
        data = written.read_bytes()
    for bad in (b"javascript:", b"file:///etc"):
        assert bad not in data
    assert b"https://example.org/" in data
    if fmt in ("html", "md", "odt"):
        assert b"about:blank" in data
    assert "javascript:" in doc.toHtml()  # the shown document itself keeps its links
