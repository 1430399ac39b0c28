"""Presence: Yjs RelativePosition JSON <-> UTF-16 offsets, and the collaborator list.

The interop test asks a real Yjs (tests/interop/node) to create and resolve relative
positions on the same document, so "compatible with y-quill" is checked, not assumed.
"""

from __future__ import annotations

import base64
import json
import os
import random
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pycrdt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from editor_app.core.errors import PositionUnavailable
from editor_app.core.offsets import TextIndex
from editor_app.core.presence import (
    PALETTE,
    Collaborator,
    PresenceTracker,
    default_color,
    fallback_name,
)
from editor_app.core.relative_position import RelativePositions
from editor_app.core.schema import content
from editor_app.core.text_ops import apply_local_change, apply_local_format
from shared.origins import Origin
from tests.support.text import boundaries16

NODE_DIR = Path(__file__).resolve().parents[1] / "interop" / "node"


class Replica:
    def __init__(self, client_id: int) -> None:
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
        self.text = content(self.doc)
        self.index = TextIndex()

    def edit(self, pos16: int, removed16: int, s: str) -> None:
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            apply_local_change(self.text, self.index, pos16, removed16, s)

    def sync_from(self, other: Replica) -> None:
        self.doc.apply_update(other.doc.get_update(self.doc.get_state()))
        self.index = TextIndex(str(self.text))

    def positions(self) -> RelativePositions:
        return RelativePositions(self.text, self.index)


def interleaved() -> tuple[Replica, Replica]:
    """Two clients editing one text: several items, non-ASCII in and between them."""
    a, b = Replica(7), Replica(8)
    a.edit(0, 0, "한국어 abc 😀 e\u0301 中文")
    b.sync_from(a)
    b.edit(3, 0, "XY😀")  # inside a's item: splits it
    a.sync_from(b)
    a.edit(a.index.len16, 0, " 끝")
    a.edit(1, 1, "")  # delete 국
    b.sync_from(a)
    b.edit(0, 0, "é")
    a.sync_from(b)
    assert str(a.text) == str(b.text)
    return a, b


def test_encode_uses_yjs_clocks_not_bytes() -> None:
    a = Replica(7)
    a.edit(0, 0, "한국어abc")
    pos = a.positions()
    assert pos.encode(1) == {
        "type": None,
        "tname": "content",
        "item": {"client": 7, "clock": 1},  # pycrdt's sticky_index alone says clock 3
        "assoc": 0,
    }
    assert pos.encode(3)["item"] == {"client": 7, "clock": 3}
    assert pos.encode(6) == {"type": None, "tname": "content", "item": None, "assoc": 0}
    assert pos.encode(0, assoc=-1) == {"type": None, "tname": "content", "item": None, "assoc": -1}
    assert pos.encode(6, assoc=-1)["item"] == {"client": 7, "clock": 5}


def test_round_trip_on_every_boundary_and_across_replicas() -> None:
    a, b = interleaved()
    s = str(a.text)
    pa, pb = a.positions(), b.positions()
    for p in boundaries16(s):
        for assoc in (0, -1):
            rel = pa.encode(p, assoc)
            assert pb.decode(rel) == p, (p, assoc, rel)
            assert pa.decode(json.loads(json.dumps(rel))) == p


def test_cursor_follows_its_character_through_remote_edits() -> None:
    a, b = interleaved()
    s = str(a.text)
    target = s.index("中")
    p16 = len(s[:target].encode("utf-16-le")) // 2
    rel = a.positions().encode(p16)
    b.edit(0, 0, "😀😀 새 ")  # 7 UTF-16 units before the cursor
    a.sync_from(b)
    moved = a.positions().decode(rel)
    assert moved == p16 + 7
    units = str(a.text).encode("utf-16-le")
    assert units[2 * moved : 2 * moved + 2].decode("utf-16-le") == "中"


def test_deleted_character_resolves_to_where_it_was() -> None:
    a, b = interleaved()
    rel = a.positions().encode(2)
    removed_char = a.index.text[2]
    a.edit(2, len(removed_char.encode("utf-16-le")) // 2, "")
    assert a.positions().decode(rel) == 2


def test_unknown_or_foreign_positions_are_none() -> None:
    a = Replica(7)
    a.edit(0, 0, "abc")
    pos = a.positions()
    assert pos.decode({"type": None, "tname": None, "item": {"client": 999, "clock": 0}}) is None
    assert pos.decode({"type": {"client": 1, "clock": 2}, "tname": None, "item": None}) is None
    assert pos.decode("garbage") is None
    assert pos.decode({"item": {"client": "x"}}) is None
    assert pos.decode({"tname": "content"}) == 3  # missing keys accepted, assoc 0 = end


def run_yjs(update: bytes, rels: list[dict[str, Any]]) -> dict[str, Any]:
    script = """
    import { readFileSync } from 'node:fs'
    import * as Y from 'yjs'
    const input = JSON.parse(readFileSync(0, 'utf8'))
    const doc = new Y.Doc()
    Y.applyUpdate(doc, Buffer.from(input.update, 'base64'))
    const t = doc.getText('content')
    const out = { str: t.toString(), rel: [], relBefore: [], abs: [] }
    for (let i = 0; i <= t.length; i++) {
      out.rel.push(JSON.parse(JSON.stringify(Y.createRelativePositionFromTypeIndex(t, i))))
      const before = Y.createRelativePositionFromTypeIndex(t, i, -1)
      out.relBefore.push(JSON.parse(JSON.stringify(before)))
    }
    for (const r of input.rels) {
      const rel = Y.createRelativePositionFromJSON(r)
      const a = Y.createAbsolutePositionFromRelativePosition(rel, doc)
      out.abs.push(a ? a.index : null)
    }
    process.stdout.write(JSON.stringify(out))
    """
    payload = json.dumps({"update": base64.b64encode(update).decode(), "rels": rels})
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", script],
        input=payload,
        capture_output=True,
        text=True,
        cwd=NODE_DIR,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, Any] = json.loads(proc.stdout)
    return result


@pytest.mark.interop
@pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "yjs").exists(),
    reason="needs Node.js and tests/interop/node/node_modules",
)
def test_relative_positions_match_a_real_yjs() -> None:
    a, _ = interleaved()
    with a.doc.transaction(origin=Origin.LOCAL_EDIT):  # format items between characters
        apply_local_format(a.text, a.index, 2, 5, {"bold": True})
        apply_local_format(a.text, a.index, 9, 1, {"italic": True})
    s = str(a.text)
    pos = a.positions()
    bounds = boundaries16(s)
    ours = [pos.encode(p) for p in bounds] + [pos.encode(p, -1) for p in bounds]
    yjs = run_yjs(a.doc.get_update(), ours)
    assert yjs["str"] == s
    assert yjs["abs"] == bounds + bounds  # Yjs resolves what we wrote
    for p in bounds:  # we write exactly what Yjs writes, and resolve what it writes
        assert pos.encode(p) == yjs["rel"][p], p
        assert pos.encode(p, -1) == yjs["relBefore"][p], p
        assert pos.decode(yjs["rel"][p]) == p
        assert pos.decode(yjs["relBefore"][p]) == p


# --------------------------------------------------------------------------- tracker


def tracker_pair() -> tuple[PresenceTracker, PresenceTracker, Replica, Replica]:
    a, b = interleaved()
    ta = PresenceTracker(pycrdt.Awareness(a.doc), a.text, a.index)
    tb = PresenceTracker(pycrdt.Awareness(b.doc), b.text, b.index)
    return ta, tb, a, b


def relay_awareness(src: PresenceTracker, dst: PresenceTracker) -> None:
    aw = src.awareness
    dst.awareness.apply_awareness_update(aw.encode_awareness_update([aw.client_id]), "remote")


def test_collaborators_see_name_color_and_cursor() -> None:
    ta, tb, a, b = tracker_pair()
    calls: list[int] = []
    unsubscribe = ta.add_listener(lambda: calls.append(1))
    tb.set_user("김민수", "#ee6352")
    tb.set_local_cursor(2, 5)
    assert calls == []  # b's own changes do not reach a until relayed
    relay_awareness(tb, ta)
    assert calls
    assert ta.collaborators() == [Collaborator(b.doc.client_id, "김민수", "#ee6352", 2, 5)]
    assert tb.collaborators() == []  # never ourselves
    tb.set_local_cursor(None, None)
    relay_awareness(tb, ta)
    assert ta.collaborators()[0].anchor is None
    unsubscribe()
    n = len(calls)
    tb.set_user("Min-su", "#ee6352")
    relay_awareness(tb, ta)
    assert len(calls) == n
    ta.set_user("Ann", "#30bced")  # our own change does not notify
    assert len(calls) == n
    ta.close()
    tb.close()


def test_state_from_a_real_yjs_client_shape() -> None:
    """What y-quill + y-websocket publish: user, and cursor with all four keys."""
    ta, _, a, _ = tracker_pair()
    rel_anchor = {"type": None, "tname": None, "item": {"client": 7, "clock": 0}, "assoc": 0}
    rel_head = {"type": None, "tname": "content", "item": None, "assoc": 0}
    state = {"user": {"name": "Quill user", "color": "#30bced"}}
    state["cursor"] = {"anchor": rel_anchor, "head": rel_head}  # type: ignore[assignment]
    web = pycrdt.Awareness(pycrdt.Doc(client_id=4242))
    web.set_local_state(state)
    ta.awareness.apply_awareness_update(web.encode_awareness_update([4242]), "remote")
    (peer,) = ta.collaborators()
    assert (peer.client_id, peer.name, peer.color) == (4242, "Quill user", "#30bced")
    assert peer.head == a.index.len16
    assert peer.anchor == a.positions().decode(rel_anchor)


def test_state_without_user_gets_fallback_name_and_color() -> None:
    ta, _, _, _ = tracker_pair()
    other = pycrdt.Awareness(pycrdt.Doc(client_id=31337))
    other.set_local_state({"cursor": None})
    ta.awareness.apply_awareness_update(other.encode_awareness_update([31337]), "remote")
    other.set_local_state({"user": {"name": "  ", "color": "red"}})
    (peer,) = ta.collaborators()
    assert peer.name == fallback_name(31337)
    assert peer.color == default_color(31337) in PALETTE
    assert (peer.anchor, peer.head) == (None, None)


def test_departure_notifies_and_removes() -> None:
    ta, tb, _, b = tracker_pair()
    tb.set_user("Bo", "#123456")
    relay_awareness(tb, ta)
    calls: list[int] = []
    ta.add_listener(lambda: calls.append(1))
    ta.awareness.remove_awareness_states([b.doc.client_id], "disconnect")
    assert calls and ta.collaborators() == []


def test_cursor_set_inside_a_write_observer_is_deferred_then_flushed() -> None:
    a = Replica(7)
    a.edit(0, 0, "hello")
    tracker = PresenceTracker(pycrdt.Awareness(a.doc), a.text, a.index)

    def on_change(_event: Any) -> None:
        tracker.set_local_cursor(1, 1)  # pycrdt cannot compute positions here

    sub = a.text.observe(on_change)
    a.edit(5, 0, "!")
    a.text.unobserve(sub)
    state = tracker.awareness.get_local_state() or {}
    assert state.get("cursor") is None
    tracker.flush()
    state = tracker.awareness.get_local_state() or {}
    assert state["cursor"]["anchor"]["item"] == {"client": 7, "clock": 1}


ALPHABET = "ab \n한국😀e\u0301中"

Script = list[tuple[bool, float, int, str, dict[str, Any] | None]]

scripts = st.lists(
    st.tuples(
        st.booleans(),
        st.floats(0, 1),
        st.integers(0, 2),
        st.text(ALPHABET, max_size=6),
        st.sampled_from([None, {"bold": True}, {"bold": None}, {"header": 1}]),
    ),
    max_size=14,
)


def play(script: Script) -> tuple[Replica, Replica]:
    """Two clients run ``script`` (inserts, deletes, formatting; sometimes exchanging, sometimes
    editing concurrently) and end in sync."""
    a, b = Replica(7), Replica(8)
    for by_a, where, delete, inserted, attrs in script:
        who, other = (a, b) if by_a else (b, a)
        bounds = boundaries16(str(who.text))
        i = int(where * (len(bounds) - 1))
        j = min(i + delete, len(bounds) - 1)
        if attrs is not None and j > i and not inserted:
            with who.doc.transaction(origin=Origin.LOCAL_EDIT):
                apply_local_format(who.text, who.index, bounds[i], bounds[j] - bounds[i], attrs)
        else:
            who.edit(bounds[i], bounds[j] - bounds[i], inserted)
        if where > 0.5:
            other.sync_from(who)
            who.sync_from(other)
    a.sync_from(b)
    b.sync_from(a)
    return a, b


# Random examples, a new set on every run (the resolver is exact, so any failure is a real
# bug; Hypothesis prints the script). COSCRIBE_HYPOTHESIS_PROFILE=nightly searches with
# 20,000 examples (tests/conftest.py). Scripts it found are kept below as regression tests.
@settings(deadline=None)
@given(scripts)
def test_round_trip_after_random_concurrent_edits(script: Script) -> None:
    """Inserts, deletes (tombstones) and formatting (format items) from two clients."""
    a, b = play(script)
    pa, pb = a.positions(), b.positions()
    for p in boundaries16(str(a.text)):
        assert pb.decode(pa.encode(p)) == p
        assert pa.decode(pb.encode(p, -1)) == p


#: Found by the property test above when the resolver was inexact: CJK text, tombstones and
#: a bold format item made a position decode one or two UTF-16 units off on the other
#: replica (root cause: a character with a formatting marker before it and a tombstone after
#: it had no visible marker origin, and the fallback search took a CJK character plus as
#: many deleted units as its extra UTF-8 bytes for one run of clocks).
FOUND_BY_THE_PROPERTY_TEST: list[Script] = [
    [(False, 0.0, 0, "a", None), (False, 0.0, 0, "aaa", None), (False, 0.25, 1, "", None),
     (False, 0.0, 0, "中aaaa", None), (False, 0.0, 0, "aaa", None), (False, 1.0, 0, "a", None),
     (False, 0.375, 2, "", None), (False, 0.5, 1, "", {"bold": True})],
    [(False, 0.0, 0, "a", None), (False, 0.0, 1, "", None), (True, 0.0, 0, "中aaa", None),
     (False, 1.0, 0, "", None), (False, 0.0, 1, "", {"bold": True}), (False, 0.25, 2, "", None)],
]  # fmt: skip

#: Found by comparing with a real Yjs (test_random_documents_match_a_real_yjs) when the
#: resolver was inexact: Yjs's positions resolved two units off.
FOUND_BY_THE_YJS_ORACLE: list[Script] = [
    [(True, 0.9081766365649055, 1, "\n\n국", {"bold": None}),
     (True, 0.9434417619781348, 0, "bb", {"italic": True}),
     (False, 0.9648130806817723, 3, "a ", {"bold": True}),
     (False, 0.8835127367060964, 0, "\n 국한e", {"link": "x"}),
     (True, 0.32982723566169114, 0, "😀\n中한😀😀", None),
     (True, 0.5247771221775667, 1, "😀한국", {"header": 1}),
     (False, 0.5286263674230197, 2, "국", {"bold": True}),
     (False, 0.4444006788752036, 3, "", {"bold": True}),
     (False, 0.6354775917375075, 3, "中한", None),
     (True, 0.7020217334301796, 3, " \nb", {"bold": True}),
     (True, 0.17781068999922323, 3, "\u0301\u0301\u0301b\n", {"link": "x"}),
     (True, 0.8868814589216308, 1, "한한\n", {"bold": True}),
     (True, 0.20329510278546425, 3, "국ee국a", {"link": "x"})],
    [(False, 0.8962871790113834, 1, "中a😀😀", {"bold": None}),
     (True, 0.9338348507194794, 2, "中中😀😀", {"bold": None}),
     (False, 0.5707506191949381, 3, "aa中中😀", {"link": "x"}),
     (False, 0.08080325537540645, 3, "", {"bold": True}),
     (False, 0.5386502689825843, 1, "", {"link": "x"}),
     (False, 0.7081938719756768, 1, "中", {"bold": None}),
     (True, 0.18700490492743294, 0, "😀a😀😀a", {"link": "x"})],
    # The exact fallback's first version: deleting "국" in the private copy also deleted a
    # formatting marker that became redundant, so its delete set held two ids.
    [(True, 0.9793133364235742, 2, " ", {"italic": True}),
     (False, 0.49980365826494066, 0, "\u0301 a\n국", {"italic": True}),
     (False, 0.24095581845184855, 2, "e", None),
     (True, 0.7819180314242618, 3, "\u0301a \n", {"italic": True}),
     (True, 0.15712144158803265, 2, "", {"header": 1}),
     (True, 0.7741717282682989, 0, "a한ea", {"header": 1}),
     (False, 0.3785475113316408, 1, " \u0301中b😀", {"link": "x"}),
     (True, 0.36881913806474453, 1, "", {"header": 1})],
    # Its second: the delete set merged an emoji with the formatting marker after it, so
    # both halves of "👍" looked like the start of a visible id (the nightly run found it).
    [(False, 0.24761058083996168, 1, "\u0301🏽🏽각👍🏽", {"bold": None}),
     (False, 0.8050814659437812, 3, "👍", {"header": 1}),
     (False, 0.9643604569755426, 3, "", {"bold": True}),
     (False, 0.732086514563964, 0, "éb", {"italic": True}),
     (False, 0.05421622428256889, 2, "\u200d", {"bold": None}),
     (False, 0.4353846236091138, 3, "👨", {"header": 1}),
     (False, 0.9436906041730652, 3, "👩", {"header": 1}),
     (False, 0.9872361453621267, 1, "👍", {"bold": True}),
     (False, 0.9798862304971544, 3, "", {"bold": True}),
     (False, 0.12012035138719235, 3, "", {"header": 1})],
]  # fmt: skip


@pytest.mark.parametrize("script", FOUND_BY_THE_PROPERTY_TEST + FOUND_BY_THE_YJS_ORACLE)
def test_round_trip_regressions(script: Script) -> None:
    test_round_trip_after_random_concurrent_edits.hypothesis.inner_test(script)  # type: ignore[attr-defined]


def test_character_between_a_format_marker_and_a_tombstone() -> None:
    """ "中a" with 中 bold: a formatting marker before "a", deleted "aa" (and another client's
    deleted "a") after it, so neither marker origin is a visible character. The ids are
    what a real Yjs writes (checked with tests/interop/node)."""
    a, b = play(FOUND_BY_THE_PROPERTY_TEST[1])
    assert str(a.text) == "中a"
    for replica in (a, b):
        pos = replica.positions()
        assert pos.encode(1)["item"] == {"client": 7, "clock": 3}
        assert pos.encode(2, -1)["item"] == {"client": 7, "clock": 3}
        assert pos.encode(1, -1)["item"] == {"client": 7, "clock": 0}
        assert pos.decode({"type": None, "tname": "content", "item": {"client": 7, "clock": 3},
                           "assoc": 0}) == 1  # fmt: skip
        pos.close()


# --------------------------------------------------------------------------- a real Yjs

YJS_POSITIONS = """
import { readFileSync } from 'node:fs'
import * as Y from 'yjs'
const out = []
for (const update of JSON.parse(readFileSync(0, 'utf8'))) {
  const doc = new Y.Doc()
  Y.applyUpdate(doc, Buffer.from(update, 'base64'))
  const t = doc.getText('content')
  const rel = [], before = []
  for (let i = 0; i <= t.length; i++) {
    rel.push(JSON.parse(JSON.stringify(Y.createRelativePositionFromTypeIndex(t, i))))
    before.push(JSON.parse(JSON.stringify(Y.createRelativePositionFromTypeIndex(t, i, -1))))
  }
  out.push({ str: t.toString(), rel, before })
}
process.stdout.write(JSON.stringify(out))
"""
ORACLE_ALPHABETS = ("ab \n한국😀e\u0301中", "a中😀", "ab👍🏽👨\u200d👩\u200d👧é\u0301각\n")
ORACLE_ATTRS = (None, {"bold": True}, {"bold": None}, {"header": 1}, {"italic": True})


def random_script(rng: random.Random) -> Script:
    alphabet = rng.choice(ORACLE_ALPHABETS)
    return [
        (
            rng.random() < 0.5,
            rng.random(),
            rng.randint(0, 3),
            "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 6))),
            rng.choice(ORACLE_ATTRS),
        )
        for _ in range(rng.randint(0, 16))
    ]


@pytest.mark.interop
@pytest.mark.skipif(
    shutil.which("node") is None or not (NODE_DIR / "node_modules" / "yjs").exists(),
    reason="needs Node.js and tests/interop/node/node_modules",
)
def test_random_documents_match_a_real_yjs() -> None:
    """For every position of many random documents, both replicas write exactly the
    RelativePosition a real Yjs writes (assoc 0 and -1) and resolve Yjs's to the same
    offset. A fresh random seed every run (COSCRIBE_ORACLE_SEED replays one); the nightly
    Hypothesis profile multiplies the number of documents by 50."""
    seed = int(os.environ.get("COSCRIBE_ORACLE_SEED") or random.randrange(2**32))
    rng = random.Random(seed)
    count = max(100, settings.default.max_examples // 4)
    batch = FOUND_BY_THE_PROPERTY_TEST + FOUND_BY_THE_YJS_ORACLE
    batch += [random_script(rng) for _ in range(count)]
    played = [play(script) for script in batch]
    updates = [base64.b64encode(a.doc.get_update()).decode() for a, _ in played]
    proc = subprocess.run(
        ["node", "--input-type=module", "-e", YJS_POSITIONS],
        input=json.dumps(updates),
        capture_output=True,
        text=True,
        cwd=NODE_DIR,
        timeout=1800,
    )
    assert proc.returncode == 0, proc.stderr
    for script, (a, b), yjs in zip(batch, played, json.loads(proc.stdout), strict=True):
        where = f"seed {seed}, script {script!r}"
        assert yjs["str"] == str(a.text), where
        for replica in (a, b):
            pos = replica.positions()
            for p in boundaries16(yjs["str"]):
                try:
                    assert pos.encode(p) == yjs["rel"][p]
                    assert pos.encode(p, -1) == yjs["before"][p]
                    assert pos.decode(yjs["rel"][p]) == p
                    assert pos.decode(yjs["before"][p]) == p
                except (AssertionError, PositionUnavailable) as exc:
                    raise AssertionError(f"position {p}, {where}: {exc!r}") from exc
            pos.close()
