"""Positions found once are carried through later edits, and stay exact.

Finding a Yjs id for an offset (or the offset of an id) costs about 1 ms in a 1 MB
document, and the editor asks after every keystroke: for its own caret (presence) and for
every collaborator's (the repaint). :class:`RelativePositions` keeps what it found and
carries it through the edits its :class:`TextIndex` saw since, so these tests keep each
replica's index in step the way the editor does (local edits through ``text_ops``, the
others through :func:`delta_to_ops` in a text observer) and compare every answer with a
:class:`RelativePositions` made afresh.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from editor_app.core.offsets import EDIT_LOG, TextIndex
from editor_app.core.relative_position import RelativePositions
from editor_app.core.text_ops import delta_to_ops
from shared.origins import Origin, origin_matches
from tests.app.test_relative_position_copy import Replica as CopyReplica
from tests.app.test_relative_position_copy import apply_step
from tests.support.text import boundaries16


class Replica(CopyReplica):
    """A document whose index follows every change in place, as the editor's does (the
    base class makes a new index after each update it receives)."""

    def __init__(self, client_id: int) -> None:
        super().__init__(client_id)
        self._sub = self.text.integrated.observe(self._on_text)

    def _on_text(self, event: Any) -> None:
        if not origin_matches(event.transaction.origin(), Origin.LOCAL_EDIT):
            delta_to_ops(event.delta, self.index)

    def receive(self, other: CopyReplica) -> None:
        update = other.doc.get_update(self.doc.get_state())
        with self.doc.transaction(origin=Origin.REMOTE):
            self.doc.apply_update(update)


def assert_exact(replica: Replica, other: Replica) -> None:
    """Every boundary encodes as a fresh RelativePositions encodes it, and decodes back;
    positions the other replica encodes decode here as a fresh one decodes them."""
    assert replica.index.text == str(replica.text)
    new, theirs = RelativePositions(replica.text, TextIndex(str(replica.text))), None
    if str(other.text) == str(replica.text):
        theirs = RelativePositions(other.text, TextIndex(str(other.text)))
    try:
        for p in boundaries16(str(replica.text)):
            for assoc in (0, -1):
                mine = replica.positions.encode(p, assoc)
                assert mine == new.encode(p, assoc), (p, assoc)
                assert replica.positions.decode(mine) == p, (p, assoc)
                if theirs is not None:
                    rpos = theirs.encode(p, assoc)
                    assert replica.positions.decode(rpos) == new.decode(rpos) == p, (p, assoc)
    finally:
        new.close()
        if theirs is not None:
            theirs.close()


Step = tuple[bool, float, int, str, dict[str, Any] | None, bool]
steps = st.lists(
    st.tuples(
        st.booleans(),
        st.floats(0, 1),
        st.integers(0, 3),
        st.text(alphabet="ab \n한😀e\u0301中", max_size=4),
        st.sampled_from([None, None, {"bold": True}, {"header": 1}]),
        st.booleans(),
    ),
    min_size=1,
    max_size=14,
)


@settings(deadline=None, max_examples=40)
@given(steps)
def test_carried_positions_equal_fresh_ones(script: list[Step]) -> None:
    """Random inserts, deletes and formats from two clients, exchanged now and then, with
    positions asked (and so remembered) after every step; at the end every answer of the
    long-lived instances equals a fresh one's. Fails if a remembered id is not moved
    (or dropped) with the text around it."""
    a, b = Replica(7), Replica(8)
    a.edit(0, 0, "start 中 text😀 more\n")
    b.receive(a)
    for by_a, where, delete, inserted, attrs, exchange in script:
        who, other = (a, b) if by_a else (b, a)
        apply_step(who, where, delete, inserted, attrs)
        if exchange:
            other.receive(who)
        for replica, peer in ((a, b), (b, a)):
            for p in boundaries16(str(replica.text))[::2]:
                for assoc in (0, -1):
                    replica.positions.encode(p, assoc)
                    peer.positions.decode(replica.positions.encode(p, assoc))
    a.receive(b)
    b.receive(a)
    assert_exact(a, b)
    assert_exact(b, a)


def test_typing_at_a_caret_finds_its_position_once() -> None:
    """My caret names the character after it, so typing before that character leaves its
    id as it was: reported after every keystroke, it is computed once. A collaborator's
    caret resolved on every repaint likewise."""
    a, b = Replica(7), Replica(8)
    a.edit(0, 0, "The quick brown fox, 한국어 😀.\n" * 50)
    b.receive(a)
    caret = 300
    theirs = b.positions.encode(600)
    first = a.positions.encode(caret)
    assert a.positions.decode(theirs) == 600
    computed = a.positions.computed
    for k in range(40):
        a.edit(caret, 0, "xé😀"[k % 3])
        caret += 2 if k % 3 == 2 else 1
        assert a.positions.encode(caret) == first
        assert a.positions.decode(theirs) == 600 + caret - 300
        b.receive(a)
        b.edit(b.index.len16 - 5, 0, "y")  # the collaborator types after both carets
        a.receive(b)
    assert a.positions.computed == computed
    assert_exact(a, b)


def test_deleting_the_named_character_forgets_the_position() -> None:
    a = Replica(7)
    a.edit(0, 0, "abcdef")
    before = a.positions.encode(3)  # names "d"
    a.edit(2, 2, "")  # "c" and "d" go
    computed = a.positions.computed
    after = a.positions.encode(2)  # now "e": computed again, not carried
    assert a.positions.computed == computed + 1
    assert after != before
    fresh = RelativePositions(a.text, TextIndex(str(a.text)))
    assert after == fresh.encode(2)
    fresh.close()


def test_more_edits_than_the_index_remembers_start_over() -> None:
    a, b = Replica(7), Replica(8)
    a.edit(0, 0, "hello world, hello again\n")
    b.receive(a)
    rpos = b.positions.encode(20)
    assert a.positions.decode(rpos) == 20
    for _ in range(EDIT_LOG + 5):
        a.edit(0, 0, "z")
    assert a.index.edits_since(0) is None
    computed = a.positions.computed
    assert a.positions.decode(rpos) == 20 + EDIT_LOG + 5
    assert a.positions.computed > computed  # found again, not carried from a lost trail


def test_index_edit_log() -> None:
    index = TextIndex("héllo 😀")
    v = index.version
    index.apply(1, 1, "e")
    index.apply(6, 0, "!!")
    index.apply(0, 0, "")  # no change, no edit
    assert index.version == v + 2
    assert index.edits_since(v) == [(1, 1, 1), (6, 0, 2)]
    assert index.edits_since(v + 1) == [(6, 0, 2)]
    assert index.edits_since(index.version) == []
    for _ in range(EDIT_LOG):
        index.apply(0, 0, "a")
    assert index.edits_since(v) is None
    assert index.edits_since(index.version - EDIT_LOG) is not None
