"""Position conversion between UTF-16 (Qt, Yjs) and pycrdt's UTF-8 byte offsets.

pycrdt 0.14 counts every ``Text`` position, length and event delta in UTF-8 bytes, while
Qt's ``QTextDocument`` and every Yjs peer count UTF-16 code units. A wrong conversion does
not fail loudly: pycrdt silently appends an insert that lands inside a code point, and
panics on a delete that splits one. So every boundary converts through this module.

Two tools:

* plain functions (:func:`utf16_len`, :func:`u16_to_u8`, :func:`u8_to_u16`) for one-off
  conversions over a string you already have (O(n));
* :class:`TextIndex`, which mirrors a text that keeps changing and converts in
  O(log n + chunk) time. Remote keystrokes arrive as byte offsets into a document that
  may be megabytes long; re-encoding the whole text per keystroke would cost milliseconds.

Embeds: a pycrdt/Yjs embed (``Text.insert_embed``, a Quill image) occupies ONE position in
the CRDT (and in Yjs), but ``str(Text)`` leaves it out. We represent an embed by
:data:`EMBED_CHAR` (U+FFFC OBJECT REPLACEMENT CHARACTER, also what Qt uses for inline
objects) and count it as 1 CRDT unit and 1 UTF-16 unit. A *literal* U+FFFC that a foreign
client typed as text is therefore shown as U+FFFD instead (same 3 UTF-8 bytes), see
:func:`editor_app.core.text_ops.delta_to_ops`, so U+FFFC in an index always means "embed".

Positions that fall inside a code point (half a surrogate pair, the middle of a UTF-8
sequence) are rounded down to the start of that code point.
"""

from __future__ import annotations

from collections import deque

#: Stands for one embed (one CRDT unit) in the mirrored text; see module docstring.
EMBED_CHAR = "\ufffc"

_CHUNK = 512  # code points per chunk after a split
_MAX_CHUNK = 2 * _CHUNK  # a chunk that grows beyond this is split
_MIN_CHUNK = _CHUNK // 4  # a chunk that shrinks below this is merged with a neighbour
#: Edits a :class:`TextIndex` remembers for :meth:`TextIndex.edits_since`.
EDIT_LOG = 64


def utf16_len(s: str) -> int:
    """Length of ``s`` in UTF-16 code units (astral code points count 2)."""
    if s.isascii():  # O(1) in CPython; most runs of a pasted text
        return len(s)
    return len(s.encode("utf-16-le")) // 2


def utf8_len(s: str) -> int:
    """Length of ``s`` in pycrdt units: UTF-8 bytes, with :data:`EMBED_CHAR` counting 1."""
    if s.isascii():
        return len(s)
    return len(s.encode("utf-8")) - 2 * s.count(EMBED_CHAR)


def _u16_to_cp(s: str, pos16: int, len16: int) -> int:
    if len16 == len(s):  # no astral code points: UTF-16 units are code points
        return pos16
    return len(s.encode("utf-16-le")[: 2 * pos16].decode("utf-16-le", "ignore"))


def _cp_to_u16(s: str, cp: int, len16: int) -> int:
    if len16 == len(s):
        return cp
    return len(s[:cp].encode("utf-16-le")) // 2


def _cp_to_u8(s: str, cp: int, len8: int) -> int:
    if len8 == len(s):  # ASCII (and embeds): one unit per code point
        return cp
    return utf8_len(s[:cp])


def _u8_to_cp(s: str, pos8: int, len8: int) -> int:
    if len8 == len(s):
        return pos8
    if EMBED_CHAR not in s:
        return len(s.encode("utf-8")[:pos8].decode("utf-8", "ignore"))
    units = 0
    for cp, ch in enumerate(s):
        units += 1 if ch == EMBED_CHAR else len(ch.encode("utf-8"))
        if units > pos8:
            return cp
    return len(s)


def _check(pos: int, total: int) -> None:
    if not 0 <= pos <= total:
        raise IndexError(f"position {pos} outside 0..{total}")


def u16_to_u8(s: str, pos16: int) -> int:
    """Convert a UTF-16 offset into ``s`` to a pycrdt (UTF-8 byte) offset."""
    len16 = utf16_len(s)
    _check(pos16, len16)
    return _cp_to_u8(s, _u16_to_cp(s, pos16, len16), utf8_len(s))


def u8_to_u16(s: str, pos8: int) -> int:
    """Convert a pycrdt (UTF-8 byte) offset into ``s`` to a UTF-16 offset."""
    len8 = utf8_len(s)
    _check(pos8, len8)
    return _cp_to_u16(s, _u8_to_cp(s, pos8, len8), utf16_len(s))


class TextIndex:
    """A mirror of a changing text that converts positions in O(log n) plus one chunk.

    The text is kept as chunks of about 512 code points; each chunk's UTF-8 and UTF-16
    lengths sit in two Fenwick trees, so locating a position is a binary descent over
    prefix sums and only one small chunk is ever re-encoded. A keystroke updates one
    chunk and O(log n) tree nodes; splits and merges (every few hundred keystrokes)
    rebuild the trees in O(n / 512).

    It also numbers its edits (:attr:`version`) and remembers the last :data:`EDIT_LOG`
    of them, so a position computed earlier (a cursor's, at some cost) can be carried
    through what changed since instead of being computed again (:meth:`edits_since`).
    """

    def __init__(self, text: str = "") -> None:
        #: Positions converted so far (either way). Each costs O(log n); tests check with it
        #: that a change is mapped once, not once per line (a pasted megabyte was 50,000).
        self.conversions = 0
        #: How many edits were applied (see :meth:`edits_since`).
        self.version = 0
        self._log: deque[tuple[int, int, int]] = deque(maxlen=EDIT_LOG)
        self._set_chunks([text[i : i + _CHUNK] for i in range(0, len(text), _CHUNK)] or [""])

    # ------------------------------------------------------------------ queries

    @property
    def text(self) -> str:
        """The whole mirrored text (O(n); for tests and exports, not per keystroke)."""
        return "".join(self._chunks)

    @property
    def len16(self) -> int:
        """Length in UTF-16 code units."""
        return self._total16

    @property
    def len8(self) -> int:
        """Length in pycrdt units (UTF-8 bytes; an embed counts 1)."""
        return self._total8

    def u16_to_u8(self, pos16: int) -> int:
        """Convert a UTF-16 offset to a pycrdt offset. Raises IndexError if out of range."""
        _check(pos16, self._total16)
        self.conversions += 1
        i, before16, before8 = self._find(pos16, self._tree16, self._tree8)
        s = self._chunks[i]
        cp = _u16_to_cp(s, pos16 - before16, self._len16[i])
        return before8 + _cp_to_u8(s, cp, self._len8[i])

    def u8_to_u16(self, pos8: int) -> int:
        """Convert a pycrdt offset to a UTF-16 offset. Raises IndexError if out of range."""
        _check(pos8, self._total8)
        self.conversions += 1
        i, before8, before16 = self._find(pos8, self._tree8, self._tree16)
        s = self._chunks[i]
        cp = _u8_to_cp(s, pos8 - before8, self._len8[i])
        return before16 + _cp_to_u16(s, cp, self._len16[i])

    def slice16(self, start16: int, end16: int) -> str:
        """The text between two UTF-16 offsets (rounded down to code points), in O(log n + k)."""
        _check(start16, self._total16)
        _check(end16, self._total16)
        if end16 <= start16:
            return ""
        i, b16, _ = self._find(start16, self._tree16, self._tree8)
        j, e16, _ = self._find(end16, self._tree16, self._tree8)
        first, last = self._chunks[i], self._chunks[j]
        a = _u16_to_cp(first, start16 - b16, self._len16[i])
        b = _u16_to_cp(last, end16 - e16, self._len16[j])
        if i == j:
            return first[a:b]
        return "".join([first[a:], *self._chunks[i + 1 : j], last[:b]])

    def word_count(self) -> int:
        """``len(self.text.split())`` without joining or splitting the whole text.

        Each chunk's count is kept until the chunk changes, so a recount after a keystroke
        splits one 512-character chunk and walks the chunk list (a 1 MB text: ~0.5 ms
        instead of ~15 ms). A word that straddles two chunks is counted in both and
        subtracted once. An embed (an image) is no word and separates words, as in
        :func:`editor_app.core.counts.count`.
        """
        total = 0
        joined = False  # the text so far ends inside a word
        words = self._words
        for i, chunk in enumerate(self._chunks):
            if not chunk:
                continue
            count = words[i]
            if count is None:
                if EMBED_CHAR in chunk:
                    count = words[i] = len(chunk.replace(EMBED_CHAR, " ").split())
                else:
                    count = words[i] = len(chunk.split())
            total += count
            first, last = chunk[0], chunk[-1]
            if joined and not (first.isspace() or first == EMBED_CHAR):
                total -= 1
            joined = not (last.isspace() or last == EMBED_CHAR)
        return total

    def edits_since(self, version: int) -> list[tuple[int, int, int]] | None:
        """The edits applied after :attr:`version` was ``version``, oldest first, each as
        ``(pos16, removed16, inserted16)``; None when they are no longer all remembered."""
        behind = self.version - version
        if behind == 0:
            return []
        if not 0 < behind <= len(self._log):
            return None
        return list(self._log)[-behind:]

    # ------------------------------------------------------------------ updates

    def apply(self, pos16: int, removed16: int, inserted: str) -> None:
        """Replace ``removed16`` UTF-16 units at ``pos16`` by ``inserted``.

        Raises:
            IndexError: the range is not inside the text.
        """
        if removed16 < 0:
            raise IndexError(f"negative removal {removed16}")
        _check(pos16, self._total16)
        _check(pos16 + removed16, self._total16)
        if removed16 == 0 and not inserted:
            return
        self.version += 1
        self._log.append((pos16, removed16, utf16_len(inserted)))
        i, b16, _ = self._find(pos16, self._tree16, self._tree8)
        j, e16, _ = self._find(pos16 + removed16, self._tree16, self._tree8)
        head = self._chunks[i][: _u16_to_cp(self._chunks[i], pos16 - b16, self._len16[i])]
        tail_chunk = self._chunks[j]
        tail = tail_chunk[_u16_to_cp(tail_chunk, pos16 + removed16 - e16, self._len16[j]) :]
        new = head + inserted + tail
        if i == j and _MIN_CHUNK <= len(new) <= _MAX_CHUNK:
            self._replace_one(i, new)
            return
        chunks = self._chunks
        if len(new) < _MIN_CHUNK:
            if j + 1 < len(chunks):
                j += 1
                new += chunks[j]
            elif i > 0:
                i -= 1
                new = chunks[i] + new
        pieces = [new[k : k + _CHUNK] for k in range(0, len(new), _CHUNK)]
        if not pieces and len(chunks) == j - i + 1:  # the whole text was removed
            self._set_chunks([""])
            return
        # Untouched chunks keep their lengths and word counts: a split in a 1 MB text
        # re-measures two chunks, not two thousand.
        self._set_chunks(
            chunks[:i] + pieces + chunks[j + 1 :],
            self._len8[:i] + [utf8_len(p) for p in pieces] + self._len8[j + 1 :],
            self._len16[:i] + [utf16_len(p) for p in pieces] + self._len16[j + 1 :],
            [*self._words[:i], *(None for _ in pieces), *self._words[j + 1 :]],
        )

    # ------------------------------------------------------------------ internals

    def _replace_one(self, i: int, new: str) -> None:
        n8, n16 = utf8_len(new), utf16_len(new)
        d8, d16 = n8 - self._len8[i], n16 - self._len16[i]
        self._chunks[i], self._len8[i], self._len16[i] = new, n8, n16
        self._words[i] = None
        self._total8 += d8
        self._total16 += d16
        tree8, tree16, n = self._tree8, self._tree16, len(self._chunks)
        k = i + 1
        while k <= n:
            tree8[k] += d8
            tree16[k] += d16
            k += k & -k

    def _set_chunks(
        self,
        chunks: list[str],
        len8: list[int] | None = None,
        len16: list[int] | None = None,
        words: list[int | None] | None = None,
    ) -> None:
        self._chunks = chunks
        self._len8 = [utf8_len(c) for c in chunks] if len8 is None else len8
        self._len16 = [utf16_len(c) for c in chunks] if len16 is None else len16
        # Words per chunk, None until counted (see word_count).
        unknown: list[int | None] = [None] * len(chunks)
        self._words = unknown if words is None else words
        self._total8 = sum(self._len8)
        self._total16 = sum(self._len16)
        self._tree8 = _fenwick(self._len8)
        self._tree16 = _fenwick(self._len16)
        top = 1
        while top * 2 <= len(chunks):
            top *= 2
        self._top = top

    def _find(self, pos: int, tree: list[int], other: list[int]) -> tuple[int, int, int]:
        """The first chunk whose end is at or after ``pos``.

        Returns (chunk index, units of ``tree`` before it, units of ``other`` before it).
        """
        idx, rem, acc_other, step, n = 0, pos, 0, self._top, len(self._chunks)
        while step:
            nxt = idx + step
            if nxt <= n and tree[nxt] < rem:
                idx = nxt
                rem -= tree[nxt]
                acc_other += other[nxt]
            step >>= 1
        # idx < n: callers check 0 <= pos <= total, and tree[n-prefix] < pos fails at the end.
        return idx, pos - rem, acc_other


def _fenwick(values: list[int]) -> list[int]:
    """A 1-based Fenwick (binary indexed) tree over ``values``, built in O(n)."""
    tree = [0, *values]
    n = len(values)
    for k in range(1, n + 1):
        parent = k + (k & -k)
        if parent <= n:
            tree[parent] += tree[k]
    return tree
