"""The bounds-checked lib0 reader: exact on what pycrdt writes, typed errors on anything else."""

from __future__ import annotations

import pycrdt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from editor_app.core.errors import UnreadableEncoding
from editor_app.core.lib0 import MAX_VAR_UINT, Lib0Reader, read_state_vector
from editor_app.core.relative_position import _origins
from shared.lib0 import encode_var_uint as var_uint


@given(st.lists(st.integers(0, MAX_VAR_UINT), max_size=20))
def test_var_uints_read_back(values: list[int]) -> None:
    r = Lib0Reader(b"".join(var_uint(v) for v in values))
    assert [r.var_uint() for _ in values] == values
    r.end()


def test_var_uint_agrees_with_pycrdt() -> None:
    for n in (0, 1, 127, 128, 300, 2**31, 2**53 - 1):
        assert Lib0Reader(pycrdt.write_var_uint(n)).var_uint() == n


@pytest.mark.parametrize(
    "data",
    [b"", b"\x80", b"\xff\xff", var_uint(2**53), b"\x80" * 8 + b"\x01", b"\xff" * 20],
    ids=["empty", "truncated", "truncated-long", "beyond-2^53", "nine-bytes", "endless"],
)
def test_bad_var_uints_raise_the_typed_error(data: bytes) -> None:
    with pytest.raises(UnreadableEncoding):
        Lib0Reader(data).var_uint()


def test_strings_and_lengths_are_checked() -> None:
    assert Lib0Reader(b"\x03abc").var_string() == "abc"
    with pytest.raises(UnreadableEncoding):
        Lib0Reader(b"\x05abc").var_bytes()
    with pytest.raises(UnreadableEncoding):
        Lib0Reader(b"\x02\xff\xfe").var_string()
    with pytest.raises(UnreadableEncoding):
        Lib0Reader(b"\x00\x00").end()


def test_state_vector_of_a_real_document() -> None:
    doc: pycrdt.Doc[object] = pycrdt.Doc(client_id=2**40 + 7)
    text = doc.get("content", type=pycrdt.Text)
    text += "한국어 😀"
    other: pycrdt.Doc[object] = pycrdt.Doc(client_id=3)
    other.apply_update(doc.get_update())
    other.get("content", type=pycrdt.Text).insert(0, "ab")
    assert read_state_vector(other.get_state()) == {2**40 + 7: 6, 3: 2}
    with pytest.raises(UnreadableEncoding):
        read_state_vector(other.get_state()[:-1])
    with pytest.raises(UnreadableEncoding):
        read_state_vector(other.get_state() + b"\x00")


def test_origins_of_a_one_item_update() -> None:
    doc: pycrdt.Doc[object] = pycrdt.Doc(client_id=9)
    text = doc.get("content", type=pycrdt.Text)
    text += "ab"
    before = doc.get_state()
    text.insert(1, "x")
    assert _origins(doc.get_update(before)) == ((9, 0), (9, 1))
    with pytest.raises(UnreadableEncoding):
        _origins(doc.get_update(before)[:4])
    with pytest.raises(UnreadableEncoding):
        _origins(b"\x00\x00")


@given(st.binary(max_size=40))
def test_arbitrary_bytes_raise_nothing_but_the_typed_error(data: bytes) -> None:
    for parse in (read_state_vector, _origins):
        try:
            parse(data)
        except UnreadableEncoding:
            pass
