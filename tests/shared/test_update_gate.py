"""The update gate: honest updates pass, and nothing that would not integrate completely does.

The invariant the relay relies on: after any sequence of admitted-then-applied updates the
gate's facts equal the document (same clocks as ``doc.get_state()``), and a refused update
leaves the document byte for byte as it was.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pycrdt import Array, Doc, Map, Text, XmlElement, XmlFragment, XmlText, merge_updates

from shared.errors import InvalidUpdate
from shared.messages import EMPTY_UPDATE, SyncStep2, SyncUpdate
from shared.session import Acknowledged, RemoteUpdate, SyncSession, UpdateHeld
from shared.states import Side
from shared.update_gate import (
    CLOCK_LIMIT,
    DocumentFacts,
    MissingDependencies,
    UpdateGate,
    decode_state_vector,
)

#: Issue 9's reproducer: client 888 clock 0 is "X" in root "t"; clock 1 names item 888:0
#: (a string) as its parent. yrs integrates the "X", then raises.
HALF_APPLIED = bytes.fromhex("0102f806000401017401580400f80600017900")


def _gate_of(doc: Doc[Any]) -> UpdateGate:
    return UpdateGate(DocumentFacts.of_document(doc.get_update(), doc.get_state()))


def _admit_apply(gate: UpdateGate, doc: Doc[Any], update: bytes) -> None:
    admitted = gate.admit(update)
    doc.apply_update(update)
    gate.commit(admitted)


def _recorded(doc: Doc[Any]) -> list[bytes]:
    updates: list[bytes] = []
    doc.observe(lambda e: updates.append(e.update))
    return updates


def _assert_in_step(gate: UpdateGate, doc: Doc[Any]) -> None:
    assert gate.matches_state(decode_state_vector(doc.get_state()).items())


def test_the_issue_reproducer_is_refused_and_leaves_the_document_alone() -> None:
    doc: Doc[Any] = Doc(client_id=1)
    doc.get("t", type=Text).insert(0, "BASE")
    gate, before = _gate_of(doc), doc.get_update()
    with pytest.raises(InvalidUpdate, match="not a shared type"):
        gate.admit(HALF_APPLIED)
    assert doc.get_update() == before
    assert str(doc.get("t", type=Text)) == "BASE"


def test_honest_text_edits_with_emoji_hangul_and_formats_pass() -> None:
    source: Doc[Any] = Doc(client_id=3)
    updates = _recorded(source)
    text = source.get("t", type=Text)
    text.insert(0, "안녕 😀 e\u0301 world")
    text.format(0, 6, {"bold": True})
    del text[6:10]  # the emoji, whole (UTF-8 bytes)
    text.insert(0, "👍🏽", {"italic": True})
    source.get("meta", type=Map)["title"] = "제목"
    target: Doc[Any] = Doc(client_id=4)
    gate = UpdateGate()
    for update in updates:
        _admit_apply(gate, target, update)
        _assert_in_step(gate, target)
    assert str(target.get("t", type=Text)) == str(text)


def test_nested_types_are_valid_parents() -> None:
    source: Doc[Any] = Doc(client_id=11)
    updates = _recorded(source)
    frag = source.get("xml", type=XmlFragment)
    para = frag.children.append(XmlElement("p", {"class": "x"}))
    para.children.append(XmlText("hello"))
    source.get("list", type=Array).append(Map({"k": Array([1, 2])}))
    target: Doc[Any] = Doc()
    gate = UpdateGate()
    for update in updates:
        _admit_apply(gate, target, update)
    assert len(gate.facts.types) >= 4
    assert str(target.get("xml", type=XmlFragment)) == str(frag)


def test_a_gap_is_held_then_integrates_once_filled() -> None:
    source: Doc[Any] = Doc(client_id=5)
    updates = _recorded(source)
    text = source.get("t", type=Text)
    text.insert(0, "ab")
    text.insert(2, "cd")
    first, second = updates
    target: Doc[Any] = Doc()
    gate = UpdateGate()
    with pytest.raises(MissingDependencies):
        gate.admit(second)
    _admit_apply(gate, target, first)
    _admit_apply(gate, target, second)
    assert str(target.get("t", type=Text)) == "abcd"


def test_a_cycle_between_two_clients_never_integrates() -> None:
    # Client 7's item names client 8's as its origin and the other way round.
    def item(client: int, other: int) -> bytes:
        return bytes([1, client, 0, 0x84, other, 0, 1]) + b"x"

    cycle = b"\x02" + item(7, 8) + item(8, 7) + b"\x00"
    with pytest.raises(MissingDependencies):
        UpdateGate().admit(cycle)


@pytest.mark.parametrize(
    ("update", "why"),
    [
        (HALF_APPLIED[:-3], "truncated"),
        (HALF_APPLIED + b"\x00", "trailing"),
        (bytes.fromhex("01010500040101740000"), "empty struct"),  # empty string item
        (bytes.fromhex("0101050009010174"), "subdocuments"),
        (bytes.fromhex("010105000b010174"), "unknown struct kind"),
        (bytes.fromhex("01010500070101740900"), "shared type 9 is not accepted"),
        (bytes.fromhex("0101050007010174050178"), "shared type 5"),  # XmlHook
        (bytes.fromhex("010105000201017401022261220131"), "legacy JSON"),
        (bytes.fromhex("01010600c405000500017800"), "same item"),
        (bytes.fromhex("010105ffffffff0f04010174017800"), "2\\^32"),
        (bytes.fromhex("010105ffffffffffffffffff7f00"), "53 bits"),
    ],
)
def test_malformed_updates_are_refused(update: bytes, why: str) -> None:
    with pytest.raises(InvalidUpdate, match=why):
        UpdateGate().admit(update)


def test_clock_limit_is_what_yrs_can_hold() -> None:
    assert CLOCK_LIMIT == 2**32 - 1


def _emoji_doc() -> tuple[Doc[Any], UpdateGate]:
    doc: Doc[Any] = Doc(client_id=7)
    doc.get("t", type=Text).insert(0, "a😀b")  # clocks: a=0, 😀=1..2, b=3
    return doc, _gate_of(doc)


def test_an_insert_between_the_halves_of_an_emoji_is_refused() -> None:
    doc, gate = _emoji_doc()
    # Client 9 inserts "X" with origin 7:1 (high surrogate) and right origin 7:2 (low).
    split = bytes.fromhex("01010900c407010702015800")
    with pytest.raises(InvalidUpdate, match="surrogate"):
        gate.admit(split)


@pytest.mark.parametrize(("clock", "length"), [(2, 1), (1, 1), (2, 2), (0, 2)])
def test_a_deletion_that_splits_an_emoji_is_refused(clock: int, length: int) -> None:
    doc, gate = _emoji_doc()
    delete_set = bytes([0, 1, 7, 1, clock, length])
    with pytest.raises(InvalidUpdate, match="surrogate"):
        gate.admit(delete_set)


def test_deleting_the_whole_emoji_passes() -> None:
    doc, gate = _emoji_doc()
    _admit_apply(gate, doc, bytes([0, 1, 7, 1, 1, 2]))
    assert str(doc.get("t", type=Text)) == "ab"


def test_a_deletion_beyond_the_document_is_missing_dependencies() -> None:
    doc, gate = _emoji_doc()
    with pytest.raises(MissingDependencies):
        gate.admit(bytes([0, 1, 7, 1, 3, 5]))


def test_merged_and_full_state_updates_from_several_clients_pass() -> None:
    docs = [Doc(client_id=i) for i in (21, 22, 23)]
    log: list[bytes] = []  # every local edit, as its own update, in causal order
    for i in range(30):
        d = docs[i % 3]
        before = d.get_state()
        t = d.get("t", type=Text)
        t.insert(len(str(t).encode()) // 2 // 4 * 4 if "😀" not in str(t) else 0, f"{i}😀")
        if i % 4 == 0 and len(str(t)) > 8:
            del t[0:1]
        log.append(d.get_update(before))
        for other in docs:
            if other is not d:
                other.apply_update(d.get_update(other.get_state()))
    target: Doc[Any] = Doc()
    gate = UpdateGate()
    _admit_apply(gate, target, merge_updates(*log[:20]))
    for update in log[20:]:
        _admit_apply(gate, target, update)
    _admit_apply(gate, target, docs[0].get_update())  # everything again: all overlaps
    _assert_in_step(gate, target)
    assert str(target.get("t", type=Text)) == str(docs[0].get("t", type=Text))


EDITS = st.lists(
    st.tuples(
        st.integers(0, 2),  # which client
        st.floats(0, 1),  # where
        st.integers(0, 3),  # delete how many characters
        st.text(st.sampled_from("ab한글😀👍🏽\n"), max_size=4),
        st.booleans(),  # sync everyone afterwards
    ),
    max_size=25,
)


@settings(max_examples=60, deadline=None)
@given(EDITS)
def test_every_honest_history_passes_and_keeps_the_facts_in_step(edits: list[Any]) -> None:
    docs = [Doc(client_id=100 + i) for i in range(3)]
    shadow = [""] * 3
    seen: list[bytes] = []
    for d in docs:
        d.observe(lambda e: seen.append(e.update))
    for who, where, delete, ins, sync in edits:
        d, t = docs[who], docs[who].get("t", type=Text)
        s = shadow[who] = str(t)
        cp = int(where * len(s))
        start = len(s[:cp].encode())
        end = len(s[: cp + delete].encode())
        if end > start:
            del t[start:end]
        if ins:
            t.insert(start, ins)
        if sync:
            for a in docs:
                for b in docs:
                    if a is not b:
                        b.apply_update(a.get_update(b.get_state()))
    server: Doc[Any] = Doc()
    gate = UpdateGate()
    for update in seen:  # in the order they happened, duplicates included
        try:
            admitted = gate.admit(update)
        except MissingDependencies:
            continue  # a replica's re-broadcast of something from a later sync
        server.apply_update(update)
        gate.commit(admitted)
        _assert_in_step(gate, server)
    for d in docs:
        _admit_apply(gate, server, d.get_update())
    _assert_in_step(gate, server)


def test_a_session_holds_an_early_update_and_acknowledges_only_below_it() -> None:
    """A stock client's edit that arrives before the step 2 carrying what it builds on."""
    client: Doc[Any] = Doc(client_id=31)
    text = client.get("t", type=Text)
    text.insert(0, "offline ")
    offline = client.get_update()
    edits = _recorded(client)
    text.insert(8, "typed")
    server: Doc[Any] = Doc()
    session = SyncSession(server, Side.SERVER, gate=UpdateGate(), extensions=True, incarnation="i")
    session.start()
    session.data_to_send()
    session.receive_data(SyncUpdate(edits[0]).encode())  # message 1: held
    assert [type(e) for e in session.events_received()] == [UpdateHeld]
    session.acknowledge(0)
    session.receive_data(SyncUpdate(EMPTY_UPDATE).encode())  # message 2
    session.events_received()
    session.acknowledge(2)
    assert session.data_to_send() == []  # nothing past the held message 1
    session.receive_data(SyncStep2(offline).encode())  # message 3: both integrate
    events = session.events_received()
    assert [(type(e), getattr(e, "index", None)) for e in events] == [
        (RemoteUpdate, 3),
        (RemoteUpdate, 1),
    ]
    assert str(server.get("t", type=Text)) == "offline typed"
    session.acknowledge(3)
    assert len(session.data_to_send()) == 1  # ACK(3)
    assert Acknowledged  # the client side of ACKs is tested in test_session.py


def test_too_many_held_updates_close_the_connection() -> None:
    server: Doc[Any] = Doc()
    session = SyncSession(server, Side.SERVER, gate=UpdateGate())
    session.start()
    orphan = bytes.fromhex("01014105844200017800")  # origin 66:0, unknown
    with pytest.raises(MissingDependencies, match="too many"):
        for _ in range(session.limits.max_held_updates + 1):
            session.receive_data(SyncUpdate(orphan).encode())
    assert server.get_update() == Doc().get_update()


# ------------------------------------------------------------------ containers and scopes


def _coscribe_doc() -> tuple[Doc[Any], UpdateGate]:
    """A document with Coscribe's roots: text "abc" by client 5, a title, a comment map."""
    doc: Doc[Any] = Doc(client_id=5)
    doc.get("content", type=Text).insert(0, "abc")
    doc.get("meta", type=Map)["title"] = "Notes"
    doc.get("comments", type=Map)["t1"] = Map({"body": "first"})
    return doc, _gate_of(doc)


def test_values_inside_the_text_are_refused() -> None:
    """An Any item placed in the text by its origin (issue 9's fuzzer: pycrdt editors then
    mirror the text wrong and write edits the server can never integrate)."""
    doc, gate = _coscribe_doc()
    # Client 9: one Any item (a number) with origin <5#0>, i.e. inside "abc".
    any_in_text = bytes.fromhex("01010900880500017d0100")
    with pytest.raises(InvalidUpdate, match="text cannot hold"):
        gate.admit(any_in_text)
    # The same value in a root no Coscribe schema names is the writer's business.
    free = bytes.fromhex("0101090008010466726565017d0100")
    gate.admit(free)


def test_an_item_between_two_containers_is_refused() -> None:
    doc, gate = _coscribe_doc()
    # Origin <5#0> ("a" in the text), right origin: the title entry of client 5.
    runs = gate.facts.parents[5]
    title_clock = next(
        start for start, ref in zip(runs.starts, runs.refs, strict=True)
        if ref == ("meta", "title")
    )  # fmt: skip
    crossed = bytes([1, 1, 9, 0, 0xC4, 5, 0, 5, title_clock, 1]) + b"X" + b"\x00"
    with pytest.raises(InvalidUpdate, match="different containers"):
        gate.admit(crossed)


def test_a_map_entry_holds_one_value() -> None:
    doc, gate = _coscribe_doc()
    # Client 9 sets meta["k"] to an Any item with two values.
    two = bytes([1, 1, 9, 0, 0x28, 1, 4]) + b"meta" + bytes([1]) + b"k"
    two += bytes([2, 125, 1, 125, 2, 0])  # Any content: two varInt values; no deletions
    with pytest.raises(InvalidUpdate, match="one value"):
        gate.admit(two)


def test_a_commenter_may_change_only_the_comments() -> None:
    doc, gate = _coscribe_doc()
    scope = frozenset({"comments"})
    commenter: Doc[Any] = Doc(client_id=77)
    commenter.apply_update(doc.get_update())
    before = commenter.get_state()
    commenter.get("comments", type=Map)["t2"] = Map({"body": "looks good"})
    comment = commenter.get_update(before)
    gate.commit(gate.admit(comment, scope))  # a new thread: fine
    before = commenter.get_state()
    commenter.get("content", type=Text).insert(1, "x")
    with pytest.raises(InvalidUpdate, match="may not change"):
        gate.admit(commenter.get_update(before), scope)
    # Deleting text is changing it too (a delete set only, no structs).
    deleter: Doc[Any] = Doc(client_id=78)
    deleter.apply_update(doc.get_update())
    recorded = _recorded(deleter)
    del deleter.get("content", type=Text)[0:1]
    with pytest.raises(InvalidUpdate, match="may not delete"):
        gate.admit(recorded[0], scope)
    gate.admit(recorded[0])  # an editor may


@settings(max_examples=40, deadline=None)
@given(EDITS)
def test_facts_built_from_a_document_equal_facts_built_update_by_update(
    edits: list[Any],
) -> None:
    """The server builds facts once from storage (of_document) and then keeps them in step
    (commit); both ways must say the same about where every item lives."""
    doc: Doc[Any] = Doc(client_id=3)
    updates = _recorded(doc)
    text, meta = doc.get("content", type=Text), doc.get("meta", type=Map)
    for i, (_, where, delete, ins, sync) in enumerate(edits):
        s = str(text)
        cp = int(where * len(s))
        start, end = len(s[:cp].encode()), len(s[: cp + delete].encode())
        if end > start:
            del text[start:end]
        if ins:
            text.insert(start, ins)
        if sync:
            meta[f"k{i % 3}"] = i
    incremental = UpdateGate()
    for update in updates:
        incremental.commit(incremental.admit(update))
    built = DocumentFacts.of_document(doc.get_update(), doc.get_state())
    for client, clock in built.state.items():
        for k in range(clock):
            assert built.ref_at((client, k)) == incremental.facts.ref_at((client, k)), k
    assert built.types.keys() == incremental.facts.types.keys()
