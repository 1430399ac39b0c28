"""The test-side Yjs update forge (tests/support/yjs_forge.py) against pycrdt/yrs.

The forge is only useful if what it writes is exactly what Yjs writes: every honest shape
written from scratch must apply in pycrdt and give the expected document, and every
update pycrdt writes must read back and re-encode byte for byte. The last tests pin the
places where yrs reads these bytes differently from Yjs (see the forge's docstring): if a
pycrdt upgrade changes one of them, the update validator must change with it.
"""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText

from tests.support.yjs_forge import (
    GC,
    ID,
    JSON,
    AnyContent,
    BigInt,
    Binary,
    ClientStructs,
    Deleted,
    Embed,
    Float32,
    Format,
    Item,
    Skip,
    String,
    SubDoc,
    Type,
    Unknown,
    decode_state_vector,
    decode_update,
    units,
    update,
    var_int,
    var_string,
    var_uint,
    write_any,
)


def _apply(data: bytes, doc: Doc[Any] | None = None) -> Doc[Any]:
    doc = doc if doc is not None else Doc()
    doc.apply_update(data)
    return doc


def _text(doc: Doc[Any], root: str = "t") -> str:
    return str(doc.get(root, type=Text))


# ----------------------------------------------------------------------------- primitives


def test_var_uint_matches_pycrdt() -> None:
    for n in [0, 1, 127, 128, 300, 2**32 - 1, 2**32, 2**53 - 1, 2**64 - 1]:
        assert var_uint(n) == pycrdt.write_var_uint(n)


def test_var_string_counts_bytes_not_characters() -> None:
    """pycrdt's Encoder.write_var_string counts characters: wrong framing for 한 or 😀."""
    assert var_string("한😀") == bytes([7]) + "한😀".encode()
    encoder = pycrdt.Encoder()
    encoder.write_var_string("한😀")
    assert encoder.to_bytes() != var_string("한😀")  # the reason the forge writes its own


def test_var_int_is_lib0_signed() -> None:
    assert var_int(0) == b"\x00"
    assert var_int(-1) == b"\x41"
    assert var_int(63) == b"\x3f"
    assert var_int(64) == b"\x80\x01"
    assert var_int(-(2**31 - 1)) == b"\xff\xff\xff\xff\x0f"


def test_issue_example_is_written_byte_for_byte() -> None:
    """Issue 9: client 888 writes "X" in root t, then an item whose parent is <888#0>."""
    forged = update(
        ClientStructs(
            888,
            0,
            (Item(String("X"), parent="t"), Item(String("y"), parent=ID(888, 0))),
        )
    )
    assert forged.hex() == "0102f806000401017401580400f80600017900"


# ----------------------------------------------------------------------------- honest shapes


def test_text_with_origins_right_origins_and_deletes_applies() -> None:
    """'안녕😀' then 'X' after the emoji, 'Y' before it, then delete '녕'."""
    first = update(ClientStructs(7, 0, (Item(String("안녕😀"), parent="t"),)))
    doc = _apply(first)
    assert _text(doc) == "안녕😀"
    more = update(
        ClientStructs(
            9,
            0,
            (
                Item(String("X"), origin=ID(7, 3)),  # after the low surrogate (clock 3)
                Item(String("Y"), origin=ID(7, 1), right_origin=ID(7, 2)),
            ),
        ),
        deletes=((7, ((1, 1),)),),
    )
    _apply(more, doc)
    assert _text(doc) == "안Y😀X"
    assert decode_state_vector(doc.get_state()) == {7: 4, 9: 2}


def test_formatting_and_embeds_apply() -> None:
    data = update(
        ClientStructs(
            3,
            0,
            (
                Item(Format("bold", "true"), parent="t"),
                Item(String("굵게"), origin=ID(3, 0)),
                Item(Format("bold", "null"), origin=ID(3, 2)),
                Item(Embed('{"image":"a.png"}'), origin=ID(3, 3)),
            ),
        )
    )
    diff = _apply(data).get("t", type=Text).diff()
    assert diff == [("굵게", {"bold": True}), ({"image": "a.png"}, None)]


def test_map_entries_nested_types_and_any_values_apply() -> None:
    values = {"s": "😀", "n": -5, "f": 1.5, "l": [1, None, True, "x"], "o": {"a": {}}}
    data = update(
        ClientStructs(
            11,
            0,
            (
                Item(AnyContent(("Notes",)), parent="meta", parent_sub="title"),
                Item(AnyContent((values,)), parent="meta", parent_sub="v"),
                Item(Type(2), parent="meta", parent_sub="body"),  # clock 2: a nested Text
                Item(String("nested 글"), parent=ID(11, 2)),  # clocks 3-10
                Item(Type(0), parent="meta", parent_sub="list"),  # clock 11: an Array
                Item(AnyContent((1, BigInt(2**40), Float32(0.5))), parent=ID(11, 11)),
                Item(Binary(b"\x00\xff"), origin=ID(11, 14)),
                Item(AnyContent(("newer",)), origin=ID(11, 0)),  # overwrites "title"
            ),
        )
    )
    meta = _apply(data).get("meta", type=Map)
    assert meta["title"] == "newer"
    assert str(meta["body"]) == "nested 글"
    assert meta["v"] == {
        "s": "😀",
        "n": -5.0,
        "f": 1.5,
        "l": [1.0, None, True, "x"],
        "o": {"a": {}},
    }
    assert list(meta["list"]) == [1.0, 2**40, 0.5, b"\x00\xff"]


def test_xml_element_with_a_name_and_children_applies() -> None:
    data = update(
        ClientStructs(
            4,
            0,
            (
                Item(Type(3, "p"), parent="x"),
                Item(AnyContent(("left",)), parent=ID(4, 0), parent_sub="align"),
                Item(Type(6), parent=ID(4, 0)),
                Item(String("hi"), parent=ID(4, 2)),
            ),
        )
    )
    frag = _apply(data).get("x", type=XmlFragment)
    assert str(frag) == '<p align="left">hi</p>'


def test_gc_skip_deleted_and_subdoc_structs_apply() -> None:
    data = update(
        ClientStructs(
            6,
            0,
            (GC(2), Item(Deleted(3), parent="t"), Item(String("ok"), parent="t"), Skip(4)),
        ),
        ClientStructs(8, 0, (Item(SubDoc("guid-1", {}), parent="docs", parent_sub="a"),)),
    )
    doc = _apply(data)
    assert _text(doc) == "ok"
    assert decode_state_vector(doc.get_state()) == {6: 7, 8: 1}


def test_any_encoding_matches_pycrdt() -> None:
    doc: Doc[Any] = Doc(client_id=1)
    doc.get("m", type=Map)["k"] = {"a": [1, "😀", None, False], "b": b"\x01"}
    item = next(s for g in decode_update(doc.get_update()).clients for s in g.structs)
    assert isinstance(item, Item) and isinstance(item.content, AnyContent)
    assert item.content.encode() == b"\x01" + write_any(item.content.values[0])


# ----------------------------------------------------------------------------- reader


def _pycrdt_docs() -> list[bytes]:
    doc: Doc[Any] = Doc(client_id=123456789)
    text = doc.get("content", type=Text)
    text.insert(0, "Hello 한국어 😀 e\u0301\n")
    text.format(0, 5, {"bold": True})
    del text[1:3]
    text.insert_embed(2, {"img": "x"})
    meta = doc.get("meta", type=Map)
    meta["title"] = "Notes"
    meta["list"] = [1, "a", None, True, {"x": b"\x01"}]
    meta["sub"] = Map({"a": 1})
    meta["arr"] = Array([1, 2])
    meta["txt"] = Text("x")
    frag = doc.get("x", type=XmlFragment)
    element = frag.children.append(XmlElement("p", {"a": "b"}))
    element.children.append(XmlText("hi"))
    other: Doc[Any] = Doc(client_id=2**53 - 1)
    other.apply_update(doc.get_update())
    other.get("content", type=Text).insert(3, "😀😀")
    return [doc.get_update(), other.get_update(), other.get_update(doc.get_state())]


@pytest.mark.parametrize("data", _pycrdt_docs())
def test_updates_pycrdt_writes_read_back_byte_for_byte(data: bytes) -> None:
    assert decode_update(data).encode() == data


def test_units_are_independent_of_how_items_are_split() -> None:
    """Two docs with the same content, one squashed and one split by a later insert+delete."""
    a: Doc[Any] = Doc(client_id=1)
    a.get("t", type=Text).insert(0, "abc😀")
    b: Doc[Any] = Doc(client_id=2)
    b.apply_update(a.get_update())
    c: Doc[Any] = Doc(client_id=1)
    c.get("t", type=Text).insert(0, "b😀")
    c.get("t", type=Text).insert(0, "a")
    c.get("t", type=Text).insert(2, "c")
    assert str(c.get("t", type=Text)) == "abc😀"
    assert units(a.get_update()) == units(b.get_update())
    assert units(a.get_update()) != units(c.get_update())  # other origins: other document


# ----------------------------------------------------------------------------- yrs quirks


def test_yrs_reads_one_more_json_string_than_yjs_writes() -> None:
    """yrs: ``while remaining >= 0``. A Yjs-layout JSON item does not decode; the form yrs
    accepts cannot be decoded from yrs's own encoding of it."""
    yjs = update(ClientStructs(5, 0, (Item(JSON(('"a"', "1")), parent="a"),)))
    with pytest.raises(ValueError):
        _apply(yjs)
    doc = _apply(update(ClientStructs(5, 0, (Item(JSON.for_yrs(('"a"', "1")), parent="a"),))))
    assert decode_state_vector(doc.get_state()) == {5: 2}
    with pytest.raises(ValueError):
        _apply(doc.get_update())


def test_yrs_masks_content_refs_with_four_bits() -> None:
    """Ref 20 (undefined in Yjs) is read by yrs as 20 & 0x0F = 4, a String."""
    doc = _apply(update(ClientStructs(5, 0, (Item(Unknown(20, var_string("Z")), parent="t"),))))
    assert _text(doc) == "Z"
    with pytest.raises(ValueError):
        _apply(update(ClientStructs(5, 0, (Item(Unknown(11, var_string("Z")), parent="t"),))))


def test_yrs_reads_no_name_for_an_xml_hook() -> None:
    with pytest.raises(ValueError):
        _apply(update(ClientStructs(5, 0, (Item(Type(5, "hook"), parent="x"),))))
    _apply(update(ClientStructs(5, 0, (Item(Type(5), parent="x"),))))


def test_yrs_drops_zero_length_items_without_advancing_the_clock() -> None:
    doc = _apply(
        update(ClientStructs(5, 0, (Item(String(""), parent="t"), Item(String("a"), parent="t"))))
    )
    assert decode_state_vector(doc.get_state()) == {5: 1}
    assert _text(doc) == "a"


def test_yrs_truncates_client_ids_to_53_bits() -> None:
    """Client 2^53 + 5 is integrated as client 5: an alias of another peer's id."""
    doc = _apply(update(ClientStructs(2**53 + 5, 0, (Item(String("a"), parent="t"),))))
    assert decode_state_vector(doc.get_state()) == {5: 1}
