"""Restoring a version (editor_app.core.restore) against real pycrdt documents.

The contract the version history dialog relies on: after :func:`restore` the document's
content (text and every attribute) and title read exactly like the version's; the change
is one local-edit transaction that leaves the common start and end alone, merges with a
collaborator's concurrent edit, keeps the editor's UTF-16 mirror in step, and is undone in
one step by an undo manager that tracks local edits, as the editor's does.
"""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest
from hypothesis import given
from hypothesis import strategies as st

from editor_app.core.errors import UnreadableEncoding
from editor_app.core.offsets import TextIndex, utf8_len, utf16_len
from editor_app.core.restore import content_delta, document_from_update, plan, restore
from editor_app.core.schema import content, meta, title
from editor_app.core.text_ops import mirror_text
from shared.origins import Origin

HANGUL = "한국어 문서"
EMOJI = "😀👍🏽🇰🇷"
COMBINING = "cafe\u0301 n\u0303"  # é and ñ as base letter + combining mark

Runs = list[tuple[Any, dict[str, Any] | None]]


def make_doc(runs: Runs, doc_title: str = "") -> pycrdt.Doc[Any]:
    """A document whose content is ``runs`` ((string or embed, attributes) in order)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    text = content(doc)
    with doc.transaction():
        at = 0
        for value, attrs in runs:
            if isinstance(value, str):
                text.insert(at, value, attrs or {})
                at += utf8_len(value)
            else:
                text.insert_embed(at, value, attrs or {})
                at += 1
        if doc_title:
            meta(doc)["title"] = doc_title
    return doc


def version_of(runs: Runs, doc_title: str = "") -> pycrdt.Doc[Any]:
    """The version as the editor gets it: the server's bytes read into a new document."""
    return document_from_update(make_doc(runs, doc_title).get_update())


def sync(a: pycrdt.Doc[Any], b: pycrdt.Doc[Any]) -> None:
    """Exchange what each side misses (as the relay would, whatever the order)."""
    to_b = a.get_update(b.get_state())
    to_a = b.get_update(a.get_state())
    with b.transaction(origin=Origin.REMOTE):
        b.apply_update(to_b)
    with a.transaction(origin=Origin.REMOTE):
        a.apply_update(to_a)


def local_undo(doc: pycrdt.Doc[Any]) -> pycrdt.UndoManager:
    """An undo manager configured like the editor's: local edits only."""
    undo = pycrdt.UndoManager(scopes=[content(doc)], capture_timeout_millis=0)
    undo.include_origin(Origin.LOCAL_EDIT)
    return undo


CURRENT: Runs = [
    ("Plan ", {"bold": True}),
    (HANGUL, {"italic": True}),
    ("\n", {"header": 1}),
    (f"{EMOJI} {COMBINING} ", None),
    ("link", {"link": "https://example.org"}),
    ("\n", {"list": "bullet"}),
    ("end", None),
]
OLDER: Runs = [
    ("Plan ", None),
    (f"{HANGUL} {EMOJI}", {"bold": True, "color": "#e60000"}),
    ("\n", {"header": 2}),
    (COMBINING, {"underline": True}),
    ({"image": "https://example.org/a.png"}, None),
    ("\n", {"list": "ordered", "indent": 1}),
    ("e\u0301nd 🙂", {"code": True}),
]


@pytest.mark.parametrize(
    ("now", "then"),
    [
        (CURRENT, OLDER),
        (OLDER, CURRENT),
        (CURRENT, []),
        ([], OLDER),
        (CURRENT, [("Plan ", {"bold": True}), ("새 글 😀", {"bold": True})]),
        ([(COMBINING, None)], [("cafe n", None)]),  # only the combining marks go
        ([(f"a{EMOJI}b", None)], [(f"a{EMOJI}b", {"bold": True})]),  # a format change
    ],
    ids=["newer-to-older", "older-to-newer", "to-empty", "from-empty", "shared-prefix",
         "combining-marks", "format-only"],
)  # fmt: skip
def test_after_restore_the_document_reads_like_the_version(now: Runs, then: Runs) -> None:
    doc, version = make_doc(now, "Now"), version_of(then, "Then")
    restore(doc, version)
    assert content_delta(doc) == content_delta(version)
    assert title(doc) == "Then"


def test_the_edit_leaves_the_common_start_and_end_alone() -> None:
    before = f"{HANGUL} {EMOJI} {COMBINING}"
    doc = make_doc([(f"{before} tail", None)])
    version = version_of([(f"{before} brave tail", None)])
    edit = restore(doc, version)
    assert (edit.pos8, edit.delete8) == (utf8_len(before + " "), 0)
    assert (edit.pos16, edit.delete16) == (utf16_len(before + " "), 0)
    assert edit.insert == (("brave ", {}),)
    assert str(content(doc)) == f"{before} brave tail"


def test_inserted_text_does_not_inherit_its_neighbours_formats() -> None:
    doc = make_doc([("bold", {"bold": True}), ("\n", {"header": 1})])
    version = version_of([("bold", {"bold": True}), (" plain", None), ("\n", {"header": 1})])
    restore(doc, version)
    assert content_delta(doc) == [
        ("bold", {"bold": True}),
        (" plain", None),
        ("\n", {"header": 1}),
    ]


def test_restoring_the_same_content_changes_nothing() -> None:
    doc = make_doc(CURRENT, "Same")
    updates: list[bytes] = []
    doc.observe(lambda event: updates.append(event.update))
    edit = restore(doc, version_of(CURRENT, "Same"))
    assert edit.empty
    assert content_delta(doc) == content_delta(version_of(CURRENT))
    assert all(u == b"\x00\x00" for u in updates)  # an empty transaction at most


def test_the_mirror_index_stays_in_step() -> None:
    doc = make_doc(CURRENT)
    index = TextIndex(mirror_text(content(doc)))
    restore(doc, version_of(OLDER), index=index)
    assert index.text == mirror_text(content(doc))
    assert index.len8 == len(content(doc))


def test_the_restore_is_one_local_edit_transaction() -> None:
    doc = make_doc(CURRENT)
    origins: list[Any] = []
    doc.observe(lambda event: origins.append(event.transaction.origin()))
    restore(doc, version_of(OLDER, "Then"))
    assert origins == [hash(Origin.LOCAL_EDIT)]


def test_a_concurrent_remote_edit_merges_with_the_restore() -> None:
    mine = make_doc(CURRENT)
    theirs: pycrdt.Doc[Any] = pycrdt.Doc()
    sync(mine, theirs)
    restore(mine, version_of(OLDER))
    text = content(theirs)
    with theirs.transaction(origin=Origin.LOCAL_EDIT):  # typed at the end meanwhile
        text.insert(len(text), " — 추가 ✍️", {})
    sync(mine, theirs)
    assert content_delta(mine) == content_delta(theirs)
    assert str(content(mine)).endswith(" — 추가 ✍️")
    assert str(content(mine)).startswith(f"Plan {HANGUL} {EMOJI}")


def test_undo_returns_to_the_text_before_the_restore() -> None:
    doc = make_doc([])
    undo = local_undo(doc)
    text = content(doc)
    with doc.transaction(origin=Origin.LOCAL_EDIT):  # typed by this user
        for value, attrs in CURRENT:
            text.insert(len(text), value, attrs or {})
    before = content_delta(doc)
    restore(doc, version_of(OLDER))
    assert content_delta(doc) != before
    assert undo.undo()
    assert content_delta(doc) == before
    assert undo.redo()
    assert content_delta(doc) == content_delta(version_of(OLDER))


def test_undo_keeps_a_collaborators_later_edit() -> None:
    mine = make_doc(CURRENT)
    theirs: pycrdt.Doc[Any] = pycrdt.Doc()
    sync(mine, theirs)
    undo = local_undo(mine)
    restore(mine, version_of(OLDER))
    sync(mine, theirs)
    with theirs.transaction(origin=Origin.LOCAL_EDIT):
        content(theirs).insert(0, "✍️ ", {})
    sync(mine, theirs)
    assert undo.undo()
    assert str(content(mine)) == "✍️ " + str(content(make_doc(CURRENT)))


def test_a_version_that_is_not_an_update_is_refused() -> None:
    with pytest.raises(UnreadableEncoding):
        document_from_update(b"\xff\xfe not a Yjs update")


def test_plan_counts_embeds_as_one_pycrdt_unit() -> None:
    embed = {"image": "x.png"}
    edit = plan([("ab", None), (embed, None), ("c", None)], [("ab", None), ("c", None)])
    assert (edit.pos8, edit.delete8, edit.pos16, edit.delete16) == (2, 1, 2, 1)


PIECES = st.sampled_from(["a", "b ", HANGUL, "😀", "👍🏽", "e\u0301", "\n", "中"])
ATTRS = st.sampled_from(
    [None, {"bold": True}, {"italic": True, "color": "#0066cc"}, {"header": 2}, {"list": "ordered"}]
)
DOCS = st.lists(st.tuples(PIECES, ATTRS), max_size=12)


@given(now=DOCS, then=DOCS)
def test_random_documents_restore_exactly(now: Runs, then: Runs) -> None:
    doc, version = make_doc(now), version_of(then)
    index = TextIndex(mirror_text(content(doc)))
    restore(doc, version, index=index)
    assert content_delta(doc) == content_delta(version)
    assert index.text == mirror_text(content(doc))
