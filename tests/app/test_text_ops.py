"""delta_to_ops / apply_local_change against real pycrdt docs.

The property tests are the contract the Qt binding relies on: edits made through
``apply_local_change`` on one doc, synced to a second doc, come out of that doc's
TextEvent deltas as UTF-16 ops that rebuild exactly ``str(Text)`` on a plain string.
"""

from __future__ import annotations

import random
import time
from typing import Any

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from editor_app.core.errors import SurrogateSplit
from editor_app.core.offsets import EMBED_CHAR, TextIndex, utf8_len, utf16_len
from editor_app.core.schema import content
from editor_app.core.text_ops import (
    LOCAL_EMBED,
    EditOp,
    FormatOp,
    Op,
    apply_local_change,
    apply_local_format,
    delta_to_ops,
    mirror_text,
    text_runs,
)
from shared.origins import Origin
from tests.support.text import boundaries16

ALPHABET = "ab \n한국😀👍🏽e\u0301中é"


def apply_ops(shadow: str, ops: list[Op]) -> str:
    """Apply UTF-16 ops to a plain string, the way the Qt binding applies them to Qt."""
    for op in ops:
        if isinstance(op, EditOp):
            units = shadow.encode("utf-16-le")
            a, b = 2 * op.pos, 2 * (op.pos + op.delete)
            assert b <= len(units)
            shadow = (units[:a] + op.insert.encode("utf-16-le") + units[b:]).decode("utf-16-le")
        else:
            assert op.pos + op.length <= utf16_len(shadow)
    return shadow


class Replica:
    """A doc whose remote changes are mirrored into a shadow string through ops."""

    def __init__(self) -> None:
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.text = content(self.doc)
        self.index = TextIndex()
        self.shadow = ""
        self.formats: list[FormatOp] = []
        self.text.observe(self._on_event)

    def _on_event(self, event: pycrdt.TextEvent) -> None:
        if event.transaction.origin == Origin.LOCAL_EDIT:
            return  # the editor already shows its own edits
        ops = delta_to_ops(event.delta, self.index)  # type: ignore[arg-type]
        self.shadow = apply_ops(self.shadow, ops)
        self.formats += [op for op in ops if isinstance(op, FormatOp)]

    def edit(self, pos16: int, removed16: int, inserted: str, attrs: Any = None) -> None:
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            apply_local_change(self.text, self.index, pos16, removed16, inserted, attrs)
        units = self.shadow.encode("utf-16-le")
        self.shadow = (
            units[: 2 * pos16] + inserted.encode("utf-16-le") + units[2 * (pos16 + removed16) :]
        ).decode("utf-16-le")

    def receive(self, other: Replica) -> None:
        update = other.doc.get_update(self.doc.get_state())
        with self.doc.transaction(origin=Origin.REMOTE):
            self.doc.apply_update(update)


def pick_range(s: str, start_f: float, len_f: float) -> tuple[int, int]:
    bounds = boundaries16(s)
    a_i = int(start_f * (len(bounds) - 1))
    b_i = a_i + int(len_f * min(6, len(bounds) - 1 - a_i))
    return bounds[a_i], bounds[b_i] - bounds[a_i]


edits = st.lists(
    st.tuples(
        st.floats(0, 1),
        st.floats(0, 1),
        st.text(alphabet=ALPHABET, max_size=5),
        st.sampled_from([None, {"bold": True}, {"header": 2}]),
    ),
    max_size=25,
)


@settings(max_examples=120, deadline=None)
@given(edits)
def test_synced_deltas_rebuild_the_text(script: list[tuple[float, float, str, Any]]) -> None:
    a, b = Replica(), Replica()
    for start_f, len_f, inserted, attrs in script:
        pos, removed = pick_range(a.shadow, start_f, len_f)
        a.edit(pos, removed, inserted, attrs)
        assert a.shadow == str(a.text) == a.index.text
        b.receive(a)
        assert b.shadow == str(b.text) == b.index.text


@settings(max_examples=80, deadline=None)
@given(edits, edits, st.text(alphabet=ALPHABET, max_size=20))
def test_concurrent_edits_converge_through_ops(
    script_a: list[tuple[float, float, str, Any]],
    script_b: list[tuple[float, float, str, Any]],
    base: str,
) -> None:
    """Both sides edit offline, then exchange: the ops from each merge rebuild the same text."""
    a, b = Replica(), Replica()
    a.edit(0, 0, base)
    b.receive(a)
    for replica, script in ((a, script_a), (b, script_b)):
        for start_f, len_f, inserted, attrs in script:
            pos, removed = pick_range(replica.shadow, start_f, len_f)
            replica.edit(pos, removed, inserted, attrs)
    a.receive(b)
    b.receive(a)
    assert str(a.text) == str(b.text)
    assert a.shadow == b.shadow == str(a.text) == a.index.text == b.index.text


def test_insert_delete_and_format_ops_are_utf16() -> None:
    a, b = Replica(), Replica()
    a.edit(0, 0, "a😀한b")
    b.receive(a)
    with a.doc.transaction(origin=Origin.LOCAL_EDIT):
        apply_local_format(a.text, a.index, 1, 3, {"bold": True})
    b.receive(a)
    assert b.formats == [FormatOp(1, 3, {"bold": True})]
    a.edit(3, 1, "中")  # replace 한 by 中
    b.receive(a)
    assert b.shadow == "a😀中b"
    a.edit(1, 2, "")  # delete the emoji: 2 UTF-16 units, 4 bytes
    b.receive(a)
    assert b.shadow == "a中b"


def test_delete_then_insert_becomes_one_replacement() -> None:
    index = TextIndex("a😀b")
    ops = delta_to_ops([{"retain": 1}, {"delete": 4}, {"insert": "한"}], index)
    assert ops == [EditOp(1, 2, "한", None)]
    assert index.text == "a한b"


def test_numbers_come_back_as_ints_and_none_removes() -> None:
    index = TextIndex("ab\n")
    ops = delta_to_ops(
        [{"retain": 2}, {"retain": 1, "attributes": {"header": 1.0, "bold": None}}], index
    )
    assert ops == [FormatOp(2, 1, {"header": 1, "bold": None})]


def test_remote_embed_is_one_object_replacement_char() -> None:
    src, dst = Replica(), Replica()
    src.edit(0, 0, "a😀b")
    dst.receive(src)
    src.text.insert_embed(5, {"image": "x.png"}, {"bold": True})  # after the emoji
    src.index.apply(3, 0, EMBED_CHAR)
    src.text.insert(len(src.text), "\ufffc?")  # a LITERAL U+FFFC typed as text elsewhere
    dst.receive(src)
    assert dst.shadow == "a😀" + EMBED_CHAR + "b\ufffd?"
    assert dst.index.len8 == len(dst.text)
    assert mirror_text(dst.text) == dst.shadow
    assert text_runs(dst.text)[1] == (EMBED_CHAR, {"bold": True})
    # Positions after the embed still line up: delete the "b" remotely.
    with src.doc.transaction(origin=Origin.LOCAL_EDIT):
        apply_local_change(src.text, TextIndex(mirror_text(src.text)), 4, 1, "")
    dst.receive(src)
    assert dst.shadow == "a😀" + EMBED_CHAR + "\ufffd?"


def test_local_object_replacement_char_is_stored_as_embed() -> None:
    a, b = Replica(), Replica()
    a.edit(0, 0, "x" + EMBED_CHAR + "y")
    assert len(a.text) == 3
    assert a.text.diff()[1][0] == LOCAL_EMBED
    b.receive(a)
    assert b.shadow == a.index.text == "x" + EMBED_CHAR + "y"


def test_range_splitting_a_surrogate_pair_is_refused_unchanged() -> None:
    a = Replica()
    a.edit(0, 0, "a😀b")
    with pytest.raises(SurrogateSplit):
        a.edit(2, 1, "")
    with pytest.raises(SurrogateSplit):
        with a.doc.transaction():
            apply_local_format(a.text, a.index, 1, 1, {"bold": True})
    assert str(a.text) == a.index.text == "a😀b"
    assert a.text.diff() == [("a😀b", None)]


def test_one_remote_keystroke_on_a_1mb_document_is_fast() -> None:
    """delta_to_ops for a typical remote keystroke stays well under 1 ms on 1 MB."""
    unit = "Lorem ipsum 한국어 😀 e\u0301 中文 dolor.\n"
    big = unit * (1_000_000 // utf8_len(unit))
    index = TextIndex(big)
    rng = random.Random(3)
    n = 1000
    deltas = [[{"retain": rng.randrange(0, 900_000) // 64 * 64}, {"insert": "k"}] for _ in range(n)]
    start = time.perf_counter()
    for delta in deltas:
        delta_to_ops(delta, index)
    per_op = (time.perf_counter() - start) / n
    assert per_op < 0.5e-3, f"{per_op * 1e6:.1f} µs per remote keystroke"


def test_insert_without_attrs_inherits_and_explicit_none_clears() -> None:
    a, b = Replica(), Replica()
    a.edit(0, 0, "bold", {"bold": True})
    a.edit(4, 0, "!")  # attrs=None: inherits, as in Yjs
    a.edit(5, 0, " plain", {"bold": None})
    b.receive(a)
    assert a.text.diff() == [("bold!", {"bold": True}), (" plain", None)]
    assert b.shadow == "bold! plain"


SURROGATE_ALPHABET = [
    "a",
    "한",
    "e\u0301",
    "中",
    "😀",
    "👍🏽",
    "👨\u200d👩\u200d👧",
    "\n",
    "\u200d",
]


@settings(max_examples=150, deadline=None)
@given(
    st.lists(st.sampled_from(SURROGATE_ALPHABET), max_size=8).map("".join),
    st.lists(
        st.tuples(
            st.floats(0, 1),
            st.integers(0, 4),
            st.lists(st.sampled_from(SURROGATE_ALPHABET), max_size=3).map("".join),
            st.sampled_from([None, {"bold": True}, {"bold": None}]),
            st.booleans(),
        ),
        max_size=10,
    ),
)
def test_no_utf16_range_ever_produces_an_update_that_splits_a_pair(
    start: str, script: list[tuple[float, int, str, Any, bool]]
) -> None:
    """Any UTF-16 range, pair halves included: the change is refused unchanged
    (SurrogateSplit) or every update it makes passes the relay's gate, and undo/redo too."""
    from shared.update_gate import DocumentFacts, UpdateGate

    a = Replica()
    a.edit(0, 0, start)
    undo = pycrdt.UndoManager(scopes=[a.text], capture_timeout_millis=0)
    undo.include_origin(Origin.LOCAL_EDIT)
    shadow: pycrdt.Doc[Any] = pycrdt.Doc()
    shadow.apply_update(a.doc.get_update())
    updates: list[bytes] = []
    sub = a.doc.observe(lambda event: updates.append(event.update))
    for where, length, inserted, attrs, as_format in script:
        pos = int(where * a.index.len16)
        removed = min(length, a.index.len16 - pos)
        before = str(a.text)
        try:
            if as_format:
                with a.doc.transaction(origin=Origin.LOCAL_EDIT):
                    apply_local_format(a.text, a.index, pos, removed, attrs or {"bold": True})
            else:
                a.edit(pos, removed, inserted, attrs)
        except SurrogateSplit:
            assert str(a.text) == before == a.index.text
        if length == 4:
            undo.undo()
        elif length == 3:
            undo.redo()
        a.index = TextIndex(mirror_text(a.text))
    a.doc.unobserve(sub)
    for update in updates:
        facts = DocumentFacts.of_document(shadow.get_update(), shadow.get_state())
        UpdateGate(facts).admit(update)  # raises InvalidUpdate ("surrogate") on a split
        shadow.apply_update(update)
    assert str(content(shadow)) == str(a.text)
