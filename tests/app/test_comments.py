"""Comment threads (docs/schema.md §3.1): anchors that follow their text, replies, resolve,
own-message edits, "text deleted", and two replicas that converge.

Each replica is a real pycrdt document with its own TextIndex kept in step the way the
editor keeps it (local edits through ``apply_local_change``, a rebuild after a sync).
"""

from __future__ import annotations

from typing import Any

import pycrdt
import pytest

from editor_app.core.comments import (
    COMMENTS,
    Comments,
    Thread,
    decode_relative_position,
    encode_relative_position,
)
from editor_app.core.offsets import TextIndex, utf16_len
from editor_app.core.schema import content
from editor_app.core.text_ops import apply_local_change
from shared.origins import Origin

#: 1 ms after the epoch, then 2, 3...: messages get distinct, ordered times.
_ticks = iter(range(1, 10**6))


class Replica:
    """One person's copy: a doc, its text index, and the comments model over them."""

    def __init__(self, client_id: int, name: str) -> None:
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc(client_id=client_id)
        self.text = content(self.doc)
        self.name = name
        self.index = TextIndex()
        self.comments = self._comments()

    def _comments(self) -> Comments:
        return Comments(
            self.doc, self.text, self.index, lambda: self.name, clock=lambda: float(next(_ticks))
        )

    def reindex(self) -> None:
        """After a sync: a fresh index of the text (the editor's model keeps one in step)."""
        self.comments.close()
        self.index = TextIndex(str(self.text))
        self.comments = self._comments()

    def edit(self, pos16: int, removed16: int, s: str) -> None:
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            apply_local_change(self.text, self.index, pos16, removed16, s)

    def find(self, s: str) -> tuple[int, int]:
        """UTF-16 range of the first ``s`` in the text."""
        text = self.index.text
        start = utf16_len(text[: text.index(s)])
        return start, start + utf16_len(s)

    def commented(self, thread: Thread) -> str:
        assert thread.start is not None and thread.end is not None
        return self.index.slice16(thread.start, thread.end)

    def only_thread(self) -> Thread:
        (thread,) = self.comments.threads()
        return thread


def sync(a: Replica, b: Replica) -> None:
    """Both ways, as the relay would (updates with the remote origin)."""
    for src, dst in ((a, b), (b, a)):
        update = src.doc.get_update(dst.doc.get_state())
        with dst.doc.transaction(origin=Origin.REMOTE):
            dst.doc.apply_update(update)
        dst.reindex()


def commented_pair(text: str, quoted: str, comment: str) -> tuple[Replica, Replica]:
    """Ada and Bo share ``text``; Ada opens a thread on ``quoted`` and both have it."""
    a, b = Replica(1, "Ada"), Replica(2, "Bo")
    a.edit(0, 0, text)
    sync(a, b)
    thread_id = a.comments.open_thread(a.find(quoted), comment)
    assert thread_id is not None
    sync(a, b)
    return a, b


TEXTS = [
    pytest.param("안녕하세요 여러분, 반갑습니다", "여러분", id="hangul"),
    pytest.param("start 😀🎉 middle 👩‍👩‍👧 end", "🎉 middle 👩‍👩‍👧", id="emoji"),
    pytest.param(
        "cafe\u0301 na\u0303o e\u0301te\u0301 fin", "na\u0303o e\u0301te\u0301", id="combining"
    ),
]


@pytest.mark.parametrize(("text", "quoted"), TEXTS)
def test_a_thread_keeps_its_text_while_others_type_around_and_inside(
    text: str, quoted: str
) -> None:
    a, b = commented_pair(text + "\n", quoted, "Look at this")
    # Concurrent: Bo types before, inside and after the quote; Ada types after it.
    start, end = b.find(quoted)
    b.edit(end, 0, "후😀")
    b.edit(start + utf16_len(quoted[0]), 0, "é")  # inside: the thread grows with it
    b.edit(0, 0, "🎈 before ")
    a.edit(a.index.len16 - 1, 0, " (Ada)")
    sync(a, b)
    assert str(a.text) == str(b.text)
    for replica in (a, b):
        thread = replica.only_thread()
        assert replica.commented(thread) == quoted[0] + "é" + quoted[1:]
        assert thread.quote == quoted
        assert not thread.text_deleted


def test_concurrent_deletes_at_the_edges_shrink_the_thread() -> None:
    a, b = commented_pair("한국어 좋은 아침 😀 하루\n", "좋은 아침 😀", "nice")
    b.edit(*_delete(b, "좋"))  # the first commented character
    a.edit(*_delete(a, "어 "))  # just before, concurrently
    a.edit(*_delete(a, "😀"))  # the last one
    sync(a, b)
    for replica in (a, b):
        assert replica.commented(replica.only_thread()) == "은 아침 "


def _delete(r: Replica, s: str) -> tuple[int, int, str]:
    start, end = r.find(s)
    return start, end - start, ""


def test_deleted_text_leaves_the_thread_with_its_quote() -> None:
    a, b = commented_pair("keep 👋 gone 한글 keep\n", "gone 한글", "about to vanish")
    b.edit(*_delete(b, "👋 gone 한글 "))
    sync(a, b)
    for replica in (a, b):
        thread = replica.only_thread()
        assert thread.text_deleted
        assert thread.quote == "gone 한글"
        assert thread.start == thread.end == replica.find("keep")[1] + 1
        assert replica.comments.highlights() == []


def test_replies_resolve_and_only_own_messages_change() -> None:
    a, b = Replica(1, "Ada"), Replica(2, "Bo")
    a.edit(0, 0, "Some text\n")
    thread_id = a.comments.open_thread(a.find("text"), "First")
    assert thread_id is not None
    sync(a, b)
    reply = b.comments.reply(thread_id, "  Second 😀  ")
    assert reply is not None
    assert b.comments.reply(thread_id, "   ") is None  # nothing to say: nothing written
    sync(a, b)
    first, second = a.comments.thread(thread_id).messages  # type: ignore[union-attr]
    assert (first.author, first.text) == ("Ada", "First")
    assert (second.author, second.text, second.id) == ("Bo", "Second 😀", reply)
    assert first.created_at < second.created_at
    # Ada may not edit or delete Bo's reply; Bo may.
    assert not a.comments.edit_message(thread_id, reply, "hijacked")
    assert not a.comments.delete_message(thread_id, reply)
    assert b.comments.edit_message(thread_id, reply, "Second, edited")
    assert a.comments.delete_message(thread_id, first.id)
    sync(a, b)
    for replica in (a, b):
        first, second = replica.comments.thread(thread_id).messages  # type: ignore[union-attr]
        assert first.deleted and first.text == "" and first.edited_at is None
        assert second.text == "Second, edited" and second.edited_at is not None
    assert b.comments.set_resolved(thread_id)
    sync(a, b)
    assert a.comments.thread(thread_id).resolved  # type: ignore[union-attr]
    assert a.comments.threads(include_resolved=False) == []
    assert a.comments.highlights() == []
    assert a.comments.set_resolved(thread_id, False)
    sync(a, b)
    assert not b.comments.thread(thread_id).resolved  # type: ignore[union-attr]


def test_threads_are_listed_in_document_order() -> None:
    a = Replica(1, "Ada")
    a.edit(0, 0, "alpha beta gamma\n")
    late = a.comments.open_thread(a.find("gamma"), "3")
    early = a.comments.open_thread(a.find("alpha"), "1")
    middle = a.comments.open_thread(a.find("beta"), "2")
    assert [t.id for t in a.comments.threads()] == [early, middle, late]
    assert [(s, e) for s, e, _ in a.comments.highlights()] == [(0, 5), (6, 10), (11, 16)]


def test_the_stored_shape_is_the_schemas() -> None:
    a = Replica(1, "Ada")
    a.edit(0, 0, "x 😀 y\n")
    thread_id = a.comments.open_thread(a.find("😀 y"), "hi")
    assert thread_id is not None and len(thread_id) == 16
    stored = a.doc.get(COMMENTS, type=pycrdt.Map)[thread_id]
    assert set(stored.keys()) == {
        "start",
        "end",
        "quote",
        "author",
        "created_at",
        "resolved",
        "messages",
    }
    assert isinstance(stored["start"], bytes | bytearray)
    assert decode_relative_position(stored["start"])["assoc"] == 0
    assert decode_relative_position(stored["end"])["assoc"] == -1
    assert stored["quote"] == "😀 y" and stored["resolved"] is False
    (message,) = stored["messages"].to_py()
    assert set(message) == {"id", "author", "text", "created_at", "deleted"}


def test_every_write_is_one_local_edit_transaction_in_the_comments_root() -> None:
    a = Replica(1, "Ada")
    a.edit(0, 0, "text\n")
    seen: list[Any] = []
    sub = a.doc.observe(lambda event: seen.append(event.transaction.origin()))
    thread_id = a.comments.open_thread((0, 4), "one")
    assert thread_id is not None
    a.comments.reply(thread_id, "two")
    a.comments.set_resolved(thread_id)
    a.doc.unobserve(sub)
    assert seen == [hash(Origin.LOCAL_EDIT)] * 3
    assert str(a.text) == "text\n"  # the text itself is never written


def test_relative_positions_encode_as_yjs_does() -> None:
    """Bytes of ``Y.encodeRelativePosition`` (yjs 13.6, checked with node)."""
    item = {"type": None, "tname": None, "item": {"client": 7, "clock": 4}, "assoc": -1}
    root_end = {"type": None, "tname": "content", "item": None, "assoc": -1}
    assert encode_relative_position(item).hex() == "00070441"
    assert encode_relative_position({**item, "assoc": 0}).hex() == "00070400"
    assert encode_relative_position(root_end).hex() == "0107636f6e74656e7441"
    for rpos in (item, root_end, {**item, "item": {"client": 2**40, "clock": 300}}):
        assert decode_relative_position(encode_relative_position(rpos)) == rpos
    assert decode_relative_position(bytes.fromhex("000702"))["assoc"] == 0  # no assoc: 0


def test_foreign_keys_and_garbage_anchors_are_tolerated() -> None:
    a = Replica(1, "Ada")
    a.edit(0, 0, "text\n")
    root = a.doc.get(COMMENTS, type=pycrdt.Map)
    with a.doc.transaction():
        root["not-a-thread"] = "hello"
        root["broken"] = pycrdt.Map({"start": b"\xff\xff", "messages": "nope"})
    (thread,) = a.comments.threads()
    assert thread.id == "broken" and thread.text_deleted and thread.messages == ()
    assert root["not-a-thread"] == "hello"
