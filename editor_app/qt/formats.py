"""Quill attributes <-> Qt text formats: the one place that knows how formatting looks in Qt.

The CRDT stores formatting the way Quill (and y-quill) does, so a web Quill editor on the
same document shows the same thing:

* inline attributes on text runs: ``bold``, ``italic``, ``underline``, ``strike`` (``True``)
  and ``link`` (URL string);
* block attributes on the ``"\\n"`` that ENDS a line: ``header`` (1-3) and ``list``
  (``"bullet"`` | ``"ordered"``).

Qt mapping (each attribute has exactly one Qt property that decides it, so reading a format
back always gives the attributes that were written):

=============  ===========================================================================
``bold``       ``fontWeight() >= 700``. Headings are drawn at weight 600 (DemiBold), so a
               heading is visibly bold without being ``bold``; bold text inside a heading
               is 700, and un-bolding there returns to 600, not to 400.
``italic``     ``fontItalic()``
``underline``  ``fontUnderline()``
``strike``     ``fontStrikeOut()``
``link``       ``isAnchor()`` + ``anchorHref()``; links are drawn in :data:`LINK_COLOR`
               WITHOUT underline so that ``underline`` stays an independent attribute.
``header``     ``QTextBlockFormat.headingLevel()`` (1-3) plus a larger font
               (:data:`HEADING_SCALE`) on every character of the block and on the block's
               char format (so typing into an empty heading line is heading-sized).
``list``       membership of the block in a ``QTextList``: ``ListDisc`` (and any other
               unordered style) <-> ``"bullet"``, ``ListDecimal`` (and other numbered
               styles) <-> ``"ordered"``. Adjacent blocks with the same kind share one
               ``QTextList``, up to :data:`LIST_CHUNK` items (a collaborator's paste of
               more spreads them over several adjacent lists of one format: Qt builds a
               long list in quadratic time). Which Qt list holds an item is never read
               as an attribute, and numbers are Quill 2's counters, per nesting level
               (1. / a. / i.), whatever lists hold them (:func:`ordered_number`).
=============  ===========================================================================

Edge cases (documented, not hidden):

* Qt block *i* <-> the CRDT line ended by the *i*-th ``"\\n"``. The last Qt block has no
  ``"\\n"`` after it in the CRDT, so it cannot carry block attributes: the binding keeps the
  last block plain, and the editor widget appends an empty line first when the user makes
  the last line a heading or list item. A Quill document ``"Title\\n"`` with ``header`` on
  its ``"\\n"`` therefore shows as a heading line followed by one empty plain line.
* A ``"\\n"`` carries only block attributes and text only inline ones; inline attributes a
  foreign client puts on a ``"\\n"`` (Quill never does) are ignored when displayed.
* Unknown attributes (``color``, ``font``, ``indent``, ...) from foreign clients are not
  shown and are left untouched in the CRDT (the binding never writes keys it does not own).
"""

from __future__ import annotations

import weakref
from typing import Any

from PySide6.QtCore import Qt
from PySide6.QtGui import (
    QColor,
    QFont,
    QTextBlock,
    QTextBlockFormat,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextList,
    QTextListFormat,
)

from editor_app.core.images import IMAGE_ATTRS, IMAGE_KEY, image_source
from editor_app.core.offsets import EMBED_CHAR
from editor_app.core.schema import BLOCK_ATTRS, INLINE_ATTRS, MAX_INDENT
from editor_app.qt import images, walk

Attrs = dict[str, Any]

NORMAL_WEIGHT = 400
HEADING_WEIGHT = 600  # DemiBold: visibly bold, but below the 700 that means ``bold``
BOLD_WEIGHT = 700
#: Font size of each heading level relative to the body (Google Docs: 20/16/14/12/11/11 pt
#: over an 11 pt body).
HEADING_SCALE: dict[int, float] = {1: 1.82, 2: 1.45, 3: 1.27, 4: 1.09, 5: 1.0, 6: 1.0}
#: Not a heading: the char styling of a ``code-block`` line (monospace).
CODE_BLOCK = 100
#: Quill's ``size`` classes (ql-size-small/large/huge) relative to the body.
SIZE_SCALE: dict[str, float] = {"small": 0.75, "large": 1.5, "huge": 2.5}
FONT_FAMILIES: dict[str, list[str]] = {
    "serif": ["Noto Serif", "DejaVu Serif", "Liberation Serif", "Times New Roman", "serif"],
    "monospace": ["Noto Sans Mono", "DejaVu Sans Mono", "Liberation Mono", "Consolas", "monospace"],
}
#: Translucent grey: readable on the light and on the dark page.
CODE_BACKGROUND = QColor(127, 127, 127, 36)
LINK_COLOR = QColor("#1a73e8")
_ALIGN = {
    "center": Qt.AlignmentFlag.AlignHCenter,
    "right": Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignAbsolute,  # as CSS: not mirrored
    "justify": Qt.AlignmentFlag.AlignJustify,
}

# Quill values are kept verbatim in user properties of the Qt formats (one property
# decides each attribute, so reading a format back gives exactly what was written); the
# visible styling is derived from them.
_USER = int(QTextFormat.Property.UserProperty.value)
INLINE_PROPS: dict[str, int] = {
    "font": _USER + 1,
    "size": _USER + 2,
    "color": _USER + 3,
    "background": _USER + 4,
    "script": _USER + 5,
    "code": _USER + 6,
}
BLOCK_PROPS: dict[str, int] = {
    "align": _USER + 11,
    "indent": _USER + 12,
    "blockquote": _USER + 13,
    "code-block": _USER + 14,
    "direction": _USER + 15,
}

ORDERED_STYLES = frozenset(
    {
        QTextListFormat.Style.ListDecimal,
        QTextListFormat.Style.ListLowerAlpha,
        QTextListFormat.Style.ListUpperAlpha,
        QTextListFormat.Style.ListLowerRoman,
        QTextListFormat.Style.ListUpperRoman,
    }
)
_LIST_STYLE = {
    "bullet": QTextListFormat.Style.ListDisc,
    "ordered": QTextListFormat.Style.ListDecimal,
    "checked": QTextListFormat.Style.ListSquare,
    "unchecked": QTextListFormat.Style.ListSquare,
}
#: Checklist items share one Qt list (ListSquare); each item's block marker says whether
#: it is checked.
_CHECK_STYLES = frozenset({QTextListFormat.Style.ListSquare})
#: The most items a pasted run of list items puts in one Qt list, and the most a list
#: grows to by joining the one after it (see :func:`set_block_attrs_in_runs`: a
#: 13,000-item list took Qt ~10 s to build).
LIST_CHUNK = 256


# ---------------------------------------------------------------------------------- reading


def inline_attrs(fmt: QTextCharFormat) -> Attrs:
    """The Quill inline attributes a Qt char format stands for (only the ones that are set)."""
    attrs: Attrs = {}
    if fmt.fontWeight() >= BOLD_WEIGHT:
        attrs["bold"] = True
    if fmt.fontItalic():
        attrs["italic"] = True
    if fmt.fontUnderline():
        attrs["underline"] = True
    if fmt.fontStrikeOut():
        attrs["strike"] = True
    if fmt.isAnchor() and fmt.anchorHref():
        attrs["link"] = fmt.anchorHref()
    for key, prop in INLINE_PROPS.items():
        if fmt.hasProperty(prop):
            value = fmt.property(prop)
            if value not in (None, "", False):
                attrs[key] = value
    return attrs


def text_list(block: QTextBlock) -> QTextList | None:
    """The list ``block`` belongs to, or None."""
    return block.textList()


def list_kind(lst: QTextList | None) -> str | None:
    """``"ordered"``/``"bullet"``/``"check"`` (a checklist) for a Qt list, None for none."""
    if lst is None:
        return None
    style = lst.format().style()
    if style in ORDERED_STYLES:
        return "ordered"
    return "check" if style in _CHECK_STYLES else "bullet"


def block_list_kind(block: QTextBlock) -> str | None:
    """The Quill ``list`` value of ``block``: bullet, ordered, checked, unchecked or None."""
    kind = list_kind(block.textList())
    if kind == "check":
        checked = block.blockFormat().marker() == QTextBlockFormat.MarkerType.Checked
        return "checked" if checked else "unchecked"
    return kind


def ordered_number(block: QTextBlock) -> int | None:
    """The number Quill 2 shows on ``block`` if it is an ordered list item, else None:
    its count at its own nesting level (``indent``), drawn by :func:`ordered_label`.

    Quill 2 numbers with CSS counters, one per level (quill.core.css): a paragraph or a
    heading sets every counter to 0; a list item of any kind at level k sets the counters
    of the deeper levels to 0; an ordered item at level k counts one on counter k. So a
    bullet between two ordered items does not restart them, nor do a quote or a code
    line, and a nested run counts from 1 under each item above it. Qt's own number
    (``QTextList.itemNumber``) counts one Qt list, which is none of that (a long run is
    kept in several lists, nested items share their parents' list, Qt takes an item out
    of its list on Backspace at its start), so the numbers are counted here, once per run
    of list lines, and kept until the lists change (the painter asks on every repaint; a
    keystroke inside an item keeps them: see :class:`_Structure`). Ask outside an edit
    block (inside one, Qt's revision stays while the document changes).
    """
    lst = block.textList()
    if lst is None:
        return None
    numbers = _numbers(block.document())
    if not numbers.ordered(lst):
        return None
    return numbers.number(block)


def list_level(block: QTextBlock) -> int:
    """The nesting level of a line (Quill's ``indent``, 0-8; 0 when it has none)."""
    value = _block_prop(block, "indent")
    return value if isinstance(value, int) else 0


def ordered_label(block: QTextBlock) -> str | None:
    """What Quill 2 draws before an ordered item: its number as a decimal, a letter or
    a Roman numeral by its level (levels 0, 3, 6 / 1, 4, 7 / 2, 5, 8), then ``"."``."""
    number = ordered_number(block)
    if number is None:
        return None
    return f"{counter_text(number, list_level(block))}."


def counter_text(number: int, level: int) -> str:
    """``number`` as CSS writes counter styles ``decimal``, ``lower-alpha`` (a-z, then
    aa, ab ...) and ``lower-roman`` (decimal outside 1-3999), chosen by ``level``."""
    style = level % 3
    if style == 1 and number > 0:
        letters = ""
        while number > 0:
            number, rest = divmod(number - 1, 26)
            letters = chr(ord("a") + rest) + letters
        return letters
    if style == 2 and 0 < number < 4000:
        out = ""
        for value, digits in _ROMAN:
            count, number = divmod(number, value)
            out += digits * count
        return out
    return str(number)


_ROMAN = [
    (1000, "m"),
    (900, "cm"),
    (500, "d"),
    (400, "cd"),
    (100, "c"),
    (90, "xc"),
    (50, "l"),
    (40, "xl"),
    (10, "x"),
    (9, "ix"),
    (5, "v"),
    (4, "iv"),
    (1, "i"),
]
#: Qt's list style that draws an ordered list of each level as Quill does (exports).
ORDERED_STYLE_BY_LEVEL = (
    QTextListFormat.Style.ListDecimal,
    QTextListFormat.Style.ListLowerAlpha,
    QTextListFormat.Style.ListLowerRoman,
)
#: Quill's levels: 0 and indent 1-8 (its counters list-0 ... list-8).
_LEVELS = MAX_INDENT + 1


def _block_prop(block: QTextBlock, key: str) -> Any:
    fmt = block.blockFormat()
    prop = BLOCK_PROPS[key]
    return fmt.property(prop) if fmt.hasProperty(prop) else None


class _Numbers:
    """The numbers of one list structure of a document (``stamp``, from
    :meth:`_Structure.stamp`), found for a whole run of list lines (between two
    paragraphs or headings) when one of its items is first asked for: by Qt list for a
    list of adjacent items with no level (its first item's number), else by block
    number.

    Without nested items anywhere (``nested`` False, the usual case) a run is walked by
    whole Qt lists: a run of 13,000 items is ~50 lists, and a line added to it costs
    0.3 ms to count again instead of 38 ms line by line."""

    def __init__(self, stamp: tuple[int, int], *, nested: bool) -> None:
        self.stamp = stamp
        self.nested = nested
        self.kinds: dict[int, bool] = {}  # list format index -> ordered
        self.levels: dict[int, int] = {}  # block format index -> level of its list items
        self.counts: dict[int, bool] = {}  # block format index of a non-list line -> resets
        self.first: dict[int, int] = {}  # list object index -> its first item's number
        self.numbers: dict[int, int] = {}  # block number -> number

    def ordered(self, lst: QTextList) -> bool:
        """Whether ``lst`` is an ordered list (by its format index: reading its format
        is a few times slower, and the painter asks for every visible item)."""
        index = lst.formatIndex()
        known = self.kinds.get(index)
        if known is None:
            known = self.kinds[index] = list_kind(lst) == "ordered"
        return known

    def number(self, block: QTextBlock) -> int:
        """The number of the ordered item ``block`` (its run counted if need be)."""
        known = self._known(block)
        if known is None:
            self._count_run(block)
            known = self._known(block)
        if known is None:
            raise AssertionError("an ordered item was left out of its run's count")
        return known

    def _known(self, block: QTextBlock) -> int | None:
        lst = block.textList()
        first = self.first.get(lst.objectIndex())
        if first is not None:
            return first + lst.itemNumber(block)
        return self.numbers.get(block.blockNumber())

    def _resets(self, block: QTextBlock) -> bool:
        """Whether ``block`` sets every counter to 0: a paragraph or a heading (Quill's
        ``p`` and ``h1``-``h6``), not a list item, a quote or a code line."""
        if block.textList() is not None:
            return False
        index = block.blockFormatIndex()
        known = self.counts.get(index)
        if known is None:
            known = self.counts[index] = not (
                _block_prop(block, "blockquote") or _block_prop(block, "code-block")
            )
        return known

    def _level(self, block: QTextBlock) -> int:
        index = block.blockFormatIndex()
        known = self.levels.get(index)
        if known is None:
            known = self.levels[index] = min(list_level(block), _LEVELS - 1)
        return known

    def _whole(self, lst: QTextList, line: QTextBlock) -> QTextBlock | None:
        """The last item of ``lst`` if ``line`` is its first, its items are adjacent
        blocks and no item anywhere has a level (so all of it counts as one step)."""
        if self.nested:
            return None
        count = lst.count()
        number = line.blockNumber()
        if lst.item(0).blockNumber() != number:
            return None
        last = lst.item(count - 1)
        return last if last.blockNumber() - number == count - 1 else None

    def _run_start(self, block: QTextBlock) -> QTextBlock:
        """The first line of the run of list lines (and quotes, code) ``block`` is in."""
        start = block
        while True:
            prev = start.previous()
            if not prev.isValid() or self._resets(prev):
                return start
            lst = prev.textList()
            if lst is not None:
                head = lst.item(0)
                last = self._whole(lst, head)
                if last is not None and last.blockNumber() == prev.blockNumber():
                    start = head  # a whole list of adjacent items at once
                    continue
            start = prev

    def _count_run(self, block: QTextBlock) -> None:
        """Count the run of list lines ``block`` is in, from its first line to its last,
        as Quill's counters do (once per run and list structure)."""
        counters = [0] * _LEVELS
        deepest = 0  # no counter deeper than this is above 0
        walked = 0
        line = self._run_start(block)
        while line.isValid() and not self._resets(line):
            walked += 1
            lst = line.textList()
            if lst is None:
                line = line.next()  # a quote or code line: counts nothing, resets nothing
                continue
            last = self._whole(lst, line)
            if last is not None:  # level 0 throughout: nothing deeper to reset
                if self.ordered(lst):
                    self.first[lst.objectIndex()] = counters[0] + 1
                    counters[0] += lst.count()
                line = last.next()
                continue
            level = self._level(line)
            if deepest > level:
                for deeper in range(level + 1, deepest + 1):
                    counters[deeper] = 0
                deepest = level
            if self.ordered(lst):
                counters[level] += 1
                deepest = max(deepest, level)
                self.numbers[line.blockNumber()] = counters[level]
            line = line.next()
        _CALLS["list_walk"] += walked


def _nested_items(qdoc: QTextDocument) -> bool:
    """Whether a list item of ``qdoc`` may have a level: one of its block formats (in use
    or once used: Qt keeps them) has both a list and an ``indent``."""
    indent = BLOCK_PROPS["indent"]
    member = QTextFormat.Property.ObjectIndex
    return any(
        fmt.isBlockFormat() and fmt.hasProperty(indent) and fmt.hasProperty(member)
        for fmt in qdoc.allFormats()
    )


class _Structure:
    """Counts the changes to ``qdoc`` that can change a list number: every one but
    characters typed into or deleted from a line (a pure insertion or removal that keeps
    the number of blocks), which is what a keystroke is.

    Why: the numbers were known per document revision, so the first item painted after
    each keystroke walked back over every Qt list of a long run (~50 in a 1 MB numbered
    list: 0.8 ms per key). Qt reports a block or list format change as characters
    removed and added again (``contentsChange(pos, n, n)``), and a line break added or
    removed changes the block count, so both start a new count; text typed inside an item
    keeps the numbers.
    """

    def __init__(self, qdoc: QTextDocument) -> None:
        self._qdoc = weakref.ref(qdoc)
        self.blocks = qdoc.blockCount()
        self.count = 0
        self.seen = qdoc.revision()  # the revision the last change reported was made at
        qdoc.contentsChange.connect(self._changed)

    def _changed(self, _pos: int, removed: int, added: int) -> None:
        qdoc = self._qdoc()
        if qdoc is None:
            return
        blocks = qdoc.blockCount()
        if (removed and added) or blocks != self.blocks:
            self.count += 1
            self.blocks = blocks
        self.seen = qdoc.revision()

    def stamp(self, qdoc: QTextDocument) -> tuple[int, int]:
        """A key that changes whenever a number can have: the count of such changes, or
        the revision while a change has not been reported yet (asked from another
        handler of the same change, or inside an edit block)."""
        revision = qdoc.revision()
        return (self.count, -1) if revision == self.seen else (self.count, revision)


_STRUCTURES: weakref.WeakKeyDictionary[QTextDocument, _Structure] = weakref.WeakKeyDictionary()
_NUMBERS: weakref.WeakKeyDictionary[QTextDocument, _Numbers] = weakref.WeakKeyDictionary()


def _numbers(qdoc: QTextDocument) -> _Numbers:
    """The numbers known for ``qdoc``'s current list structure (see :class:`_Structure`)."""
    structure = _STRUCTURES.get(qdoc)
    if structure is None:
        structure = _STRUCTURES[qdoc] = _Structure(qdoc)
    stamp = structure.stamp(qdoc)
    numbers = _NUMBERS.get(qdoc)
    if numbers is None or numbers.stamp != stamp:
        numbers = _NUMBERS[qdoc] = _Numbers(stamp, nested=_nested_items(qdoc))
    return numbers


def heading_level(block: QTextBlock) -> int | None:
    level = block.blockFormat().headingLevel()
    return level if level in HEADING_SCALE else None


def line_alignment(align: object, direction: object) -> Qt.AlignmentFlag:
    """Qt's alignment for a line with Quill's ``align`` and ``direction``: none is the
    line's start (left, or right in a right-to-left line, as CSS's ``start``), and
    ``"right"`` is the right edge either way (Qt would mirror it in a right-to-left line;
    CSS does not). The page layout and the block format (print, export) both use it."""
    natural = Qt.AlignmentFlag.AlignRight if direction == "rtl" else Qt.AlignmentFlag.AlignLeft
    return _ALIGN.get(str(align), natural)


def is_code_line(block: QTextBlock) -> bool:
    """Whether ``block`` is a line of a code block (plain text: no inline formats)."""
    return style_level(block) == CODE_BLOCK


def style_level(block: QTextBlock) -> int | None:
    """What styles a block's characters: its heading level, :data:`CODE_BLOCK`, or None."""
    level = heading_level(block)
    if level is None and block.blockFormat().hasProperty(BLOCK_PROPS["code-block"]):
        return CODE_BLOCK
    return level


def block_attrs(block: QTextBlock) -> Attrs:
    """The Quill block attributes of a Qt block (only the ones that are set)."""
    attrs: Attrs = {}
    level = heading_level(block)
    if level is not None:
        attrs["header"] = level
    kind = block_list_kind(block)
    if kind is not None:
        attrs["list"] = kind
    bfmt = block.blockFormat()
    for key, prop in BLOCK_PROPS.items():
        if bfmt.hasProperty(prop):
            value = bfmt.property(prop)
            if value not in (None, "", False, 0):
                attrs[key] = value
    return attrs


def with_nulls(attrs: Attrs, keys: frozenset[str]) -> Attrs:
    """``attrs`` restricted to ``keys``, with None for every absent key.

    A Yjs/pycrdt ``format`` with None removes the attribute, and formatting with the value
    already present produces no update at all, so this "assert the full state" form is
    cheap to send and makes the CRDT equal to Qt whatever it held before.
    """
    return {key: attrs.get(key) for key in sorted(keys)}


def normalize(attrs: Attrs | None) -> Attrs:
    """Attributes as the CRDT stores them: no None values, ``header`` as int (Yjs numbers
    come back from pycrdt as float)."""
    out: Attrs = {}
    for key, value in (attrs or {}).items():
        if value is None:
            continue
        out[key] = int(value) if key in ("header", "indent") else value
    return out


# ---------------------------------------------------------------------------------- writing


def base_weight(level: int | None) -> int:
    return HEADING_WEIGHT if level in HEADING_SCALE else NORMAL_WEIGHT


def char_format(attrs: Attrs | None, level: int | None, base_point_size: float) -> QTextCharFormat:
    """A complete char format for text with Quill ``attrs`` inside a block of heading ``level``."""
    fmt = QTextCharFormat()
    return merge_inline(fmt, with_nulls(normalize(attrs), INLINE_ATTRS), level, base_point_size)


def merge_inline(
    fmt: QTextCharFormat, attrs: Attrs, level: int | None, base_point_size: float
) -> QTextCharFormat:
    """A copy of ``fmt`` with the inline keys present in ``attrs`` set (None = remove).

    Keys absent from ``attrs`` keep their current state; the visible styling (size,
    family, colours, script) is re-derived from the Quill values and the block's ``level``
    (:func:`style_level`) either way, so this also restyles text that moved into another
    block.
    """
    out = QTextCharFormat(fmt)
    bold = attrs["bold"] is not None if "bold" in attrs else fmt.fontWeight() >= BOLD_WEIGHT
    out.setFontWeight(BOLD_WEIGHT if bold else base_weight(level))
    if "italic" in attrs:
        out.setFontItalic(attrs["italic"] is not None)
    if "underline" in attrs:
        out.setFontUnderline(attrs["underline"] is not None)
    if "strike" in attrs:
        out.setFontStrikeOut(attrs["strike"] is not None)
    if "link" in attrs:
        url = attrs["link"]
        if url:
            out.setAnchor(True)
            out.setAnchorHref(str(url))
        else:
            out.setAnchor(False)
            out.clearProperty(QTextFormat.Property.AnchorHref)
    for key, prop in INLINE_PROPS.items():
        if key not in attrs:
            continue
        value = attrs[key]
        if value in (None, "", False):
            out.clearProperty(prop)
        else:
            out.setProperty(prop, value)
    _derive_looks(out, level, base_point_size)
    return out


def _prop(fmt: QTextFormat, key: str) -> Any:
    prop = INLINE_PROPS[key]
    return fmt.property(prop) if fmt.hasProperty(prop) else None


def parse_color(value: Any) -> QColor | None:
    """A CSS colour as Quill stores it (``#rrggbb``, ``#rgb``, a name, ``rgb(r, g, b)``)."""
    if not isinstance(value, str):
        return None
    text = value.strip()
    if text.startswith("rgb"):
        inside = text[text.find("(") + 1 : text.rfind(")")]
        try:
            parts = [int(float(p)) for p in inside.split(",")[:3]]
        except ValueError:
            return None
        return QColor(*parts) if len(parts) == 3 else None
    color = QColor(text)
    return color if color.isValid() else None


def _derive_looks(out: QTextCharFormat, level: int | None, base: float) -> None:
    """Visible styling from the Quill values kept in ``out`` and the block's level."""
    size = _prop(out, "size")
    if size in SIZE_SCALE:
        out.setFontPointSize(base * SIZE_SCALE[size])
    elif level in HEADING_SCALE:
        out.setFontPointSize(base * HEADING_SCALE[level])
    else:
        out.clearProperty(QTextFormat.Property.FontPointSize)
    code = bool(_prop(out, "code"))
    font = _prop(out, "font")
    if code or level == CODE_BLOCK or font == "monospace":
        out.setFontFamilies(FONT_FAMILIES["monospace"])
    elif font in FONT_FAMILIES:
        out.setFontFamilies(FONT_FAMILIES[font])
    else:
        out.clearProperty(QTextFormat.Property.FontFamilies)
    color = parse_color(_prop(out, "color"))
    highlight = parse_color(_prop(out, "background"))
    if color is None and highlight is not None and highlight.lightness() > 128:
        color = QColor("#202124")  # readable on a light highlight on a dark page too
    if color is not None:
        out.setForeground(color)
    elif out.isAnchor() and out.anchorHref():
        out.setForeground(LINK_COLOR)
    else:
        out.clearForeground()
    background = parse_color(_prop(out, "background"))
    if background is not None:
        out.setBackground(background)
    elif code:
        out.setBackground(CODE_BACKGROUND)
    else:
        out.clearBackground()
    script = _prop(out, "script")
    if script == "super":
        out.setVerticalAlignment(QTextCharFormat.VerticalAlignment.AlignSuperScript)
    elif script == "sub":
        out.setVerticalAlignment(QTextCharFormat.VerticalAlignment.AlignSubScript)
    else:
        out.clearProperty(QTextFormat.Property.TextVerticalAlignment)


def base_point_size(qdoc: QTextDocument) -> float:
    size = qdoc.defaultFont().pointSizeF()
    return size if size > 0 else float(QFont().pointSizeF())


def restyle_range(
    qdoc: QTextDocument, start: int, end: int, attrs: Attrs, level: int | None
) -> None:
    """Apply inline ``attrs`` (None = remove) to ``[start, end)``, which lies in one block.

    Works fragment by fragment with ``setCharFormat`` because removing a property (a link's
    colour, a heading's size) is impossible with ``mergeCharFormat``.
    """
    if start >= end:
        return
    size = base_point_size(qdoc)
    block = qdoc.findBlock(start)
    cursor = QTextCursor(qdoc)
    pieces: list[tuple[int, int, QTextCharFormat]] = []
    for frag in walk.fragments(block):
        fs, fe = frag.position(), frag.position() + frag.length()
        s, e = max(fs, start), min(fe, end)
        if s < e:
            pieces.append((s, e, merge_inline(frag.charFormat(), attrs, level, size)))
    for s, e, fmt in pieces:
        cursor.setPosition(s)
        cursor.setPosition(e, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(fmt)


def set_block_attrs(qdoc: QTextDocument, block: QTextBlock, attrs: Attrs) -> None:
    """Apply block ``attrs`` (keys present only; None = remove) to ``block``."""
    props = {k: v for k, v in attrs.items() if k in BLOCK_PROPS}
    if props:
        _set_block_props(qdoc, block, props)
        block = qdoc.findBlock(block.position())
    if "header" in attrs:
        _set_heading(qdoc, block, attrs["header"])
    if "list" in attrs:
        _set_list(qdoc, block, attrs["list"])


#: Qt block-format writes made so far (see :func:`block_format_calls`), lines walked
#: to number items (see :func:`list_walk_steps`).
_CALLS = {"block_format": 0, "list_walk": 0}
#: A block's fragments: (start, end, char format index).
_Fragments = list[tuple[int, int, int]]


def block_format_calls() -> int:
    """How many Qt block-format writes this module has made (each ``setBlockFormat``, each
    block joining a list), a count tests read to see per-line work: a collaborator's paste of
    2,000 headings made one or two per line and now makes one per run of equal lines."""
    return _CALLS["block_format"]


def list_walk_steps() -> int:
    """How many lines :func:`ordered_number` has walked to count runs of list lines, a
    count tests read to see that numbers are found once per run and list structure, not
    once per painted item or keystroke."""
    return _CALLS["list_walk"]


def _count_block_format_call(n: int = 1) -> None:
    _CALLS["block_format"] += n


def _set_block_format(cursor: QTextCursor, bfmt: QTextBlockFormat) -> None:
    _count_block_format_call()
    cursor.setBlockFormat(bfmt)


def set_block_attrs_in_runs(qdoc: QTextDocument, items: list[tuple[int, Attrs]]) -> None:
    """:func:`set_block_attrs` for many blocks, ``(block position, attrs)`` in document
    order, written once per run of adjacent blocks with equal attributes.

    Why: a collaborator's 1 MB paste of 13,000 headings or list items set every line in Qt
    on its own (a block format, a restyle of its characters, a block char format: ~0.2 ms
    of Python each). Here :func:`set_block_attrs` runs on the first block of a run, and
    on any later one with a char format the run has not met yet. What it made of such a
    block is what it makes of every block that starts from the same block format with the
    same attributes: the block format it wrote, and each char format and block char format
    it replaced by another (it reads nothing else but, for a list, the list of the block
    before, which for a run's other blocks is the first one's). The run's other blocks
    then get those with one ``setBlockFormat``, one ``setCharFormat`` per span of
    characters getting one format (often the whole run) and one ``setBlockCharFormat`` per
    span of blocks getting one.

    Qt walks a whole list for every block that joins it (``QTextBlockGroup::
    blockInserted`` marks every item dirty: 13,000 items took ~10 s, by every public
    route: a selection's block format, ``createList`` over a selection, blocks inserted
    with the list's format, ``QTextList.add``, HTML or Markdown), so a long run of list
    items goes into adjacent lists of :data:`LIST_CHUNK` items, drawn the same: the
    widget paints a bullet, a box or :func:`ordered_number` per item, and the exports
    number each list from where the one before it ends.
    """
    # By (block format index before, attributes): what char formats and block char
    # formats (by index) became, as (index, format).
    learned: dict[tuple[Any, ...], tuple[_FormatMap, _FormatMap]] = {}
    cursor = QTextCursor(qdoc)
    i, n = 0, len(items)
    while i < n:
        pos, attrs = items[i]
        block = qdoc.findBlock(pos)
        state = block.blockFormatIndex()
        try:
            chars, block_chars = learned.setdefault((state, tuple(sorted(attrs.items()))), ({}, {}))
        except TypeError:  # an unhashable value from a foreign client: this block alone
            set_block_attrs(qdoc, block, attrs)
            i += 1
            continue
        before = _fragments(block)
        block_char = block.charFormatIndex()
        set_block_attrs(qdoc, block, attrs)
        block = qdoc.findBlock(pos)
        _learn_char_formats(chars, before, block)
        block_chars.setdefault(block_char, (block.charFormatIndex(), block.charFormat()))
        run: list[tuple[QTextBlock, _Fragments]] = []
        j = i + 1
        nxt = block.next()
        while j < n and nxt.isValid():
            at, line_attrs = items[j]
            if line_attrs is not attrs and line_attrs != attrs:
                break
            if nxt.blockFormatIndex() != state or nxt.charFormatIndex() not in block_chars:
                break
            if nxt.position() != at:
                break
            frags: _Fragments = []
            # Qt's iterator by hand, not walk.fragments: whether it stopped early is read
            # from it after the loop (it.atEnd()).
            it = nxt.begin()
            while not it.atEnd():
                frag = it.fragment()
                idx = frag.charFormatIndex()
                if idx not in chars:
                    break  # a char format this run has not met: the next run starts here
                start = frag.position()
                frags.append((start, start + frag.length(), idx))
                it += 1
            if not it.atEnd():
                break
            run.append((nxt, frags))
            j += 1
            nxt = nxt.next()
        if run and attrs.get("list") and run[-1][0].next().textList() is not None:
            # The run's last block might join a list after it: the per-block code decides.
            run.pop()
            j -= 1
        if run:
            _copy_block_formats(cursor, block, run, chars, block_chars)
        i = j


_FormatMap = dict[int, tuple[int, QTextCharFormat]]


def _fragments(block: QTextBlock) -> _Fragments:
    frags: _Fragments = []
    for frag in walk.fragments(block):
        start = frag.position()
        frags.append((start, start + frag.length(), frag.charFormatIndex()))
    return frags


def _learn_char_formats(chars: _FormatMap, before: _Fragments, block: QTextBlock) -> None:
    """What formatting ``block`` made of each char format it had (``before``)."""
    after: list[tuple[int, int, QTextCharFormat]] = []
    for frag in walk.fragments(block):
        after.append((frag.position() + frag.length(), frag.charFormatIndex(), frag.charFormat()))
    k = 0
    for start, _, idx in before:
        while after[k][0] <= start:
            k += 1
        chars.setdefault(idx, (after[k][1], after[k][2]))


def _copy_block_formats(
    cursor: QTextCursor,
    model: QTextBlock,
    run: list[tuple[QTextBlock, _Fragments]],
    chars: _FormatMap,
    block_chars: _FormatMap,
) -> None:
    """Give the blocks of ``run`` (which had ``model``'s block format before it was
    formatted) what formatting made of ``model``: characters, block char formats, block
    format."""
    old_block_chars = [block.charFormatIndex() for block, _ in run]
    # Characters: one setCharFormat per span of adjacent characters getting one format. A
    # span over a line's end also sets the next block's char format (the format of the
    # separator before a block is its block char format): those are set after it.
    spans: list[tuple[int, int, int, QTextCharFormat]] = []
    crossed: set[int] = set()  # the run's blocks whose separator before a span covers
    for k, (_, frags) in enumerate(run):
        for start, end, idx in frags:
            new_idx, fmt = chars[idx]
            if new_idx == idx:
                continue
            if spans and spans[-1][2] == new_idx and start - 1 <= spans[-1][1]:
                if start != spans[-1][1]:
                    crossed.add(k)
                spans[-1] = (spans[-1][0], end, new_idx, fmt)
            else:
                spans.append((start, end, new_idx, fmt))
    for start, end, _, fmt in spans:
        cursor.setPosition(start)
        cursor.setPosition(end, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(fmt)
    # Block char formats: one setBlockCharFormat per span of blocks getting one.
    pending: list[Any] = []  # [first block, last block number in the run, index, format]
    for k, (block, _) in enumerate(run):
        old = old_block_chars[k]
        new_idx, fmt = block_chars[old]
        if new_idx == old and k not in crossed:
            continue
        if pending and pending[2] == new_idx and pending[1] == k - 1:
            pending[1] = k
            continue
        if pending:
            _set_block_char_format(cursor, pending[0], run[pending[1]][0], pending[3])
        pending = [block, k, new_idx, fmt]
    if pending:
        _set_block_char_format(cursor, pending[0], run[pending[1]][0], pending[3])
    if model.blockFormatIndex() == run[0][0].blockFormatIndex():
        return
    bfmt = model.blockFormat()
    blocks = [block for block, _ in run]
    lst = model.textList()
    if lst is None or lst.count() + len(blocks) <= LIST_CHUNK:
        _set_blocks_format(cursor, blocks, bfmt)
        return
    # A long list: Qt walks a whole list for every block that joins it, so the run's
    # items go into lists of LIST_CHUNK items (drawn the same: a bullet, a box or the
    # number of the item in its run of ordered lines, see ordered_number).
    room = max(0, LIST_CHUNK - lst.count())
    if room:
        _set_block_format(_cursor_over(cursor, blocks[0], blocks[room - 1]), bfmt)
    for start in range(room, len(blocks), LIST_CHUNK):
        chunk = blocks[start : start + LIST_CHUNK]
        fresh = QTextCursor(chunk[0]).createList(lst.format())
        _count_block_format_call()
        bfmt.setObjectIndex(fresh.objectIndex())
        _set_blocks_format(cursor, chunk, bfmt)


def _cursor_over(cursor: QTextCursor, first: QTextBlock, last: QTextBlock) -> QTextCursor:
    """``cursor`` selecting from the start of ``first`` to the start of ``last``."""
    cursor.setPosition(first.position())
    cursor.setPosition(last.position(), QTextCursor.MoveMode.KeepAnchor)
    return cursor


def _set_blocks_format(
    cursor: QTextCursor, blocks: list[QTextBlock], bfmt: QTextBlockFormat
) -> None:
    _set_block_format(_cursor_over(cursor, blocks[0], blocks[-1]), bfmt)


def _set_block_char_format(
    cursor: QTextCursor, first: QTextBlock, last: QTextBlock, fmt: QTextCharFormat
) -> None:
    cursor.setPosition(first.position())
    cursor.setPosition(last.position(), QTextCursor.MoveMode.KeepAnchor)
    cursor.setBlockCharFormat(fmt)


def _set_block_props(qdoc: QTextDocument, block: QTextBlock, props: Attrs) -> None:
    before = style_level(block)
    bfmt = block.blockFormat()
    changed = False
    for key, value in props.items():
        prop = BLOCK_PROPS[key]
        if key == "indent" and value is not None:
            try:
                value = max(0, min(MAX_INDENT, int(value)))
            except (TypeError, ValueError):
                value = None
        current = bfmt.property(prop) if bfmt.hasProperty(prop) else None
        if value in (None, "", False, 0):
            if current is not None:
                bfmt.clearProperty(prop)
                changed = True
        elif current != value:
            bfmt.setProperty(prop, value)
            changed = True
    if not changed:
        return
    align = bfmt.property(BLOCK_PROPS["align"]) if bfmt.hasProperty(BLOCK_PROPS["align"]) else None
    direction = bfmt.property(BLOCK_PROPS["direction"])
    bfmt.setAlignment(line_alignment(align, direction))
    if direction == "rtl":  # Qt's rich layout (print, export) lays the line out right to left
        bfmt.setLayoutDirection(Qt.LayoutDirection.RightToLeft)
    else:
        bfmt.clearProperty(QTextFormat.Property.LayoutDirection)
    if bfmt.hasProperty(BLOCK_PROPS["code-block"]):
        bfmt.setBackground(CODE_BACKGROUND)  # QPlainTextEdit paints block backgrounds
    else:
        bfmt.clearBackground()
    cursor = QTextCursor(block)
    _set_block_format(cursor, bfmt)
    block = cursor.block()
    after = style_level(block)
    if after != before:  # code-block on/off: restyle the line's characters
        start = block.position()
        restyle_range(qdoc, start, start + block.length() - 1, {}, after)
        size = base_point_size(qdoc)
        cursor.setBlockCharFormat(merge_inline(block.charFormat(), {}, after, size))


def _set_heading(qdoc: QTextDocument, block: QTextBlock, header: Any) -> None:
    level = int(header) if header is not None and int(header) in HEADING_SCALE else None
    if heading_level(block) == level:
        return
    cursor = QTextCursor(block)
    bfmt = block.blockFormat()
    bfmt.setHeadingLevel(level or 0)
    _set_block_format(cursor, bfmt)
    block = cursor.block()
    start = block.position()
    styling = style_level(block)
    restyle_range(qdoc, start, start + block.length() - 1, {}, styling)
    restyle_block_char_format(qdoc, block)


def restyle_block_char_format(qdoc: QTextDocument, block: QTextBlock) -> None:
    """Give ``block`` the block char format of its own level (what an empty line shows
    and what is typed there), unless it has it already."""
    own = merge_inline(block.charFormat(), {}, style_level(block), base_point_size(qdoc))
    if own != block.charFormat():
        QTextCursor(block).setBlockCharFormat(own)


def _group(kind: str | None) -> str | None:
    """Kinds that share one Qt list: checked and unchecked items are one checklist."""
    return "check" if kind in ("checked", "unchecked") else kind


def _set_list(qdoc: QTextDocument, block: QTextBlock, kind: Any) -> None:
    kind = kind if kind in _LIST_STYLE else None
    if block_list_kind(block) == kind:
        return
    current = text_list(block)
    if current is not None and list_kind(current) != _group(kind):
        _leave_list(block, current)
        block = qdoc.findBlock(block.position())
        current = None
    _set_marker(block, kind)
    block = qdoc.findBlock(block.position())
    if kind is None or current is not None:
        return
    group = _group(kind)
    # Join the list of a neighbour of the kind, unless it is full: lists of a kind next to
    # each other look and number as one, and Qt walks a whole list for each block that
    # joins it (making 2,000 lines a list one by one took 4.5 s).
    target = None
    for near in (block.previous(), block.next()):
        lst = text_list(near) if near.isValid() else None
        if lst is not None and list_kind(lst) == group and lst.count() < LIST_CHUNK:
            target = lst
            break
    if target is None:
        fmt = QTextListFormat()
        fmt.setStyle(_LIST_STYLE[kind])
        target = QTextCursor(block).createList(fmt)
    else:
        target.add(block)
    _count_block_format_call()
    # Join a following run of the kind into one list, unless that makes a long one.
    block = qdoc.findBlock(block.position())
    nxt = block.next()
    other = text_list(nxt) if nxt.isValid() else None
    if (
        other is not None
        and other is not target
        and list_kind(other) == group
        and target.count() + other.count() <= LIST_CHUNK
    ):
        for i in reversed(range(other.count())):
            member = other.item(i)
            other.remove(member)
            target.add(member)
            _count_block_format_call()


def _set_marker(block: QTextBlock, kind: str | None) -> None:
    marker = {
        "checked": QTextBlockFormat.MarkerType.Checked,
        "unchecked": QTextBlockFormat.MarkerType.Unchecked,
    }.get(kind or "", QTextBlockFormat.MarkerType.NoMarker)
    if block.blockFormat().marker() != marker:
        bfmt = block.blockFormat()
        bfmt.setMarker(marker)
        _set_block_format(QTextCursor(block), bfmt)


def _leave_list(block: QTextBlock, lst: QTextList) -> None:
    """Take ``block`` out of ``lst``; the items on one side of it go into a list of their
    own, so that no list has a gap (Quill restarts numbering after a non-list line): the
    fewer of the two sides, as Qt walks a whole list for every item that leaves or joins
    it (turning off the list of a selection from its top moves none)."""
    list_format = QTextListFormat(lst.format())  # an emptied list is deleted at once
    count, index = lst.count(), lst.itemNumber(block)  # items are in document order
    span = range(index) if index < count - 1 - index else range(index + 1, count)
    side = [lst.item(i) for i in span] if 0 < index < count - 1 else []
    lst.remove(block)
    _clear_indent(block)
    if side:
        # Straight into the new list: QTextList.remove would add the list's indent to
        # each item's own (Qt's rich layout, which prints, would indent them further).
        fresh = QTextCursor(side[0]).createList(list_format)
        for member in side[1:]:
            fresh.add(member)
        _count_block_format_call(len(side))


def _clear_indent(block: QTextBlock) -> None:
    cursor = QTextCursor(block)
    fmt = block.blockFormat()
    fmt.setIndent(0)
    fmt.clearProperty(QTextFormat.Property.ObjectIndex)
    _set_block_format(cursor, fmt)


# ---------------------------------------------------------------------------------- snapshot


def document_delta(qdoc: QTextDocument) -> list[tuple[str, Attrs]]:
    """The whole Qt document as Quill-style runs ``[(text, attrs), ...]`` (O(n)).

    Adjacent runs with equal attributes are merged and every ``"\\n"`` is its own run with
    its block attributes, the same shape :func:`crdt_delta` gives for the CRDT, so two
    documents (or a widget and its CRDT) can be compared for identical formatting. An
    image is a U+FFFC run whose attributes also hold ``"image"`` (its URL) and Quill's
    image attributes (what the Markdown writer turns into ``![alt](url)``).
    """
    runs: list[tuple[str, Attrs]] = []
    last = qdoc.lastBlock()
    for block in walk.blocks(qdoc):
        for frag in walk.fragments(block):
            fmt = frag.charFormat()
            attrs = inline_attrs(fmt)
            source = images.source_of(qdoc, fmt) if fmt.isImageFormat() else None
            if source is not None:
                attrs.update(images.image_attrs(fmt))
                attrs[IMAGE_KEY] = source
            _push(runs, frag.text(), attrs)
        if block != last:
            runs.append(("\n", block_attrs(block)))
    return runs


def crdt_delta(diff: list[tuple[Any, Any]]) -> list[tuple[str, Attrs]]:
    """``pycrdt.Text.diff()`` in the shape of :func:`document_delta` (lines split out,
    inline attributes only on text, block attributes only on ``"\\n"``)."""
    runs: list[tuple[str, Attrs]] = []
    for chunk, attrs in diff:
        clean = normalize(attrs)
        text = chunk if isinstance(chunk, str) else EMBED_CHAR
        source = None if isinstance(chunk, str) else image_source(chunk)
        if source is not None:
            keep = {k: v for k, v in clean.items() if k in INLINE_ATTRS or k in IMAGE_ATTRS}
            _push(runs, text, {**keep, IMAGE_KEY: source})
            continue
        parts = text.split("\n")
        for i, part in enumerate(parts):
            if part:
                _push(runs, part, {k: v for k, v in clean.items() if k in INLINE_ATTRS})
            if i < len(parts) - 1:
                runs.append(("\n", {k: v for k, v in clean.items() if k in BLOCK_ATTRS}))
    return runs


def _push(runs: list[tuple[str, Attrs]], text: str, attrs: Attrs) -> None:
    if not text:
        return
    text = text.replace("\u2029", "\n")
    if runs and runs[-1][1] == attrs and runs[-1][0] != "\n" and "\n" not in text:
        runs[-1] = (runs[-1][0] + text, attrs)
    else:
        runs.append((text, attrs))
