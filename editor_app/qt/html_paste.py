"""HTML from other programs (a web browser, Google Docs, LibreOffice, Word) as Coscribe
content: what Ctrl+V of a formatted copy inserts.

Why not Qt's own rich-text paste: Qt's HTML reader keeps everything HTML can say (fonts by
name, point sizes, margins, line heights, tables, frames, block backgrounds), and none of
that has a Quill attribute: the binding would send nothing of it, so the paster would see
a page that collaborators (and the paster after reopening) never see. Here the clipboard's
HTML goes through Quill attributes and nothing else:

1. :func:`read_html`: Qt's HTML reader parses it into a scratch ``QTextDocument`` after a
   few textual fixes for real clipboards (Word's list paragraphs become lists, Chrome's
   ``Apple-interchange-newline`` is dropped, ``<code>``/``<kbd>``/``<samp>``/``<tt>`` are
   marked so that inline code is told from a monospace font, checklists become Qt's
   checked/unchecked list items: see :func:`_checklists`). The scratch document
   loads nothing while reading (Qt would read the local files a page names as its
   style sheets); ``<script>``, ``<style>`` and ``<title>`` text is not content to Qt.
2. :func:`html_delta`: the scratch document is read as a Quill delta (``(text, attrs,
   embed)`` runs, every line ended by ``"\\n"`` with its block attributes). Bold, italic,
   underline and strike are read by :func:`editor_app.qt.formats.inline_attrs`, the
   binding's own reader; what Qt's reader keeps in its own properties (links, colours,
   sizes, font families, super/subscript, headings, lists, alignment, quotes, code) is
   mapped onto Quill's vocabulary here, and only where it means something in a Quill
   document (links only to ``http(s)``/``mailto``/``tel``/``sms`` addresses):
   body text's colour, font and size (restating defaults) are dropped, a size becomes
   Quill's ``small``/``large``/``huge`` only when clearly different from the copied body
   text, a link's own blue and underline are the link's look and not formats. Tables
   become one line per row, cells separated by a tab. Pictures are adopted by
   :func:`editor_app.qt.export.adopt_images` (``data:`` URLs kept or scaled by the rules of
   *Insert ▸ Image…*, web addresses kept as a placeholder and never downloaded, ``file:``
   pictures read as an import reads them); any other picture (a relative address, which
   has no meaning on the clipboard) is left out.
3. :func:`build_document`: a fresh ``QTextDocument`` is built from that delta with the
   functions that display a collaborator's formats (:func:`formats.char_format`,
   :func:`formats.set_block_attrs_in_runs`, :func:`images.image_format`). Its fragment is
   what the editor inserts, so what the paster sees is exactly what the binding reads
   back and collaborators receive: nothing without a Quill attribute survives.

Quill's rules are kept where they differ from Qt's: a line is a heading, a list item, a
quote or a code block, never two of them (the innermost wins: code, list, heading, quote);
a code block's text has no inline formats; the final ``"\\n"`` of the paste is dropped
when it carries no block attributes (pasting one paragraph into a line does not split it).
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, Qt, QUrl
from PySide6.QtGui import (
    QColor,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextDocumentFragment,
    QTextFormat,
)

from editor_app.core.images import IMAGE_KEY, describe_source
from editor_app.core.offsets import EMBED_CHAR
from editor_app.core.schema import BLOCK_ATTRS, INLINE_ATTRS, MAX_INDENT
from editor_app.qt import formats, images, walk
from editor_app.qt.export import adopt_images
from editor_app.qt.formats import Attrs

#: A run of the pasted content: (text, Quill attributes, embed value or None). A line's
#: end is its own ``"\n"`` run with the line's block attributes.
Run = tuple[str, Attrs, Any]

#: Larger clipboards are pasted as plain text (Ctrl+Shift+V's paste, ~1 s per MB of
#: text). The cost of a formatted paste grows with its text and its formats: 1 MB of
#: Google Docs HTML (53,000 characters) takes ~0.4 s, 5 MB ~1.9 s; 1 MB of dense browser
#: HTML (326,000 characters, a format change every few words) ~4.4 s. Qt's HTML reader
#: takes ~0.6 s per MB before the text can be counted.
MAX_HTML_CHARS = 10_000_000
MAX_TEXT_CHARS = 400_000
#: Runs pasted times changes of format before the paste point (see :func:`fits_before`):
#: about 4-7 s of pycrdt inserts on the development machine; more is plain text.
MAX_INSERT_WORK = 50_000_000
#: Inline attributes read by :func:`formats.inline_attrs` from Qt's own properties.
_CORE_INLINE = ("bold", "italic", "underline", "strike")
#: Link schemes kept (Quill's own link whitelist); ``javascript:``, ``data:``, ``file:`` and
#: relative addresses (meaningless outside their page) are dropped.
LINK_SCHEMES = frozenset({"http", "https", "mailto", "tel", "sms"})
#: Qt's font size step (``<font size>``, ``<big>``, ``<small>``, headings) as a factor.
_INCREMENT_FACTOR = 1.2
#: Size relative to the copied body text: below SMALL_BELOW is ``small`` (0.75), from
#: LARGE_FROM ``large`` (1.5), from HUGE_FROM ``huge`` (2.5): the geometric middles
#: between Quill's sizes, so 12 pt in 11 pt body text stays normal (not clearly bigger).
SMALL_BELOW = 0.87
LARGE_FROM = 1.22
HUGE_FROM = 1.94
#: A body size outside this range (a copy of one huge title alone) is not the body
#: text's: sizes are then taken relative to DEFAULT_BODY_POINTS (a browser's 16 px).
BODY_POINTS_RANGE = (9.0, 14.0)
DEFAULT_BODY_POINTS = 12.0
#: Font family names (lower case) read as Quill's ``serif`` / ``monospace``; any other
#: family is the default sans-serif (no attribute). Generic words match too.
SERIF_FAMILIES = frozenset(
    {
        "serif",
        "times",
        "times new roman",
        "georgia",
        "cambria",
        "garamond",
        "palatino",
        "palatino linotype",
        "book antiqua",
        "baskerville",
        "liberation serif",
        "dejavu serif",
        "noto serif",
        "pt serif",
        "source serif pro",
        "merriweather",
        "lora",
        "constantia",
    }
)
MONOSPACE_HINTS = (
    "mono",
    "courier",
    "consol",
    "menlo",
    "monaco",
    "inconsolata",
    "source code",
    "fira code",
    "cascadia code",
)
#: The family :func:`read_html` gives the text of ``<code>``/``<kbd>``/``<samp>``/``<tt>``
#: (Qt gives them plain "monospace", as it gives a span styled ``font-family: monospace``).
CODE_FAMILY = "x-coscribe-inline-code"

_HORIZONTAL = {
    int(Qt.AlignmentFlag.AlignHCenter.value): "center",
    int(Qt.AlignmentFlag.AlignRight.value): "right",
    int(Qt.AlignmentFlag.AlignJustify.value): "justify",
}
_HORIZONTAL_MASK = int(Qt.AlignmentFlag.AlignHorizontal_Mask.value) & ~int(
    Qt.AlignmentFlag.AlignAbsolute.value
)
#: Characters that are not text: Qt's frame markers, stray object replacement characters
#: (a picture is an image format, never a bare U+FFFC), C0 controls but tab.
_NOT_TEXT = re.compile("[\ufdd0\ufdd1\ufffc\x00-\x08\x0b-\x1f\x7f]")
_LINE_SEPARATOR = "\u2028"

# --------------------------------------------------------------------------- reading HTML

#: Chrome/Safari end a copy that ended at a paragraph's end with this ``<br>``.
_INTERCHANGE_NEWLINE = re.compile(r"<br\b[^<>]*\bApple-interchange-newline\b[^<>]*>", re.I)
#: Word: a list item is a paragraph styled ``mso-list:l0 level2 lfo1``; its marker ("·",
#: "1.") is text inside ``<![if !supportLists]> ... <![endif]>``.
_WORD_LIST_ITEM = re.compile(
    r"<p\b([^<>]*?mso-list:\s*l\d+\s+level(\d+)[^<>]*)>((?:(?!<p\b).)*?)</p\s*>", re.I | re.S
)
_WORD_MARKER = re.compile(
    r"<!\[if\s+!supportLists\]>((?:(?!<!\[if\b).)*?)<!\[endif\]>", re.I | re.S
)
_DOWNLEVEL_REVEALED = re.compile(r"<!\[(?:if\b[^\]<>]*|endif)\]>", re.I)
_TAG = re.compile(r"<[^>]*>")
#: The end of a clipboard's HTML after its last text: closing tags, comments
#: (``<!--EndFragment-->``) and the whitespace between them, which Qt would append to the
#: last line as a space.
_TAIL = re.compile(r"(?:\s|</[^>]*>|<!--(?:(?!-->).)*-->)*\Z", re.S)
_ORDERED_MARKER = re.compile(r"\(?(?:\d+|[a-z]{1,4})[.)]", re.I)
_IMG_TAG = re.compile(r"<img\b", re.I)
#: Hidden elements (:func:`_without_hidden`); the hint is looked for first, as most
#: clipboards have none and the filter is a Python pass over the HTML.
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|mso-hide\s*:\s*all", re.I)
#: (Three patterns, each starting with a word: one with alternatives, or ignoring case,
#: took ~60 ms over 1 MB, these ~1 ms each; pages write them in lower case.)
_HIDDEN_HINTS = (
    re.compile(r"display\s*:\s*none"),
    re.compile(r"mso-hide\s*:\s*all"),
    re.compile(r"hidden[\s>=/]"),
)
_VOID_ELEMENTS = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)
_CODE_OPEN = re.compile(r"<(code|kbd|samp|tt)\b([^<>]*)>", re.I)
_CODE_CLOSE = re.compile(r"</(code|kbd|samp|tt)\s*>", re.I)
#: Box characters (☐ ☑ ☒, or the start of their references): :func:`_checklists` looks
#: for items that start with one only when one of these, or "checkbox", is in the HTML.
_BOX_HINTS = ("\u2610", "\u2611", "\u2612", "&#974", "&#x261")
#: Patterns of :func:`_checklists`. A tag is ``<`` ... ``>`` without another ``<`` or
#: ``>`` inside: with ``[^>]*``, each of many unclosed ``<li`` would be scanned to the
#: end of the HTML (quadratic: 40,000 took 10 s). An item's start (group 1), what shows
#: nothing after it (group 2: spaces, tags other than a list's, an item's, a picture or
#: a field) and a box: a checkbox field or picture (group 3), or a box character (group
#: 4: ☐, group 5: ☑ or ☒, as characters or character references); a space after it.
_ITEM_START = re.compile(
    r"(<li\b[^<>]*>)"
    r"((?:\s|&nbsp;|&#160;|&#xa0;|<(?!/?(?:li|ul|ol)\b|img\b|input\b)[^<>]*>)*)"
    r"(?:(<input\b(?=[^<>]*?\stype\s*=\s*[\"']?checkbox\b)[^<>]*>"
    r"|<img\b(?=[^<>]*?\saria-roledescription\s*=\s*[\"']?checkbox\b)[^<>]*>)"
    r"|(\u2610|&#9744;|&#x2610;)|(\u2611|\u2612|&#974[56];|&#x261[12];))"
    r"(?:\s|&nbsp;|&#160;|&#xa0;)?",
    re.I,
)
#: A quoted attribute value; ``checked`` as an attribute (in a tag whose quoted values
#: are emptied); a picture's ``alt="checked"``; a ``class`` attribute or a quoted value.
_QUOTED = re.compile(r"\"[^\"]*\"|'[^']*'")
_CHECKED_ATTRIBUTE = re.compile(r"\schecked(?=[\s/>=])", re.I)
_CHECKED_ALT = re.compile(r"\salt\s*=\s*[\"']?checked(?![\w-])", re.I)
_CLASS_ATTRIBUTE = re.compile(
    r"(\s+class\s*=\s*(?:\"[^\"]*\"|'[^']*'|[^\s\"'<>]+))|(\"[^\"]*\"|'[^']*')", re.I
)
#: A Google Docs checklist item (``role="checkbox"``) and its content up to the next
#: item's start or end (Google Docs puts a nested list after an item, not inside it).
_ROLE_ITEM = re.compile(
    r"(<li\b[^<>]*?\srole\s*=\s*[\"']?checkbox\b[^<>]*>)((?:(?!</?li\b).)*)", re.I | re.S
)
_TAG_NAME = re.compile(r"</?\w+")
#: A tag's attribute: its name, then a quoted or bare value if it has one.
_ATTRIBUTE = re.compile(r"""([^\s"'<>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'<>]+)))?""")
#: Word's list markers (``<![if !supportLists]>``) that are a checkbox: checked or not.
_BOX_MARKERS = {"\u2610": False, "\u2611": True, "\u2612": True}
#: Google Docs strikes the text of a ticked item through (on the item and each span):
#: its look of a ticked item, not a format (a Quill checklist item has no such look).
_STRUCK = re.compile(r"text-decoration(?:-line)?\s*:\s*line-through", re.I)
#: Qt draws headings bold (weight 700 means ``bold``) and links underlined; in HTML from
#: other programs, bold inside a heading is ``<b>`` or an explicit weight, as in Quill.
_STYLE_SHEET = "h1, h2, h3, h4, h5, h6 { font-weight: normal; } a { text-decoration: none; }"


def read_html(html: str) -> QTextDocument:
    """``html`` parsed by Qt's HTML reader into a scratch document, after the fixes for
    real clipboards described in the module docstring."""
    html = html.lstrip("\ufeff\x00")
    html = _INTERCHANGE_NEWLINE.sub("", html)
    cut = max(0, len(html) - 4096)  # the tail is short; never scan a megabyte for it
    tail = _TAIL.search(html, cut)
    if tail is not None and tail.start() < len(html):
        html = html[: tail.start()] + re.sub(r"\s+", "", tail.group())
    if "mso-list" in html:
        html = _WORD_LIST_ITEM.sub(_word_list_item, html)
    html = _WORD_MARKER.sub("", html)
    html = _DOWNLEVEL_REVEALED.sub("", html)
    if any(hint.search(html) is not None for hint in _HIDDEN_HINTS):
        html = _without_hidden(html)
    html = _checklists(html)
    html = _CODE_OPEN.sub(rf'<\1\2><span style="font-family: {CODE_FAMILY}">', html)
    html = _CODE_CLOSE.sub(r"</span></\1>", html)
    doc = _Scratch()
    doc.setDefaultStyleSheet(_STYLE_SHEET)
    doc.setHtml(html)
    return doc


def _without_hidden(html: str) -> str:
    """``html`` without the elements a page does not show (``display: none``, Word's
    ``mso-hide: all``, the ``hidden`` attribute): Qt's reader shows their text. ``html``
    itself when an element it hides is never closed (its end cannot be told)."""
    hidden = _HiddenFilter()
    hidden.feed(html)
    hidden.close()
    return html if hidden.skipping is not None else "".join(hidden.out)


class _HiddenFilter(HTMLParser):
    """Copies the HTML it is fed to :attr:`out`, except hidden elements (see
    :func:`_without_hidden`); markup and character references are copied as written."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=False)
        self.out: list[str] = []
        self.skipping: str | None = None  # the hidden element being skipped
        self._depth = 0  # its elements of the same name open inside it, plus itself

    @staticmethod
    def _hides(attrs: list[tuple[str, str | None]]) -> bool:
        for name, value in attrs:
            if name == "hidden" or (name == "style" and value and _HIDDEN_STYLE.search(value)):
                return True
        return False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping is not None:
            self._depth += tag == self.skipping
        elif self._hides(attrs):
            if tag not in _VOID_ELEMENTS:
                self.skipping, self._depth = tag, 1
        else:
            self.out.append(self.get_starttag_text() or "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if self.skipping is None and not self._hides(attrs):
            self.out.append(self.get_starttag_text() or "")

    def handle_endtag(self, tag: str) -> None:
        if self.skipping is None:
            self.out.append(f"</{tag}>")
        elif tag == self.skipping:
            self._depth -= 1
            if not self._depth:
                self.skipping = None

    def _copy(self, text: str) -> None:
        if self.skipping is None:
            self.out.append(text)

    def handle_data(self, data: str) -> None:
        self._copy(data)

    def handle_entityref(self, name: str) -> None:
        self._copy(f"&{name};")

    def handle_charref(self, name: str) -> None:
        self._copy(f"&#{name};")

    def handle_comment(self, data: str) -> None:
        self._copy(f"<!--{data}-->")

    def handle_decl(self, decl: str) -> None:
        self._copy(f"<!{decl}>")

    def handle_pi(self, data: str) -> None:
        self._copy(f"<?{data}>")

    def unknown_decl(self, data: str) -> None:
        self._copy(f"<![{data}]>")


class _Scratch(QTextDocument):
    """A document that never loads a resource. Qt's HTML reader loads the style sheets
    a page names (``<link rel="stylesheet">``, ``@import``) through ``loadResource``,
    which reads any local file (``file:///dev/zero`` would never end) and could be
    given other schemes; clipboard HTML is written by whatever page was copied."""

    def loadResource(self, _type: int, _name: QUrl | str) -> Any:  # noqa: N802
        return QByteArray()


def _word_list_item(match: re.Match[str]) -> str:
    """One Word list paragraph as a list of one item at its level (Qt's
    ``-qt-list-indent``); bullet or numbered by its marker's text."""
    attributes, level, inner = match.group(1), int(match.group(2)), match.group(3)
    found = _WORD_MARKER.search(inner)
    marker = ""
    if found is not None:
        marker = _TAG.sub("", found.group(1)).replace("&nbsp;", " ").strip()
    tag = "ol" if _ORDERED_MARKER.fullmatch(marker) else "ul"
    checked = _BOX_MARKERS.get(marker)  # a list whose bullet is a box: a checklist
    item = "<li>" if checked is None else _as_check_item("<li>", checked)
    level = max(1, min(level, MAX_INDENT + 1))
    inner = _WORD_MARKER.sub("", inner)
    return f'<{tag} style="-qt-list-indent: {level}">{item}<p{attributes}>{inner}</p></li></{tag}>'


def _checklists(html: str) -> str:
    """``html`` with the checklist items of other programs as Qt's (Qt's reader makes an
    item checked or unchecked for ``<li class="checked">`` / ``"unchecked"`` only), and
    without their boxes:

    * Google Docs: ``<li role="checkbox" aria-checked="true|false">``; in Chrome the item
      starts with a picture of its box, ``<img aria-roledescription="checkbox"
      alt="checked|unchecked">`` (it would be pasted as a picture). A ticked item's
      strike-through (on the item and on each of its spans) is Google Docs' look of a
      ticked item, and goes: unticked in Coscribe, the text would stay struck.
    * Rendered Markdown (GitHub, GFM renderers) and web pages: ``<input type="checkbox">``
      (``checked`` or not) before any text of the item: after GitHub's drag handle (a
      ``<span>`` with an ``<svg>``), inside a ``<label>``.
    * ☐ (unchecked), ☑ or ☒ (checked) as the first character of an item's text.

    A box anywhere else (a checkbox in a paragraph or after an item's text, a picture at
    an item's start that is not a box) makes no checklist item: Qt shows no ``<input>``,
    and pictures and characters stay what they are. Two regular expressions, each
    looking at a stretch of HTML once (linear in the HTML); Python runs only for the
    items they find."""
    if "checkbox" in html.lower():  # this and the hints: ~5 ms per MB (Qt reads 600)
        html = _ROLE_ITEM.sub(_role_item, html)
    elif not any(box in html for box in _BOX_HINTS):
        return html
    return _ITEM_START.sub(_item_start, html)


def _role_item(match: re.Match[str]) -> str:
    """A Google Docs checklist item (:data:`_ROLE_ITEM`) as Qt's, its box picture out."""
    tag, body = match.group(1), match.group(2)
    attrs = _attributes(tag)
    if "aria-checked" not in attrs:
        return match.group()
    checked = attrs["aria-checked"].strip().lower() == "true"
    start = _ITEM_START.match(tag + body)
    if start is not None and (start.group(3) or "")[:4].lower() == "<img":
        body = body[: start.start(3) - len(tag)] + body[start.end(3) - len(tag) :]
    if checked:
        tag, body = (
            _STRUCK.sub("text-decoration:none", tag),
            _STRUCK.sub("text-decoration:none", body),
        )
    return _as_check_item(tag, checked) + body


def _item_start(match: re.Match[str]) -> str:
    """An item starting with a box (:data:`_ITEM_START`) as Qt's checklist item, without
    the box (a field's ``checked`` attribute, Google Docs' picture's ``alt="checked"``,
    or the box character says whether it is ticked)."""
    tag, blank, field = match.group(1, 2, 3)
    if field is None:
        checked = match.group(5) is not None
    elif field[:6].lower() == "<input":
        checked = _CHECKED_ATTRIBUTE.search(_QUOTED.sub('""', field)) is not None
    else:
        checked = _CHECKED_ALT.search(field) is not None
    if "checkbox" in tag.lower():
        attrs = _attributes(tag)
        if attrs.get("role", "").strip().lower() == "checkbox" and "aria-checked" in attrs:
            return match.group()  # a Google Docs item, which its aria-checked says
    return _as_check_item(tag, checked) + blank


def _attributes(tag: str) -> dict[str, str]:
    """A start tag's attributes by lower-case name ("" for one without a value); the
    first of a name counts, as in HTML. Character references are left as written."""
    found: dict[str, str] = {}
    name = _TAG_NAME.match(tag)
    for match in _ATTRIBUTE.finditer(tag, name.end() if name else 0, len(tag) - 1):
        key = match.group(1).lower()
        if key not in found:
            found[key] = next((v for v in match.group(2, 3, 4) if v is not None), "")
    return found


def _as_check_item(tag: str, checked: bool) -> str:
    """An ``<li>`` start tag as Qt's checklist item: its classes (Qt looks for exactly
    ``checked`` / ``unchecked``) replaced, its other attributes (styles) kept."""
    rest = tag[3:]  # after "<li"
    if "class" in rest.lower():
        rest = _CLASS_ATTRIBUTE.sub(r"\2", rest)  # quoted values are kept as they are
    return f'<li class="{"checked" if checked else "unchecked"}"{rest}'


# --------------------------------------------------------------------------- HTML -> delta


def html_delta(html: str, target: QTextDocument) -> list[Run] | None:
    """The clipboard's ``html`` as Quill runs (see the module docstring), or None when
    it is too large to convert quickly (:data:`MAX_HTML_CHARS`, :data:`MAX_TEXT_CHARS`).
    Its pictures are registered in ``target`` (the editor's document, where they will be
    shown)."""
    if len(html) > MAX_HTML_CHARS:
        return None
    # Far more text than allowed even counting markup's whitespace, CSS and entities:
    # not worth Qt's parse (0.1 s for 5 MB here against seconds there).
    if len(html) > MAX_TEXT_CHARS and len(_TAG.sub("", html)) > 3 * MAX_TEXT_CHARS:
        return None
    scratch = read_html(html)
    if scratch.characterCount() > MAX_TEXT_CHARS:
        return None
    if _IMG_TAG.search(html) is not None:
        _drop_unreadable_images(scratch)
        adopt_images(scratch, target, Path("."))  # every relative picture is gone already
    return _Reader(scratch, target).delta()


def _drop_unreadable_images(doc: QTextDocument) -> None:
    """Remove pictures named by a relative address (or another scheme): on the clipboard
    it names nothing, and :func:`adopt_images` would look for it as a file."""
    doomed: list[int] = []
    for start, length, fmt in images.image_fragments(doc):
        name = fmt.name()
        if describe_source(name).kind == "invalid" and not name[:5].lower() == "file:":
            doomed.extend(range(start, start + length))
    cursor = QTextCursor(doc)
    for pos in reversed(doomed):
        cursor.setPosition(pos)
        cursor.setPosition(pos + 1, QTextCursor.MoveMode.KeepAnchor)
        cursor.removeSelectedText()


def _points(fmt: QTextCharFormat) -> float | None:
    """A char format's absolute size in points (CSS ``px`` are 0.75 pt), or None."""
    if fmt.hasProperty(QTextFormat.Property.FontPointSize):
        size = fmt.doubleProperty(QTextFormat.Property.FontPointSize)
        return size if size > 0 else None
    if fmt.hasProperty(QTextFormat.Property.FontPixelSize):
        pixels = fmt.intProperty(QTextFormat.Property.FontPixelSize)
        return pixels * 0.75 if pixels > 0 else None
    return None


def _family_kind(fmt: QTextCharFormat) -> str | None:
    """``"code"``, ``"monospace"``, ``"serif"`` or None (sans-serif, the default) for the
    first family a format names (the author's choice; the rest are fallbacks)."""
    families = fmt.fontFamilies() if fmt.hasProperty(QTextFormat.Property.FontFamilies) else None
    if not families:
        family = fmt.fontFamily() if fmt.hasProperty(QTextFormat.Property.FontFamily) else ""
        families = [family] if family else []
    if not families:
        return None
    first = str(families[0]).strip().strip("'\"").lower()
    if first == CODE_FAMILY:
        return "code"
    if first == "monospace" and len(families) == 1:
        return "code"  # Qt's own <code>-like tags when not marked (a <pre> line)
    if any(hint in first for hint in MONOSPACE_HINTS):
        return "monospace"
    if first in SERIF_FAMILIES or ("serif" in first and "sans" not in first):
        return "serif"
    return None


def _is_default_text(color: QColor) -> bool:
    """Black and near-black greys (``#000000``, Google's ``#202124``, Bootstrap's
    ``#212529``): what body text is drawn in anyway, not a colour anyone chose."""
    r, g, b = color.red(), color.green(), color.blue()
    return max(r, g, b) <= 0x40 and max(r, g, b) - min(r, g, b) <= 0x10


def _is_page_background(color: QColor) -> bool:
    """White and near-white greys: a page's own background, not a highlight."""
    r, g, b = color.red(), color.green(), color.blue()
    return min(r, g, b) >= 0xF0 and max(r, g, b) - min(r, g, b) <= 0x10


def _brush_color(fmt: QTextCharFormat, prop: QTextFormat.Property) -> QColor | None:
    if not fmt.hasProperty(prop):
        return None
    brush = fmt.brushProperty(prop)
    if brush.style() == Qt.BrushStyle.NoBrush:
        return None
    color = brush.color()
    return color if color.isValid() and color.alpha() > 0 else None


def _safe_link(url: str) -> str | None:
    scheme, colon, _ = url.strip().partition(":")
    if not colon or scheme.lower() not in LINK_SCHEMES:
        return None
    return url.strip()


@dataclass
class _Line:
    """A block of Qt's scratch document: its Quill block attributes, its table cell
    (table, row, column) or None, its text pieces ``(text, format index)``, and whether its
    text holds a line break or characters that are not text (the slow path)."""

    attrs: Attrs
    cell: tuple[int, int, int] | None
    pieces: list[tuple[str, int]]
    special: bool
    bold: bool = False  # a heading whose own style is bold (its text is, unless unbolded)


#: Never a format's attributes: marks a picture's format index in the reader's cache.
_IMAGE: Attrs = {}


class _Reader:
    """Reads a scratch document that Qt's HTML reader filled as Quill runs.

    One walk over Qt's blocks and fragments collects each line's text pieces by format
    index (a pasted megabyte has ~80,000 fragments but a few thousand formats, and a
    Python call per fragment is most of the cost); attributes are then derived once per
    distinct format, after the body text's size is known (sizes are relative to it)."""

    def __init__(self, doc: QTextDocument, target: QTextDocument) -> None:
        self._doc = doc
        self._target = target
        self._tables = bool(doc.rootFrame().childFrames())
        self._formats: dict[int, QTextCharFormat] = {}  # by format index, as first met
        self._chars: Counter[int] = Counter()  # characters of body lines by format index
        self._inline: dict[tuple[int, str], Attrs] = {}
        self._body = DEFAULT_BODY_POINTS

    def delta(self) -> list[Run]:
        lines = self._lines()
        self._body = self._body_points()
        runs: list[Run] = []
        previous: _Line | None = None
        for line in lines:
            if previous is not None:
                same_row = (
                    line.cell is not None
                    and previous.cell is not None
                    and line.cell[:2] == previous.cell[:2]
                )
                if same_row:
                    # A tab between the cells of a row, a space between the paragraphs
                    # of one cell.
                    runs.append(("\t" if line.cell != previous.cell else " ", {}, None))
                else:
                    _end_line(runs, previous.attrs)
            self._line_runs(line, runs)
            previous = line
        if previous is not None:
            _end_line(runs, previous.attrs)
        if runs and runs[-1][0] == "\n" and not runs[-1][1]:
            runs.pop()  # Quill: the paste's last "\n" only when it carries block formats
        return _merged(runs)

    def _lines(self) -> list[_Line]:
        """Qt's blocks as lines: block attributes, table cell, text pieces by format."""
        lines: list[_Line] = []
        formats_seen = self._formats
        after_table = False
        for block in walk.blocks(self._doc):
            cell = self._cell(block)
            nxt = block.next()
            if cell is None and block.length() == 1 and self._tables:
                # Qt's empty paragraph before or after a table: not the author's line.
                if after_table or (nxt.isValid() and self._cell(nxt) is not None):
                    continue
            after_table = cell is not None
            attrs = {} if cell is not None else self._block_attrs(block)
            pieces: list[tuple[str, int]] = []
            body = not ("header" in attrs or "code-block" in attrs)
            chars = self._chars
            for frag in walk.fragments(block):
                index = frag.charFormatIndex()
                if index not in formats_seen:
                    formats_seen[index] = frag.charFormat()
                text = frag.text()
                pieces.append((text, index))
                if body:
                    chars[index] += len(text)
            text = block.text()
            special = _LINE_SEPARATOR in text or _NOT_TEXT.search(text) is not None
            bold = "header" in attrs and block.charFormat().fontWeight() >= formats.BOLD_WEIGHT
            lines.append(_Line(attrs, cell, pieces, special, bold))
        return lines

    def _body_points(self) -> float:
        """The copied body text's size: the size most characters outside headings have."""
        sizes: Counter[float] = Counter()
        for index, count in self._chars.items():
            size = _points(self._formats[index])
            if size is not None:
                sizes[round(size * 2) / 2] += count
        if not sizes:
            return DEFAULT_BODY_POINTS
        body = sizes.most_common(1)[0][0]
        low, high = BODY_POINTS_RANGE
        return body if low <= body <= high else DEFAULT_BODY_POINTS

    # ---------------------------------------------------------------- blocks

    def _cell(self, block: QTextBlock) -> tuple[int, int, int] | None:
        """(table, row, column) of a table cell's block, or None outside tables."""
        if not self._tables:
            return None
        cursor = QTextCursor(block)
        table = cursor.currentTable()
        if table is None:
            return None
        cell = table.cellAt(cursor)
        if not cell.isValid():
            return None
        return (table.objectIndex(), cell.row(), cell.column())

    def _block_attrs(self, block: QTextBlock) -> Attrs:
        """Quill block attributes of a block Qt's HTML reader made (one of code-block,
        list, header, blockquote: Quill has one block kind per line; align, indent)."""
        bfmt = block.blockFormat()
        attrs: Attrs = {}
        lst = block.textList()
        if self._is_code_block(block):
            attrs["code-block"] = True
        elif lst is not None:
            marker = bfmt.marker()
            if marker == QTextBlockFormat.MarkerType.Checked:
                attrs["list"] = "checked"
            elif marker == QTextBlockFormat.MarkerType.Unchecked:
                attrs["list"] = "unchecked"
            elif lst.format().style() in formats.ORDERED_STYLES:
                attrs["list"] = "ordered"
            else:
                attrs["list"] = "bullet"
            indent = min(MAX_INDENT, max(0, lst.format().indent() - 1))
            if indent:
                attrs["indent"] = indent
        elif 1 <= bfmt.headingLevel() <= 6:
            attrs["header"] = bfmt.headingLevel()
        elif bfmt.intProperty(QTextFormat.Property.BlockQuoteLevel) > 0:
            attrs["blockquote"] = True
        align = _HORIZONTAL.get(int(bfmt.alignment().value) & _HORIZONTAL_MASK)
        if align is not None:
            attrs["align"] = align
        return attrs

    def _is_code_block(self, block: QTextBlock) -> bool:
        """A ``<pre>`` line: Qt keeps its lines unbroken and every piece of its text is
        in a monospace family (Google Docs' list items are unbroken too, in Arial)."""
        if not block.blockFormat().nonBreakableLines():
            return False
        seen = False
        for frag in walk.fragments(block):
            fmt = frag.charFormat()
            if not fmt.isImageFormat():
                if _family_kind(fmt) not in ("code", "monospace"):
                    return False
                seen = True
        return seen or _family_kind(block.charFormat()) in ("code", "monospace")

    # ---------------------------------------------------------------- text

    def _line_runs(self, line: _Line, runs: list[Run]) -> None:
        """Append the runs of ``line``'s text; a ``<br>`` (U+2028 in Qt) ends a line of
        the same kind (Quill has no line break inside a line), a space in a table cell."""
        attrs = line.attrs
        style = "code" if "code-block" in attrs else ""
        if "header" in attrs:
            style = "bold heading" if line.bold else "heading"
        inline_of = self._inline
        pieces: list[Run] = []
        for text, index in line.pieces:
            key = (index, style)
            inline = inline_of.get(key)
            if inline is None:
                fmt = self._formats[index]
                if fmt.isImageFormat():
                    inline_of[key] = _IMAGE
                    pieces.extend(self._image_runs(fmt, len(text)))
                    continue
                inline = inline_of[key] = self._inline_attrs(fmt, style)
            elif inline is _IMAGE:
                pieces.extend(self._image_runs(self._formats[index], len(text)))
                continue
            pieces.append((text, inline, None))
        if not line.special:
            runs.extend(pieces)
            return
        if pieces and pieces[-1][2] is None and pieces[-1][0].endswith(_LINE_SEPARATOR):
            # <p>text<br></p> is one line in a browser.
            last = pieces[-1]
            pieces[-1] = (last[0][:-1], last[1], None)
        for text, inline, embed in pieces:
            if embed is None:
                text = _NOT_TEXT.sub("", text)
            if embed is not None or _LINE_SEPARATOR not in text:
                if text:
                    runs.append((text, inline, embed))
                continue
            parts = text.split(_LINE_SEPARATOR)
            for i, part in enumerate(parts):
                if i:
                    runs.append((" ", {}, None) if line.cell is not None else ("\n", attrs, None))
                if part:
                    runs.append((part, inline, None))

    def _image_runs(self, fmt: QTextCharFormat, count: int) -> list[Run]:
        """The runs of ``count`` pictures of format ``fmt`` (adopted: registered in the
        target document): each an embed with Quill's image attributes and a safe link."""
        embed = images.embed_of(self._target, fmt)
        if embed is None:
            return []
        image = dict(images.image_attrs(fmt))
        href = fmt.anchorHref()
        link = _safe_link(href) if href else None
        if link is not None:
            image["link"] = link
        return [(EMBED_CHAR, image, embed)] * count

    def _inline_attrs(self, fmt: QTextCharFormat, style: str) -> Attrs:
        """Quill inline attributes of a Qt HTML format in a line of ``style`` ("code":
        a code block, none; "heading": no size, the heading has its own; "bold heading":
        a heading whose own style is bold, where bold text is just the heading's)."""
        if style == "code":
            return {}
        read = formats.inline_attrs(fmt)  # the binding's reader: bold ... strike
        attrs: Attrs = {key: read[key] for key in _CORE_INLINE if key in read}
        # A link: Qt's reader marks only the first character of an <a> that also names
        # an anchor (id="...") as an anchor; the others carry just its address.
        href = fmt.anchorHref()
        anchor = bool(href)  # a link's colour and underline are its look
        attrs.pop("link", None)
        if anchor:
            link = _safe_link(href)  # None: in the page it came from (#note-1), javascript:
            if link is not None:
                attrs["link"] = link
            attrs.pop("underline", None)
        script = fmt.verticalAlignment()
        if script == QTextCharFormat.VerticalAlignment.AlignSuperScript:
            attrs["script"] = "super"
        elif script == QTextCharFormat.VerticalAlignment.AlignSubScript:
            attrs["script"] = "sub"
        kind = _family_kind(fmt)
        if kind == "code":
            attrs["code"] = True
        elif kind is not None:
            attrs["font"] = kind
        color = _brush_color(fmt, QTextFormat.Property.ForegroundBrush)
        if color is not None and not _is_default_text(color) and not anchor:
            attrs["color"] = color.name()
        background = _brush_color(fmt, QTextFormat.Property.BackgroundBrush)
        if background is not None and not _is_page_background(background) and kind != "code":
            attrs["background"] = background.name()
        if style == "bold heading":
            attrs.pop("bold", None)  # the heading's own weight (LibreOffice's h2 style)
        if not style.endswith("heading"):
            size = self._size(fmt)
            if size is not None:
                attrs["size"] = size
        return attrs

    def _size(self, fmt: QTextCharFormat) -> str | None:
        """Quill's size class for a format, relative to the copied body text; None
        unless clearly smaller or larger (see :data:`SMALL_BELOW` ...)."""
        points = _points(fmt)
        if points is not None:
            ratio = points / self._body
        elif fmt.hasProperty(QTextFormat.Property.FontSizeIncrement):
            ratio = _INCREMENT_FACTOR ** fmt.intProperty(QTextFormat.Property.FontSizeIncrement)
        else:
            return None
        if ratio < SMALL_BELOW:
            return "small"
        if ratio >= HUGE_FROM:
            return "huge"
        if ratio >= LARGE_FROM:
            return "large"
        return None


def _end_line(runs: list[Run], attrs: Attrs) -> None:
    """End the line with its ``"\n"``; spaces before a line's end are not shown in a
    page (Qt keeps the whitespace between Word's paragraphs), except in a code block."""
    if "code-block" not in attrs:
        while runs and runs[-1][2] is None and runs[-1][0] != "\n" and runs[-1][0].endswith(" "):
            text, inline, _ = runs[-1]
            text = text.rstrip(" ")
            if text:
                runs[-1] = (text, inline, None)
                break
            runs.pop()
    runs.append(("\n", attrs, None))


def _merged(runs: list[Run]) -> list[Run]:
    """Adjacent text runs with equal attributes joined (a paste of 1 MB has many; the
    pieces are joined once, not string by string, which is quadratic in a long line)."""
    out: list[Run] = []
    pieces: list[str] = []  # the texts of out[-1] while it is a text run
    for text, attrs, embed in runs:
        if pieces and embed is None and text != "\n" and out[-1][1] == attrs:
            pieces.append(text)
            continue
        if len(pieces) > 1:
            out[-1] = ("".join(pieces), out[-1][1], None)
        out.append((text, attrs, embed))
        pieces = [text] if embed is None and text != "\n" else []
    if len(pieces) > 1:
        out[-1] = ("".join(pieces), out[-1][1], None)
    return out


# --------------------------------------------------------------------------- delta -> Qt


def build_document(runs: list[Run], target: QTextDocument) -> QTextDocument:
    """A fresh document holding ``runs``, formatted by the functions that show a
    collaborator's formats (so it holds nothing the binding would not send). Pictures
    are registered in ``target``, where the fragment is going to be inserted."""
    doc = QTextDocument()
    doc.setDefaultFont(target.defaultFont())
    size = formats.base_point_size(doc)
    cursor = QTextCursor(doc)
    # One edit block: Qt lays a block out again after every insert outside one, which
    # made a paragraph of 10,400 runs take 7.7 s to build (0.03 s inside one).
    cursor.beginEditBlock()
    plain = formats.char_format({}, None, size)
    cursor.setBlockCharFormat(plain)
    char_formats: dict[tuple[tuple[str, Any], ...], QTextCharFormat] = {}
    ended: list[tuple[int, Attrs]] = []
    line_start = 0
    for text, attrs, embed in runs:
        if text == "\n" and embed is None:
            if attrs:  # a new block is plain already
                ended.append((line_start, attrs))
            cursor.insertBlock(QTextBlockFormat(), plain)
            line_start = cursor.position()
            continue
        inline = {k: v for k, v in attrs.items() if k in INLINE_ATTRS}
        key = tuple(sorted(inline.items()))
        fmt = char_formats.get(key)
        if fmt is None:
            fmt = char_formats[key] = formats.char_format(inline, None, size)
        if embed is not None:
            image = {k: v for k, v in attrs.items() if k not in INLINE_ATTRS}
            cursor.insertText(
                EMBED_CHAR, images.image_format(target, str(embed[IMAGE_KEY]), image, fmt)
            )
        else:
            cursor.insertText(text, fmt)
    formats.set_block_attrs_in_runs(doc, ended)
    cursor.endEditBlock()
    return doc


@dataclass(frozen=True)
class HtmlPaste:
    """What pasting an HTML clipboard inserts: :func:`build_document`'s fragment, whose
    first line is plain, and that line's block attributes (None: a paste of one line)."""

    fragment: QTextDocumentFragment
    first_line: Attrs | None

    def insert(self, cursor: QTextCursor) -> None:
        """Insert at ``cursor`` (replacing its selection) with Quill's line rules, as one
        Qt edit block (the binding sends one change, in the caller's transaction).

        Qt and Quill disagree where a pasted line meets the line it lands in. Qt keeps a
        block's format on the block's start (the line pasted into keeps its format, the
        last pasted line's format goes to the text after the caret, and a fragment that
        starts with a list item gets an extra line break first); Quill keeps it on the
        ``"\n"`` that ends a line (the line pasted into takes the first pasted line's
        formats, the text after the caret keeps that line's). So the fragment's first
        line is plain, and both lines get Quill's attributes once the text is in,
        through :func:`formats.set_block_attrs` (the binding's display function)."""
        qdoc = cursor.document()
        cursor.beginEditBlock()
        cursor.removeSelectedText()
        start = cursor.position()
        here = cursor.block()
        after = {} if here == qdoc.lastBlock() else formats.block_attrs(here)
        cursor.insertFragment(self.fragment)
        first, last = qdoc.findBlock(start), cursor.block()
        if self.first_line is not None:
            formats.set_block_attrs(qdoc, first, formats.with_nulls(self.first_line, BLOCK_ATTRS))
            formats.set_block_attrs(qdoc, last, formats.with_nulls(after, BLOCK_ATTRS))
            first, last = qdoc.findBlock(start), cursor.block()
        # The text pasted into the first and last lines takes their look (a heading's size).
        for block in (first,) if first == last else (first, last):
            at = block.position()
            formats.restyle_range(qdoc, at, at + block.length() - 1, {}, formats.style_level(block))
        cursor.endEditBlock()


def from_fragment(fragment: QTextDocumentFragment) -> HtmlPaste:
    """A selection copied in Coscribe (its exact Qt fragment), to insert with Quill's line
    rules as :meth:`HtmlPaste.insert` does: inserted as it is, Qt kept the format of the
    line pasted into, so a copied heading line pasted into an empty line became plain."""
    scratch = QTextDocument()
    QTextCursor(scratch).insertFragment(fragment)
    if scratch.blockCount() < 2:
        return HtmlPaste(fragment, None)  # part of one line: the line keeps its format
    first = scratch.firstBlock()
    first_line = formats.block_attrs(first)
    formats.set_block_attrs(scratch, first, formats.with_nulls({}, BLOCK_ATTRS))
    return HtmlPaste(QTextDocumentFragment(scratch), first_line)


def prepare(html: str, target: QTextDocument, at: int = 0) -> HtmlPaste | None:
    """What pasting ``html`` into ``target`` at position ``at`` inserts, or None when it
    holds no content or is too large or too slow to insert there (then the clipboard's
    plain text is pasted)."""
    runs = html_delta(html, target)
    if not runs or not fits_before(target, at, len(runs)):
        return None
    first_line: Attrs | None = None
    for i, (text, attrs, embed) in enumerate(runs):
        if text == "\n" and embed is None:
            first_line = attrs
            runs[i] = ("\n", {}, None)
            break
    return HtmlPaste(QTextDocumentFragment(build_document(runs, target)), first_line)


def fits_before(target: QTextDocument, at: int, runs: int) -> bool:
    """Whether ``runs`` formatted runs pasted at ``at`` are written into the CRDT
    quickly enough (:data:`MAX_INSERT_WORK`).

    pycrdt 0.14 finds an index by walking the text's items from its start, and the
    binding writes a paste run by run at the paste point, so the work is the runs times
    the items before that point. Items are not visible from Qt; each change of format
    (two format marks in the CRDT) is counted instead, which is what a formatted
    document is made of. Measured: 8,093 runs after 6,546 changes took 3.7-6.6 s; a
    megabyte of browser HTML (66,000 runs) pasted twice took over ten minutes."""
    limit = MAX_INSERT_WORK // max(1, runs)
    if target.characterCount() <= limit:
        return True  # never more changes than characters
    changes = 0
    last_char = last_block = -1
    block = target.firstBlock()
    while block.isValid() and block.position() < at:
        if block.blockFormatIndex() != last_block:
            last_block = block.blockFormatIndex()
            changes += 1
        for frag in walk.fragments(block):
            index = frag.charFormatIndex()
            if index != last_char:
                last_char = index
                changes += 1
        if changes > limit:
            return False
        block = block.next()
    return True
