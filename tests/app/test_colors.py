"""Each person in a document shows a distinct colour (issue 13, bug 6)."""

from __future__ import annotations

import pycrdt

from editor_app.core.offsets import TextIndex
from editor_app.core.presence import PALETTE, PresenceTracker, distinct_color


def test_the_earlier_client_keeps_its_colour() -> None:
    assert distinct_color("#30bced", 5, {9: "#30BCED"}) == "#30bced"
    assert distinct_color("#30bced", 9, {5: "#30bced"}) == PALETTE[1]
    assert distinct_color("#30bced", 9, {5: "#30bced", 6: PALETTE[1]}) == PALETTE[2]
    assert distinct_color("#123456", 9, {5: "#abcdef"}) == "#123456"


def _tracker(client_id: int) -> PresenceTracker:
    doc: pycrdt.Doc = pycrdt.Doc(client_id=client_id)
    text = doc.get("content", type=pycrdt.Text)
    return PresenceTracker(pycrdt.Awareness(doc), text, TextIndex(""))


def _relay(src: PresenceTracker, dst: PresenceTracker) -> None:
    aw = src.awareness
    dst.awareness.apply_awareness_update(aw.encode_awareness_update([aw.client_id]), "remote")


def test_two_people_with_the_same_settings_get_different_colours() -> None:
    first, second = _tracker(11), _tracker(22)
    first.set_user("Sam", "#1a73e8")
    second.set_user("Sam", "#1a73e8")
    _relay(first, second)
    _relay(second, first)
    assert first.own_color == "#1a73e8"
    assert second.own_color != "#1a73e8"
    _relay(second, first)
    assert {c.color for c in first.collaborators()} == {second.own_color}
    # When the first leaves, the second gets its own colour back.
    second.awareness.remove_awareness_states([11], "gone")
    assert second.own_color == "#1a73e8"
