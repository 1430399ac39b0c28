"""Documents out and in: export as txt/md/html/pdf/odt; import .txt/.md/.html.

Export renders the editor's QTextDocument, which the binding keeps equal to the CRDT text,
so what is exported is exactly what the user sees (headings, lists, bold, links).

Import parses the file into a scratch QTextDocument and inserts it as a fragment into the
NEW document's editor: the text then enters the CRDT through the same binding as typing and
pasting, so formatting becomes Quill attributes without a second converter to keep in sync.

Images: HTML gets ``<img src="data:...">`` sized as the page shows them, Markdown
``![alt](data:...)``, PDF and print the pictures at most the page's width, ODT embeds
them. An imported file's images (``data:`` URLs, files next to it, web addresses) become
image embeds (:func:`adopt_images`).
"""

from __future__ import annotations

import html
import re
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from PySide6.QtCore import QMarginsF, QUrl
from PySide6.QtGui import (
    QFontMetricsF,
    QPageLayout,
    QPageSize,
    QPdfWriter,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextDocumentWriter,
    QTextFormat,
    QTextImageFormat,
    QTextLength,
    QTextList,
    QTextListFormat,
)

from editor_app.core import images as core_images
from editor_app.core.autolink import DEFUSED_LINK, openable
from editor_app.core.errors import ExportError, UnsupportedFileType
from editor_app.core.markdown import to_markdown
from editor_app.qt import formats, images, walk
from editor_app.qt.formats import block_attrs, document_delta

FORMATS: dict[str, str] = {
    "txt": "Plain text (.txt)",
    "md": "Markdown (.md)",
    "html": "Web page (.html)",
    "pdf": "PDF document (.pdf)",
    "odt": "OpenDocument text (.odt)",
}
IMPORT_SUFFIXES = (".txt", ".md", ".markdown", ".html", ".htm")
IMPORT_FILTER = "Documents (*.txt *.md *.markdown *.html *.htm);;All files (*)"
#: Widest a picture is in an HTML export, in CSS pixels (an A4 page's text column).
HTML_IMAGE_WIDTH = 650.0


class HasDocument(Protocol):
    """What :func:`import_into_editor` needs of an editor widget (its QTextDocument)."""

    def document(self) -> QTextDocument: ...


def safe_file_stem(title: str) -> str:
    """A title usable as a file name on every desktop OS."""
    stem = re.sub(r'[\\/:*?"<>|\x00-\x1f]+', "-", title).strip(" .-")
    return stem[:100] or "document"


def export_document(doc: QTextDocument, path: Path, fmt: str, title: str = "") -> Path:
    """Write ``doc`` to ``path`` in ``fmt`` (a key of :data:`FORMATS`); returns the path
    written (the extension is added when missing).

    Raises:
        UnsupportedFileType: unknown format (a ValueError).
        ExportError: the file could not be written (an OSError).
    """
    if fmt not in FORMATS:
        raise UnsupportedFileType(
            f"unknown export format {fmt!r}; choose one of {', '.join(FORMATS)}"
        )
    if path.suffix.lower() != f".{fmt}":
        path = path.with_name(path.name + f".{fmt}")
    source = doc.clone()  # set the title without touching the live document
    _defuse_links(source)
    source.setMetaInformation(QTextDocument.MetaInformation.DocumentTitle, title or "Untitled")
    try:
        if fmt == "txt":
            path.write_text(_plain_text(source), encoding="utf-8")
        elif fmt == "md":
            # Our writer: Qt's mis-nests italic + underline (``*_x*_``).
            runs = document_delta(source)
            runs.append(("\n", block_attrs(source.lastBlock())))  # its line formats too
            path.write_text(to_markdown(runs), encoding="utf-8")
        elif fmt == "html":
            # Qt writes the title into <title> verbatim (unescaped), so escape it here.
            source.setMetaInformation(
                QTextDocument.MetaInformation.DocumentTitle, html.escape(title or "Untitled")
            )
            images.relabel_for_export(source, HTML_IMAGE_WIDTH)  # <img src="data:...">
            number_lists(source)  # <ol start="257">
            path.write_text(source.toHtml(), encoding="utf-8")
        elif fmt == "pdf":
            _write_pdf(print_ready(source), path, title)
        else:
            starts = number_lists(source)
            writer = QTextDocumentWriter(str(path), b"odf")
            if not writer.write(source):
                raise ExportError(f"could not write {path}: {writer.device().errorString()}")
            del writer  # closes the file
            _start_odt_lists(path, starts)
    except OSError as exc:
        if isinstance(exc, ExportError):
            raise
        raise ExportError(f"could not write {path}: {exc.strerror or exc}") from exc
    return path


def _defuse_links(doc: QTextDocument) -> None:
    """Give every link that is no web or mail address (a collaborator's ``javascript:``,
    ``file:`` ...) :data:`~editor_app.core.autolink.DEFUSED_LINK` in ``doc`` (a copy
    about to be written): a browser or PDF reader follows a file's links, the editor
    never does (Quill shows them so too)."""
    spans = [
        (frag.position(), frag.length())
        for block in walk.blocks(doc)
        for frag in walk.fragments(block)
        if frag.charFormat().isAnchor() and not openable(frag.charFormat().anchorHref())
    ]
    cursor = QTextCursor(doc)
    defused = QTextCharFormat()
    defused.setAnchor(True)
    defused.setAnchorHref(DEFUSED_LINK)
    for position, length in spans:  # formats change after the walk: it stays valid
        cursor.setPosition(position)
        cursor.setPosition(position + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.mergeCharFormat(defused)


def _plain_text(doc: QTextDocument) -> str:
    """Plain text with a final newline (POSIX text file); Qt's paragraph separators become
    newlines and non-breaking spaces stay as they are."""
    text = doc.toPlainText()
    return text if text.endswith("\n") else text + "\n"


#: Paragraph geometry for print and PDF, matching the page view (editor_app.ui.page_layout).
PRINT_LINE_HEIGHT = 115  # percent
PRINT_INDENT_EM = 2.2
PRINT_PARAGRAPH_EM = 0.3
PRINT_HEADING_EM = {1: 1.35, 2: 1.2, 3: 1.05, 4: 0.9, 5: 0.8, 6: 0.8}


@dataclass
class _Segment:
    """Ordered items :func:`number_lists` keeps in one Qt list: adjacent, of one Qt list
    and one level, numbered on from ``first``."""

    qt_list: QTextList
    blocks: list[QTextBlock]
    first: int
    level: int


def number_lists(doc: QTextDocument) -> dict[int, int]:
    """Make Qt's rich layout and writers number ``doc``'s ordered items as the editor
    shows them (:func:`formats.ordered_number`: Quill's counters, per level), for a
    copy about to be printed or written; returns each renumbered list's start by list
    format index.

    Qt numbers each ``QTextList`` from 1, while a long run is kept in several adjacent
    lists (Qt builds a long list in quadratic time), and Qt takes an item out of its list
    on Backspace at its start, leaving a gap after which Quill starts again at 1, and
    nested items share their parents' list. So each list's first item gets its number as
    the list's start (``QTextListFormat.setStart``: Qt's layout draws it, ``toHtml``
    writes ``<ol start>``) and its level's style (1. / a. / i.), and the items after a
    gap or of another level go into a list of their own first. Merging the lists instead would cost
    Qt's quadratic walk again (~10 s for 13,000 items)."""
    # Every number first: the numbers are kept per list structure, which this changes.
    segments: list[_Segment] = []
    for block in walk.blocks(doc):
        number = formats.ordered_number(block)
        lst = block.textList()
        if number is None or lst is None:
            continue
        level = formats.list_level(block)
        last = segments[-1] if segments else None
        if (
            last is not None
            and last.qt_list.objectIndex() == lst.objectIndex()
            and last.blocks[-1] == block.previous()
            and last.level == level
            and last.first + len(last.blocks) == number
        ):
            last.blocks.append(block)
        else:
            segments.append(_Segment(lst, [block], number, level))
    starts: dict[int, int] = {}
    seen: set[int] = set()
    for segment in segments:
        lst, blocks, number = segment.qt_list, segment.blocks, segment.first
        fmt = QTextListFormat(lst.format())
        fmt.setStart(number)
        fmt.setStyle(formats.ORDERED_STYLE_BY_LEVEL[segment.level % 3])
        if lst.objectIndex() not in seen:
            seen.add(lst.objectIndex())
            if lst.format().start() != number or lst.format().style() != fmt.style():
                lst.setFormat(fmt)
            target = lst
        else:  # the items after a gap or of another level: a list of their own
            target = QTextCursor(blocks[0]).createList(fmt)
            for member in blocks[1:]:
                target.add(member)
        if number != 1:
            starts[target.formatIndex()] = number
    return starts


_ODT_LIST_STYLE = re.compile(
    r'(<text:list-style style:name="L(\d+)">)(.*?)(</text:list-style>)', re.S
)


def _start_odt_lists(path: Path, starts: dict[int, int]) -> None:
    """Qt's ODF writer leaves out list starts (each list is numbered from 1): put each
    one in its list's style (Qt names it ``L`` + the list format index) as ODF's
    ``text:start-value``. The ``mimetype`` entry stays first and stored, as ODF needs."""
    if not starts:
        return

    def start(match: re.Match[str]) -> str:
        value = starts.get(int(match.group(2)))
        if value is None:
            return match.group(0)
        body = match.group(3).replace(
            "<text:list-level-style-number ",
            f'<text:list-level-style-number text:start-value="{value}" ',
        )
        return match.group(1) + body + match.group(4)

    with zipfile.ZipFile(path) as odt:
        entries = [(info, odt.read(info)) for info in odt.infolist()]
    with zipfile.ZipFile(path, "w") as out:
        for info, data in entries:
            if info.filename == "content.xml":
                data = _ODT_LIST_STYLE.sub(start, data.decode("utf-8")).encode("utf-8")
            out.writestr(info, data)


def print_ready(doc: QTextDocument) -> QTextDocument:
    """A copy of ``doc`` whose block formats carry the page view's geometry (line
    spacing, paragraph and heading space, indents, quote padding) in Qt's own properties,
    so Qt's paginating rich-text layout prints and exports what the page shows, and
    whose lists are numbered as the editor shows them (:func:`number_lists`)."""
    copy = doc.clone()
    number_lists(copy)
    em = QFontMetricsF(copy.defaultFont()).height()
    cursor = QTextCursor(copy)
    first = True
    for block in walk.blocks(copy):
        attrs = formats.block_attrs(block)
        bfmt = block.blockFormat()
        bfmt.setLineHeight(PRINT_LINE_HEIGHT, 1)  # QTextBlockFormat.ProportionalHeight
        level = attrs.get("header")
        in_list = block.textList() is not None and block.previous().textList() is not None
        space = 0.0 if first or in_list else em * PRINT_PARAGRAPH_EM
        if level:
            space = em * PRINT_HEADING_EM.get(int(level), 1.0)
        bfmt.setTopMargin(space)
        left = em * PRINT_INDENT_EM * int(attrs.get("indent", 0) or 0)
        if attrs.get("blockquote"):
            left += em
        bfmt.setLeftMargin(left)
        cursor.setPosition(block.position())
        cursor.setBlockFormat(bfmt)
        _fit_images(copy, block)
        first = False
    return copy


def _fit_images(doc: QTextDocument, block: QTextBlock) -> None:
    """Pictures in ``block`` no wider than the page (Qt's rich-text layout would draw a
    1600 px picture 1600 screen pixels wide, off the paper) nor taller than it."""
    images.change_image_formats(
        doc,
        block,
        lambda fmt: fmt.setMaximumWidth(QTextLength(QTextLength.Type.PercentageLength, 100)),
    )


def _write_pdf(doc: QTextDocument, path: Path, title: str) -> None:
    writer = QPdfWriter(str(path))
    writer.setTitle(title or "Untitled")
    writer.setCreator("Coscribe")
    writer.setResolution(300)
    writer.setPageLayout(
        QPageLayout(
            QPageSize(QPageSize.PageSizeId.A4),
            QPageLayout.Orientation.Portrait,
            QMarginsF(20, 20, 20, 20),
            QPageLayout.Unit.Millimeter,
        )
    )
    doc.print_(writer)
    del writer  # finishes the file
    if not path.exists() or path.stat().st_size == 0:
        raise ExportError(f"could not write {path}")


def parse_import(path: Path) -> QTextDocument:
    """Read a .txt/.md/.html file into a scratch QTextDocument (UTF-8, BOM tolerated).

    Raises:
        UnsupportedFileType: unsupported file type (a ValueError).
        OSError: the file cannot be read.
    """
    suffix = path.suffix.lower()
    if suffix not in IMPORT_SUFFIXES:
        raise UnsupportedFileType(f"cannot import {path.name}: choose a .txt, .md or .html file")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    doc = QTextDocument()
    if suffix in (".md", ".markdown"):
        doc.setMarkdown(text)
        _unbold_headings(doc)
    elif suffix in (".html", ".htm"):
        # Links are not underlined by themselves (Quill: ``underline`` is its own format).
        doc.setDefaultStyleSheet("a { text-decoration: none; }")
        doc.setHtml(text)
    else:
        doc.setPlainText(text.rstrip("\n"))
    return doc


def _unbold_headings(doc: QTextDocument) -> None:
    """Qt's Markdown reader draws headings bold (weight 700, which means ``bold`` to
    Coscribe); a heading's own look is the heading level. (Bold text inside a Markdown
    heading therefore imports as plain heading text.)"""
    for block in walk.blocks(doc):
        if block.blockFormat().headingLevel():
            pieces = []
            for frag in walk.fragments(block):
                fmt = frag.charFormat()
                if fmt.fontWeight() >= formats.BOLD_WEIGHT:
                    fmt.setFontWeight(formats.HEADING_WEIGHT)
                    pieces.append((frag.position(), frag.length(), fmt))
            for start, length, fmt in pieces:
                cursor = QTextCursor(doc)
                cursor.setPosition(start)
                cursor.setPosition(start + length, QTextCursor.MoveMode.KeepAnchor)
                cursor.setCharFormat(fmt)


def adopt_images(parsed: QTextDocument, target: QTextDocument, base_dir: Path) -> None:
    """Turn the images Qt read from a file into images of ``target`` (before its text is
    inserted there): a ``data:`` URL is kept (scaled and re-encoded first when it is over
    the size limit), a picture file named relative to ``base_dir`` (or by a ``file:`` URL)
    is read and stored as a data URL by the rules of *Insert ▸ Image…*, a web address is
    kept as it is (shown as a placeholder, never downloaded). Anything else, and what is
    refused, is left out."""
    pieces: list[tuple[int, QTextImageFormat | None]] = []
    for start, length, fmt in images.image_fragments(parsed):
        adopted = _adopt(fmt, target, base_dir)
        pieces.extend((pos, adopted) for pos in range(start, start + length))
    cursor = QTextCursor(parsed)
    for pos, image in reversed(pieces):  # from the end: removals keep earlier positions
        cursor.setPosition(pos)
        cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
        if image is None:
            cursor.removeSelectedText()
        else:
            cursor.setCharFormat(image)


def _adopt(fmt: QTextImageFormat, target: QTextDocument, base_dir: Path) -> QTextImageFormat | None:
    name = fmt.name()
    kind = core_images.describe_source(name).kind
    source: str | None = None
    try:
        if kind == "data":
            parsed = core_images.parse_data_url(name)
            if parsed is not None:
                fits = len(name) <= core_images.MAX_DATA_URL_BYTES
                source = name if fits else images.prepare_bytes(parsed.data).data_url
        elif kind == "remote":
            source = name
        else:
            url = QUrl(name)
            file = Path(url.toLocalFile()) if url.isLocalFile() else base_dir / name
            if file.suffix.lower() in _IMAGE_SUFFIXES and file.is_file():
                source = images.prepare_bytes(file.read_bytes()).data_url
    except (core_images.ImageRefused, OSError, ValueError):
        source = None
    if source is None:
        return None
    attrs: dict[str, object] = {}
    for key, prop in (
        ("width", QTextFormat.Property.ImageWidth),
        ("height", QTextFormat.Property.ImageHeight),
    ):
        if fmt.hasProperty(prop) and fmt.doubleProperty(prop) > 0:
            attrs[key] = str(round(fmt.doubleProperty(prop)))
    alt = fmt.stringProperty(QTextFormat.Property.ImageAltText).strip()
    if alt:
        attrs["alt"] = alt
    return images.image_format(target, source, attrs, images.text_format(fmt))


_IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".webp", ".bmp"})


def import_into_editor(path: Path, editor: HasDocument) -> None:
    """Insert the parsed file at the end of ``editor``; the editor's binding writes it into
    the CRDT (one local edit, undoable like a paste)."""
    parsed = parse_import(path)
    adopt_images(parsed, editor.document(), path.parent)
    cursor = QTextCursor(editor.document())
    cursor.movePosition(QTextCursor.MoveOperation.End)
    cursor.insertFragment(QTextDocumentFragment(parsed))
