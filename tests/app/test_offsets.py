"""UTF-16 <-> pycrdt (UTF-8 byte) position conversion, plain and through TextIndex."""

from __future__ import annotations

import random
import time

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from editor_app.core.offsets import EMBED_CHAR, TextIndex, u8_to_u16, u16_to_u8, utf8_len, utf16_len
from tests.support.text import boundaries16

HANGUL = "한국어"  # 3 bytes / 1 unit each
EMOJI = "😀👍🏽"  # surrogate pairs: 4 bytes / 2 units each
COMBINING = "e\u0301"  # e + combining acute: 1+2 bytes, 2 units
CJK = "中文"

ALPHABET = "ab \n" + HANGUL + EMOJI + COMBINING + CJK + "é"


def reference_u16_to_u8(s: str, pos16: int) -> int:
    """The verified conversion from the stack notes (slow but obviously right)."""
    cp = len(s.encode("utf-16-le")[: 2 * pos16].decode("utf-16-le"))
    return len(s[:cp].encode())


def reference_u8_to_u16(s: str, pos8: int) -> int:
    cp = len(s.encode()[:pos8].decode())
    return len(s[:cp].encode("utf-16-le")) // 2


@pytest.mark.parametrize(
    ("s", "pos16", "pos8"),
    [
        (HANGUL, 1, 3),
        (HANGUL, 3, 9),
        ("a😀b", 1, 1),
        ("a😀b", 3, 5),
        ("a😀b", 4, 6),
        (COMBINING + "x", 2, 3),
        (CJK + EMOJI, 2, 6),
        ("", 0, 0),
    ],
)
def test_known_conversions(s: str, pos16: int, pos8: int) -> None:
    assert u16_to_u8(s, pos16) == pos8
    assert u8_to_u16(s, pos8) == pos16
    assert TextIndex(s).u16_to_u8(pos16) == pos8
    assert TextIndex(s).u8_to_u16(pos8) == pos16


def test_lengths_agree_with_pycrdt() -> None:
    s = ALPHABET * 3
    text = pycrdt.Doc().get("content", type=pycrdt.Text)
    text += s
    assert utf8_len(s) == len(text)
    assert utf16_len(s) == len(s.encode("utf-16-le")) // 2
    index = TextIndex(s)
    assert (index.len8, index.len16) == (len(text), utf16_len(s))


def test_position_inside_a_code_point_rounds_down() -> None:
    s = "a😀b"
    assert u16_to_u8(s, 2) == 1  # between the surrogates -> before the emoji
    assert u8_to_u16(s, 3) == 1  # inside the 4-byte sequence
    assert TextIndex(s).u16_to_u8(2) == 1
    assert TextIndex(s).u8_to_u16(3) == 1


def test_out_of_range_raises() -> None:
    index = TextIndex("ab")
    with pytest.raises(IndexError):
        index.u16_to_u8(3)
    with pytest.raises(IndexError):
        index.u8_to_u16(-1)
    with pytest.raises(IndexError):
        index.apply(1, 5, "")


def test_embed_char_counts_one_crdt_unit() -> None:
    s = "a" + EMBED_CHAR + "한"
    assert utf8_len(s) == 1 + 1 + 3
    assert u16_to_u8(s, 2) == 2
    index = TextIndex(s * 400)  # several chunks with embeds
    assert index.u8_to_u16(5 * 399 + 2) == 3 * 399 + 2


@settings(max_examples=150, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=3000), st.data())
def test_index_matches_reference_on_every_boundary(s: str, data: st.DataObject) -> None:
    index = TextIndex(s)
    for pos16 in data.draw(st.lists(st.sampled_from(boundaries16(s)), max_size=30)):
        pos8 = reference_u16_to_u8(s, pos16)
        assert index.u16_to_u8(pos16) == pos8 == u16_to_u8(s, pos16)
        assert index.u8_to_u16(pos8) == pos16 == u8_to_u16(s, pos8)


edit = st.tuples(
    st.floats(0, 1),
    st.floats(0, 1),
    st.one_of(st.text(alphabet=ALPHABET, max_size=4), st.text(alphabet=ALPHABET, max_size=1500)),
)


@settings(max_examples=100, deadline=None)
@given(st.text(alphabet=ALPHABET, max_size=2000), st.lists(edit, max_size=40))
def test_index_tracks_random_edits(s: str, edits: list[tuple[float, float, str]]) -> None:
    """Inserts and deletes (incl. ones spanning and emptying chunks) keep the index exact."""
    index = TextIndex(s)
    for start_f, len_f, inserted in edits:
        bounds = boundaries16(s)
        a = bounds[int(start_f * (len(bounds) - 1))]
        rest = [b for b in bounds if b >= a]
        b = rest[int(len_f * (len(rest) - 1) * (1 if len_f > 0.9 else 0.05))]
        units = s.encode("utf-16-le")
        s = (units[: 2 * a] + inserted.encode("utf-16-le") + units[2 * b :]).decode("utf-16-le")
        index.apply(a, b - a, inserted)
        assert index.text == s
        assert (index.len8, index.len16) == (utf8_len(s), utf16_len(s))
    for pos16 in boundaries16(s)[:: max(1, len(s) // 50)]:
        assert index.u16_to_u8(pos16) == reference_u16_to_u8(s, pos16)


def test_keystroke_cost_is_independent_of_document_size() -> None:
    """One remote keystroke (two conversions + one update) on 1 MB costs well under 1 ms."""
    rng = random.Random(7)
    unit = "Hello 한국어 world 😀 e\u0301 中文\n"
    big = unit * (1_000_000 // utf8_len(unit))
    index = TextIndex(big)
    assert index.len8 >= 990_000
    n = 2000
    positions = [rng.randrange(0, index.len8 - 100) for _ in range(n)]
    start = time.perf_counter()
    for pos8 in positions:
        pos16 = index.u8_to_u16(pos8)
        index.apply(pos16, 0, "x")
        index.u16_to_u8(pos16 + 1)
    per_keystroke = (time.perf_counter() - start) / n
    assert per_keystroke < 0.5e-3, f"{per_keystroke * 1e6:.1f} µs per keystroke"
