"""Comment threads in the document: the ``comments`` root of docs/schema.md §3.1.

The root maps a thread id to a ``Y.Map``::

    {"start": Uint8Array, "end": Uint8Array,   # Y.encodeRelativePosition(...)
     "quote": str, "author": str, "created_at": ms, "resolved": bool,
     "messages": Y.Array of Y.Map {"id", "author", "text", "created_at",
                                   "edited_at"?, "deleted"}}

``start`` is the relative position of the first commented character (``assoc = 0``),
``end`` the one of the last (``assoc = -1`` at the end index), both in Yjs's binary form,
so a web Yjs client reads them with ``Y.decodeRelativePosition``. Being relative, the
anchors follow their characters through everyone's edits; when both resolve to the same
place the text was deleted and the thread shows its ``quote``.

:class:`Comments` is Qt-free. It converts positions with
:class:`~editor_app.core.relative_position.RelativePositions` (exact Yjs ids whatever the
text holds: Hangul, emoji, combining marks), in UTF-16 units like Qt and Yjs. Every write
is one transaction with origin ``LOCAL_EDIT``, so the sync client sends it and the local
store keeps it; only the ``comments`` root is ever written (all a commenter may write).
A person edits and deletes only their own messages, recognised by name (a convention of
the schema: the server does not check names).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pycrdt

from shared import lib0
from shared.origins import Origin

from .errors import PositionUnavailable, UnreadableEncoding
from .lib0 import Lib0Reader
from .offsets import EMBED_CHAR, TextIndex
from .relative_position import RelativePositions
from .schema import CONTENT

#: The root holding the threads (shared.schema.COMMENTS on the server's side).
COMMENTS = "comments"

Listener = Callable[[], None]


@dataclass(frozen=True)
class Message:
    """One comment or reply, as stored (times in ms since the epoch)."""

    id: str
    author: str
    text: str
    created_at: float
    edited_at: float | None = None
    deleted: bool = False


@dataclass(frozen=True)
class Thread:
    """A thread as read now: its anchors resolved to UTF-16 offsets of the text."""

    id: str
    quote: str
    author: str
    created_at: float
    resolved: bool
    messages: tuple[Message, ...]
    start: int | None  # None: an anchor that does not resolve here (not synced yet, foreign)
    end: int | None

    @property
    def text_deleted(self) -> bool:
        """The commented text is gone (both ends meet): show the quote instead."""
        return self.start is None or self.end is None or self.start >= self.end


@dataclass(frozen=True)
class Anchors:
    """Where a new thread goes: its encoded ends and the quote, taken when it is started
    (the person may type the comment while others edit)."""

    start: bytes
    end: bytes
    quote: str


# --------------------------------------------------------------------- relative positions


def encode_relative_position(rpos: dict[str, Any]) -> bytes:
    """``Y.encodeRelativePosition`` of a RelativePosition JSON (docs/schema.md §4 shape).

    Yjs writes a tag (0: item id, 1: root type name, 2: type item id), its payload, then
    ``assoc`` as a lib0 varInt.
    """
    item, tname, type_id = rpos.get("item"), rpos.get("tname"), rpos.get("type")
    if isinstance(item, dict):
        head = b"\x00" + lib0.encode_var_uint(int(item["client"]))
        head += lib0.encode_var_uint(int(item["clock"]))
    elif isinstance(tname, str):
        head = b"\x01" + lib0.encode_var_string(tname)
    elif isinstance(type_id, dict):
        head = b"\x02" + lib0.encode_var_uint(int(type_id["client"]))
        head += lib0.encode_var_uint(int(type_id["clock"]))
    else:
        raise ValueError(f"not a relative position: {rpos!r}")
    return head + lib0.encode_var_int(int(rpos.get("assoc", 0)))


def decode_relative_position(data: bytes | bytearray) -> dict[str, Any]:
    """``Y.decodeRelativePosition`` as the JSON shape (all four keys).

    Raises:
        UnreadableEncoding: ``data`` is not an encoded relative position.
    """
    r = Lib0Reader(bytes(data))
    rpos: dict[str, Any] = {"type": None, "tname": None, "item": None, "assoc": 0}
    tag = r.var_uint()
    if tag == 0:
        client, clock = r.id()
        rpos["item"] = {"client": client, "clock": clock}
    elif tag == 1:
        rpos["tname"] = r.var_string()
    elif tag == 2:
        client, clock = r.id()
        rpos["type"] = {"client": client, "clock": clock}
    else:
        raise UnreadableEncoding(f"relative position with tag {tag}")
    if r.remaining:
        rpos["assoc"] = r.var_int()
    return rpos


# --------------------------------------------------------------------- the model


def new_id() -> str:
    """A random id for a thread or a message (16 hex digits, as the schema suggests)."""
    return secrets.token_hex(8)


def _now_ms() -> float:
    return float(int(time.time() * 1000))


class Comments:
    """The comment threads of one document, read and written per docs/schema.md §3.1.

    Args:
        doc: the document.
        text: its ``content`` Text.
        index: a TextIndex kept in step with ``text`` (the DocumentModel's).
        author: gives the name to write as ``author`` (presence ``user.name``), asked at
            each write so a renamed user writes the new name.
        clock: milliseconds since the epoch (tests fix it).
    """

    def __init__(
        self,
        doc: pycrdt.Doc[Any],
        text: pycrdt.Text,
        index: TextIndex,
        author: Callable[[], str],
        *,
        clock: Callable[[], float] = _now_ms,
    ) -> None:
        self.doc = doc
        self.root: pycrdt.Map[Any] = doc.get(COMMENTS, type=pycrdt.Map)
        self._index = index
        self._positions = RelativePositions(text, index, CONTENT)
        self._author = author
        self._clock = clock
        self._listeners: list[Listener] = []
        self._sub: Any = self.root.observe_deep(self._on_change)

    @property
    def author(self) -> str:
        return self._author()

    def close(self) -> None:
        if self._sub is not None:
            self.root.unobserve(self._sub)
            self._sub = None
        self._positions.close()

    def add_listener(self, listener: Listener) -> Callable[[], None]:
        """Call ``listener()`` after every change of the threads (anyone's). It runs inside
        pycrdt's observer, where positions cannot be computed: read the threads later."""
        self._listeners.append(listener)
        return lambda: self._listeners.remove(listener) if listener in self._listeners else None

    def _on_change(self, _events: Any) -> None:
        for listener in list(self._listeners):
            listener()

    # ----------------------------------------------------------------- reading

    def threads(self, *, include_resolved: bool = True) -> list[Thread]:
        """Every readable thread, in document order (then oldest first; threads whose text
        was deleted sort where it was)."""
        found = [self._read(tid, value) for tid, value in list(self.root.items())]
        threads = [t for t in found if t is not None and (include_resolved or not t.resolved)]
        threads.sort(key=lambda t: (t.start if t.start is not None else -1, t.created_at, t.id))
        return threads

    def thread(self, thread_id: str) -> Thread | None:
        value = self.root.get(thread_id)
        return None if value is None else self._read(thread_id, value)

    def highlights(self) -> list[tuple[int, int, str]]:
        """(start, end, thread id) of the text of every open thread whose text is there."""
        return [
            (t.start, t.end, t.id)
            for t in self.threads(include_resolved=False)
            if t.start is not None and t.end is not None and not t.text_deleted
        ]

    def _read(self, thread_id: str, value: Any) -> Thread | None:
        if not isinstance(value, pycrdt.Map):
            return None  # not a thread (a foreign client's key): left untouched
        messages = value.get("messages")
        return Thread(
            id=thread_id,
            quote=_str(value.get("quote")),
            author=_str(value.get("author")),
            created_at=_number(value.get("created_at")) or 0.0,
            resolved=value.get("resolved") is True,
            messages=tuple(
                m
                for m in (
                    _message(item)
                    for item in (messages if isinstance(messages, pycrdt.Array) else ())
                )
                if m is not None
            ),
            start=self._resolve(value.get("start")),
            end=self._resolve(value.get("end")),
        )

    def _resolve(self, data: Any) -> int | None:
        if not isinstance(data, bytes | bytearray):
            return None
        try:
            rpos = decode_relative_position(bytes(data))
        except UnreadableEncoding:
            return None
        return self._positions.decode(rpos)

    # ----------------------------------------------------------------- writing

    def anchors(self, start16: int, end16: int) -> Anchors:
        """The anchors and quote of a thread on UTF-16 ``[start16, end16)`` of the text now.

        Raises:
            PositionUnavailable: called inside a document observer (try again later).
        """
        index = self._index
        start16, end16 = sorted((max(0, start16), min(end16, index.len16)))
        start = self._positions.encode(start16, 0)
        end = self._positions.encode(end16, -1)
        quote = index.slice16(start16, end16).replace(EMBED_CHAR, "")
        return Anchors(encode_relative_position(start), encode_relative_position(end), quote)

    def open_thread(self, anchors: Anchors | tuple[int, int], text: str) -> str | None:
        """Start a thread on ``anchors`` (or a UTF-16 range) with its first comment;
        returns its id (None for an empty comment)."""
        text = text.strip()
        if not text:
            return None
        if not isinstance(anchors, Anchors):
            anchors = self.anchors(*anchors)
        thread_id, now, author = new_id(), self._clock(), self.author
        first = pycrdt.Map(
            {"id": new_id(), "author": author, "text": text, "created_at": now, "deleted": False}
        )
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            self.root[thread_id] = pycrdt.Map(
                {
                    "start": anchors.start,
                    "end": anchors.end,
                    "quote": anchors.quote,
                    "author": author,
                    "created_at": now,
                    "resolved": False,
                    "messages": pycrdt.Array([first]),
                }
            )
        return thread_id

    def reply(self, thread_id: str, text: str) -> str | None:
        """Add a reply; returns its id (None: empty text or no such thread)."""
        text = text.strip()
        messages = self._messages(thread_id)
        if not text or messages is None:
            return None
        message_id = new_id()
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            messages.append(
                pycrdt.Map(
                    {
                        "id": message_id,
                        "author": self.author,
                        "text": text,
                        "created_at": self._clock(),
                        "deleted": False,
                    }
                )
            )
        return message_id

    def set_resolved(self, thread_id: str, resolved: bool = True) -> bool:
        """Resolve (or re-open) a thread; False if there is no such thread."""
        value = self.root.get(thread_id)
        if not isinstance(value, pycrdt.Map):
            return False
        if value.get("resolved") is not resolved:
            with self.doc.transaction(origin=Origin.LOCAL_EDIT):
                value["resolved"] = resolved
        return True

    def edit_message(self, thread_id: str, message_id: str, text: str) -> bool:
        """Change the text of one of my messages; False if it is not mine (or gone)."""
        text = text.strip()
        message = self._own_message(thread_id, message_id)
        if message is None or not text or message.get("deleted") is True:
            return False
        if message.get("text") != text:
            with self.doc.transaction(origin=Origin.LOCAL_EDIT):
                message["text"] = text
                message["edited_at"] = self._clock()
        return True

    def delete_message(self, thread_id: str, message_id: str) -> bool:
        """Delete one of my messages: its text is cleared, the message keeps its place."""
        message = self._own_message(thread_id, message_id)
        if message is None:
            return False
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            message["text"] = ""
            message["deleted"] = True
        return True

    def is_mine(self, message: Message) -> bool:
        return message.author == self.author

    def _messages(self, thread_id: str) -> pycrdt.Array[Any] | None:
        value = self.root.get(thread_id)
        if not isinstance(value, pycrdt.Map):
            return None
        messages = value.get("messages")
        return messages if isinstance(messages, pycrdt.Array) else None

    def _own_message(self, thread_id: str, message_id: str) -> pycrdt.Map[Any] | None:
        for item in self._messages(thread_id) or ():
            if isinstance(item, pycrdt.Map) and item.get("id") == message_id:
                return item if item.get("author") == self.author else None
        return None


def _str(value: Any) -> str:
    return value if isinstance(value, str) else ""


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _message(item: Any) -> Message | None:
    if not isinstance(item, pycrdt.Map):
        return None
    deleted = item.get("deleted") is True
    return Message(
        id=_str(item.get("id")),
        author=_str(item.get("author")),
        text="" if deleted else _str(item.get("text")),
        created_at=_number(item.get("created_at")) or 0.0,
        edited_at=_number(item.get("edited_at")),
        deleted=deleted,
    )


__all__ = [
    "COMMENTS",
    "Anchors",
    "Comments",
    "Message",
    "PositionUnavailable",
    "Thread",
    "decode_relative_position",
    "encode_relative_position",
    "new_id",
]
