"""What changed between two versions ("Show changes" in File ▸ Version history).

Like Google Docs' *Show changes*: the newer version is shown with the text added since the
older one marked as inserted, the text removed marked as deleted (kept in place, so it can
be struck through), and text whose format alone changed marked as such. Pure and Qt-free;
the dialog (:mod:`editor_app.ui.version_history`) draws the marks.

Both versions are content deltas (:func:`editor_app.core.restore.content_delta`): runs of
(string or embed, attributes). They are compared by their *text* at three levels, each
bounded so that a 100,000-character document diffs in a small fraction of a second:

1. paragraphs (a run of clusters up to and including its ``\\n``) — most of a long
   document is matched here, in one :class:`difflib.SequenceMatcher` over whole
   paragraphs;
2. words within the paragraphs that differ: tokens are words, runs of spaces, single
   punctuation marks, ``\\n`` and embeds;
3. characters within a replaced run of words, when they are mostly alike ("colour" →
   "color" shows one deleted letter, "cat" → "dog" a deleted and an inserted word).

The unit of comparison is a *cluster*: a code point with the combining marks, variation
selectors, emoji modifiers, zero-width-joined emoji and Hangul jamo that follow it, so a
diff never separates "e" from its accent or splits a family emoji. Where text matches but
its attributes differ, the part is a ``format`` change (it has both sides' attributes).
Each matcher runs with ``autojunk=False`` over the part left once the common start and end
are taken off; a part still too large for it falls back to "all deleted, all inserted".

Invariant (tests/app/test_version_diff.py): the ``equal``, ``insert`` and ``format`` parts
(new attributes) read exactly like the newer version; ``equal``, ``delete`` and ``format``
(old attributes) like the older one.
"""

from __future__ import annotations

import bisect
import json
import re
import unicodedata
import zlib
from collections.abc import Callable, Hashable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from typing import Any, Literal

import pycrdt

from .offsets import utf16_len
from .presence import default_color
from .restore import Delta
from .schema import TITLE
from .schema import content as content_of
from .schema import meta as meta_of
from .text_ops import Attrs

__all__ = [
    "Change",
    "Part",
    "author_color",
    "changes_document",
    "diff_versions",
    "new_side",
    "old_side",
    "spans16",
]

Change = Literal["equal", "insert", "delete", "format"]

#: Above this many comparisons (len(a) * len(b), after the common start and end are taken
#: off) a word or character matcher is not run: the part is shown deleted and inserted.
WORD_LIMIT = 40_000
CHAR_LIMIT = 250_000
#: A replaced run of words is shown letter by letter only when at least this alike.
CHAR_RATIO = 0.6

_ZWJ = "\u200d"
#: Embeds stand in the compared text as private-use characters from here on.
_EMBEDS = 0x100000


@dataclass(frozen=True)
class Part:
    """A run of the diff: ``value`` (a string, or one embed) with the attributes it has in
    the version it belongs to (the newer one, the older one for ``delete``); a ``format``
    part also has its attributes in the older version."""

    change: Change
    value: Any
    attrs: Attrs | None
    old_attrs: Attrs | None = None


class _Version:
    """A delta as one string of units (a code point each; an embed as one private-use
    character standing for its value) with each unit's style, and its runs."""

    def __init__(self, delta: Delta, styles: dict[str, int], embeds: dict[str, str]) -> None:
        keys: list[str] = []
        self.styles: list[int] = []
        self.starts: list[int] = []
        self.runs: list[tuple[Any, Attrs | None]] = []
        at = 0
        for value, attrs in delta:
            style = styles.setdefault(_json(attrs or {}), len(styles))
            if isinstance(value, str):
                if not value:
                    continue
                keys.append(value)
            else:
                keys.append(embeds.setdefault(_json(value), chr(_EMBEDS + len(embeds))))
            size = len(keys[-1])
            self.starts.append(at)
            self.runs.append((value, attrs))
            self.styles.extend([style] * size)
            at += size
        self.text = "".join(keys)

    def pieces(self, start: int, end: int) -> Iterator[tuple[Any, Attrs | None]]:
        """Units ``start`` to ``end`` as (string or embed, attributes), run by run."""
        run = bisect.bisect_right(self.starts, start) - 1
        while start < end:
            value, attrs = self.runs[run]
            run_start = self.starts[run]
            stop = min(end, run_start + (len(value) if isinstance(value, str) else 1))
            yield (
                (value[start - run_start : stop - run_start] if isinstance(value, str) else value),
                attrs,
            )
            start = stop
            run += 1

    def tokens(self, spans: Sequence[Span]) -> list[Hashable]:
        """Keys to match words by: a word by its text (one that only changed format is a
        format change), a space or mark by its text and format (so an inserted formatted
        space is not taken for a reformatted one)."""
        text = self.text
        return [
            text[a:b] if text[a].isalnum() else (text[a:b], *self.styles[a:b]) for a, b in spans
        ]

    def letters(self, spans: Sequence[Span]) -> list[Hashable]:
        """Keys to match letters by, within words that changed: text and format."""
        return [(self.text[a:b], *self.styles[a:b]) for a, b in spans]


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=repr)


def _joins(ch: str, before: str) -> bool:
    """Whether code point ``ch`` belongs to the cluster that ends with ``before``."""
    if before == "\n":
        return False
    if before == _ZWJ:
        return True
    code = ord(ch)
    return code >= 0x300 and (
        unicodedata.category(ch) in ("Mn", "Mc", "Me")
        or ch == _ZWJ
        or 0xFE00 <= code <= 0xFE0F  # variation selectors
        or 0x1F3FB <= code <= 0x1F3FF  # skin tones
        or 0xE0020 <= code <= 0xE007F  # emoji tag sequences
        or 0x1160 <= code <= 0x11FF  # Hangul medial vowels and final consonants
        or 0xD7B0 <= code <= 0xD7FF
        or (0x1F1E6 <= code <= 0x1F1FF and 0x1F1E6 <= ord(before) <= 0x1F1FF)
    )


#: Spans of text: (start, end) in a version's units.
Span = tuple[int, int]
#: What to do with a replaced stretch: (i1, i2, j1, j2, old span, new span).
Replace = Callable[[int, int, int, int, Span, Span], None]

#: Words, runs of spaces, and single other characters (``\n``, punctuation, embeds).
_TOKEN = re.compile(r"\w+|[^\S\n]+|.", re.DOTALL)


def _paragraphs(text: str) -> list[Span]:
    spans: list[Span] = []
    at = 0
    for line in text.split("\n"):
        end = min(at + len(line) + 1, len(text))
        if end > at:
            spans.append((at, end))
        at = end
    return spans


def _words(text: str, start: int, end: int) -> list[Span]:
    """The tokens of ``text[start:end]``, clusters kept whole (a word goes on across a
    combining mark)."""
    spans: list[Span] = []
    glued = False  # the last token took a combining mark: a word goes on after it
    for match in _TOKEN.finditer(text, start, end):
        a, b = match.span()
        first = text[a]
        if spans and (
            (glued and first.isalnum()) or (first >= "\u0300" and _joins(first, text[a - 1]))
        ):
            spans[-1] = (spans[-1][0], b)
            glued = text[spans[-1][0]].isalnum()
        else:
            spans.append((a, b))
            glued = False
    return spans


def _letters(text: str, start: int, end: int) -> list[Span]:
    """The clusters (user-perceived characters) of ``text[start:end]``."""
    spans: list[Span] = []
    for at in range(start, end):
        if spans and _joins(text[at], text[at - 1]):
            spans[-1] = (spans[-1][0], at + 1)
        else:
            spans.append((at, at + 1))
    return spans


Opcode = tuple[str, int, int, int, int]


def _opcodes(
    a: Sequence[Hashable], b: Sequence[Hashable], limit: int | None
) -> list[Opcode] | None:
    """SequenceMatcher's opcodes for ``a`` → ``b``, the common start and end taken off
    first; None when the rest needs more than ``limit`` comparisons."""
    n, m = len(a), len(b)
    head = 0
    while head < min(n, m) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(n, m) - head and a[n - 1 - tail] == b[m - 1 - tail]:
        tail += 1
    middle_a, middle_b = a[head : n - tail], b[head : m - tail]
    if limit is not None and len(middle_a) * len(middle_b) > limit:
        return None
    ops: list[Opcode] = [("equal", 0, head, 0, head)] if head else []
    if middle_a and middle_b:
        matcher = SequenceMatcher(None, middle_a, middle_b, autojunk=False)
        ops.extend(
            (tag, i1 + head, i2 + head, j1 + head, j2 + head)
            for tag, i1, i2, j1, j2 in matcher.get_opcodes()
        )
    elif middle_a:
        ops.append(("delete", head, n - tail, head, head))
    elif middle_b:
        ops.append(("insert", head, head, head, m - tail))
    if tail:
        ops.append(("equal", n - tail, n, m - tail, m))
    return ops


def _common_ends(a: _Version, span_a: Span, b: _Version, span_b: Span) -> tuple[int, int]:
    """How many units (text and format) the two spans have in common at their start and
    at their end, cut back to whole words (the start ends after a space, the end starts
    with one)."""
    x, y = a.text[span_a[0] : span_a[1]], b.text[span_b[0] : span_b[1]]
    xs, ys = a.styles[span_a[0] : span_a[1]], b.styles[span_b[0] : span_b[1]]
    limit = min(len(x), len(y))
    head = _longest(lambda k: x[:k] == y[:k] and xs[:k] == ys[:k], limit)
    tail = _longest(
        lambda k: x[len(x) - k :] == y[len(y) - k :] and xs[len(x) - k :] == ys[len(y) - k :],
        limit - head,
    )
    head = max(x.rfind(" ", 0, head), x.rfind("\n", 0, head)) + 1
    if tail:
        found = [at for at in (x.find(" ", len(x) - tail), x.find("\n", len(x) - tail)) if at >= 0]
        tail = len(x) - min(found) if found else 0
    return head, tail


def _longest(same: Callable[[int], bool], limit: int) -> int:
    """The largest k <= limit with same(k), for a ``same`` true up to some k (bisection)."""
    low, high = 0, limit
    while low < high:
        middle = (low + high + 1) // 2
        if same(middle):
            low = middle
        else:
            high = middle - 1
    return low


def _keys(text: str, spans: Sequence[Span]) -> list[str]:
    return [text[a:b] for a, b in spans]


def _span(spans: Sequence[Span], first: int, stop: int) -> Span:
    """From the start of ``spans[first]`` to the end of ``spans[stop - 1]``."""
    return (spans[first][0], spans[stop - 1][1]) if stop > first else (0, 0)


class _Diff:
    """The diff of two versions, collected into parts as it is found."""

    def __init__(self, old: Delta, new: Delta) -> None:
        styles: dict[str, int] = {}
        embeds: dict[str, str] = {}
        self.old = _Version(old, styles, embeds)
        self.new = _Version(new, styles, embeds)
        self.parts: list[Part] = []
        self._pending: list[str] = []
        self._head: tuple[Change, Attrs | None, Attrs | None] | None = None

    # -- output -------------------------------------------------------------------------------
    def _put(
        self, change: Change, value: Any, attrs: Attrs | None, old_attrs: Attrs | None
    ) -> None:
        if not isinstance(value, str):
            self._flush()
            self.parts.append(Part(change, value, attrs, old_attrs))
        elif self._head == (change, attrs, old_attrs):
            self._pending.append(value)
        else:
            self._flush()
            self._head = (change, attrs, old_attrs)
            self._pending.append(value)

    def _flush(self) -> None:
        if self._head is not None:
            change, attrs, old_attrs = self._head
            self.parts.append(Part(change, "".join(self._pending), attrs, old_attrs))
        self._head, self._pending = None, []

    def done(self) -> list[Part]:
        self._flush()
        return self.parts

    def deleted(self, start: int, end: int) -> None:
        for value, attrs in self.old.pieces(start, end):
            self._put("delete", value, attrs, None)

    def inserted(self, start: int, end: int) -> None:
        for value, attrs in self.new.pieces(start, end):
            self._put("insert", value, attrs, None)

    def replaced(self, old: Span, new: Span) -> None:
        self.deleted(*old)
        self.inserted(*new)

    def matched(self, old_start: int, new_start: int, size: int) -> None:
        """Equal text: equal, or a format change where the attributes differ."""
        old_styles = self.old.styles[old_start : old_start + size]
        new_styles = self.new.styles[new_start : new_start + size]
        if old_styles == new_styles:
            for value, attrs in self.new.pieces(new_start, new_start + size):
                self._put("equal", value, attrs, None)
            return
        at = 0
        while at < size:  # groups of one old and one new style
            stop = at + 1
            while (
                stop < size
                and old_styles[stop] == old_styles[at]
                and new_styles[stop] == new_styles[at]
            ):
                stop += 1
            old_attrs = next(self.old.pieces(old_start + at, old_start + at + 1))[1]
            for value, attrs in self.new.pieces(new_start + at, new_start + stop):
                if old_styles[at] == new_styles[at]:
                    self._put("equal", value, attrs, None)
                else:
                    self._put("format", value, attrs, old_attrs)
            at = stop

    # -- matching -----------------------------------------------------------------------------
    def run(self) -> list[Part]:
        old_text, new_text = self.old.text, self.new.text
        olds, news = _paragraphs(old_text), _paragraphs(new_text)
        ops = _opcodes(_keys(old_text, olds), _keys(new_text, news), limit=None)
        assert ops is not None

        def paragraphs(i1: int, i2: int, j1: int, j2: int, old: Span, new: Span) -> None:
            if self.words(old, new):
                return
            if i2 - i1 != j2 - j1:
                self.replaced(old, new)
                return
            for old_p, new_p in zip(olds[i1:i2], news[j1:j2], strict=True):  # one by one
                if not self.words(old_p, new_p):
                    self.replaced(old_p, new_p)

        self.walk(ops, olds, news, paragraphs)
        return self.done()

    def walk(self, ops: list[Opcode], olds: list[Span], news: list[Span], replace: Replace) -> None:
        """Carry out ``ops`` over the spans: equal parts match, inserted and deleted ones
        are replaced, and ``replace`` looks closer at replaced ones."""
        for tag, i1, i2, j1, j2 in ops:
            old, new = _span(olds, i1, i2), _span(news, j1, j2)
            if tag == "equal":
                self.matched(old[0], new[0], old[1] - old[0])
            elif tag != "replace":
                self.replaced(old, new)
            else:
                replace(i1, i2, j1, j2, old, new)

    def words(self, old: Span, new: Span) -> bool:
        """Word by word (then letter by letter); False if it is too large to do so."""
        head, tail = _common_ends(self.old, old, self.new, new)
        old_mid, new_mid = (old[0] + head, old[1] - tail), (new[0] + head, new[1] - tail)
        olds = _words(self.old.text, *old_mid)
        news = _words(self.new.text, *new_mid)
        ops = _opcodes(self.old.tokens(olds), self.new.tokens(news), WORD_LIMIT)
        if ops is None:
            return False
        self.matched(old[0], new[0], head)
        self.walk(ops, olds, news, lambda _i1, _i2, _j1, _j2, o, n: self.letters(o, n))
        self.matched(old_mid[1], new_mid[1], tail)
        return True

    def letters(self, old: Span, new: Span) -> None:
        """Letter by letter when the two are mostly alike, else deleted and inserted."""
        if (old[1] - old[0]) * (new[1] - new[0]) <= CHAR_LIMIT:
            olds = _letters(self.old.text, *old)
            news = _letters(self.new.text, *new)
            matcher = SequenceMatcher(
                None, self.old.letters(olds), self.new.letters(news), autojunk=False
            )
            if matcher.ratio() >= CHAR_RATIO:
                for tag, i1, i2, j1, j2 in matcher.get_opcodes():
                    old_span = _span(olds, i1, i2)
                    new_span = _span(news, j1, j2)
                    if tag == "equal":
                        self.matched(old_span[0], new_span[0], old_span[1] - old_span[0])
                    else:
                        self.replaced(old_span, new_span)
                return
        self.replaced(old, new)


def diff_versions(old: Delta | None, new: Delta) -> list[Part]:
    """The changes from ``old`` to ``new`` (content deltas); ``old`` None (the oldest
    version has no earlier one): everything is inserted."""
    diff = _Diff(old or [], new)
    if old is None:
        diff.inserted(0, len(diff.new.text))
        return diff.done()
    return diff.run()


def _merged(runs: Iterable[tuple[Any, Attrs | None]]) -> list[tuple[Any, Attrs | None]]:
    delta: list[tuple[Any, Attrs | None]] = []
    for value, attrs in runs:
        if isinstance(value, str) and delta and isinstance(delta[-1][0], str):
            if delta[-1][1] == attrs:
                delta[-1] = (delta[-1][0] + value, attrs)
                continue
        delta.append((value, attrs))
    return delta


def new_side(parts: Iterable[Part]) -> list[tuple[Any, Attrs | None]]:
    """The newer version's delta, read back from the diff."""
    return _merged((p.value, p.attrs) for p in parts if p.change != "delete")


def old_side(parts: Iterable[Part]) -> list[tuple[Any, Attrs | None]]:
    """The older version's delta, read back from the diff."""
    return _merged(
        (p.value, p.old_attrs if p.change == "format" else p.attrs)
        for p in parts
        if p.change != "insert"
    )


def _len16(value: Any) -> int:
    return utf16_len(value) if isinstance(value, str) else 1


def spans16(parts: Iterable[Part]) -> list[tuple[Change, int, int]]:
    """Where the changes are in :func:`changes_document`'s text, as the editor's page
    counts (UTF-16 units, an embed one): (change, start, length), equal text left out,
    adjacent parts of one kind joined."""
    spans: list[tuple[Change, int, int]] = []
    at = 0
    for part in parts:
        length = _len16(part.value)
        if part.change != "equal" and length:
            if spans and spans[-1][0] == part.change and sum(spans[-1][1:]) == at:
                spans[-1] = (part.change, spans[-1][1], spans[-1][2] + length)
            else:
                spans.append((part.change, at, length))
        at += length
    return spans


def changes_document(parts: Iterable[Part], doc_title: str = "") -> pycrdt.Doc[Any]:
    """A document that reads like the diff: every part in order with its attributes
    (deleted text included, where it was), titled ``doc_title``; to be shown read-only."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content_of(doc)
    with doc.transaction():
        for part in parts:
            # Attributes stated in full (even none), so nothing inherits its neighbour's.
            attrs = dict(part.attrs or {})
            if isinstance(part.value, str):
                text.insert(len(text), part.value, attrs)
            else:
                text.insert_embed(len(text), part.value, attrs)
        if doc_title:
            meta_of(doc)[TITLE] = doc_title
    return doc


def author_color(name: str) -> str:
    """A collaborator colour for ``name``, the same on every computer (presence colours
    are chosen per person and not kept in a version, so the name picks one)."""
    return default_color(zlib.crc32(name.encode("utf-8")))
