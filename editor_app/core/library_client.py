"""The server's document library (docs/api.md, "Documents (the library)") as the editor
uses it: the documents a server holds (or its trash), searched by title or name; renaming
one, making a copy of it, moving it to the trash and restoring it.

The requests go through :class:`~editor_app.core.api_client.HistoryClient`'s plumbing (one
keep-alive :class:`~editor_app.core.net.HttpConnection`, the editor's proxy and TLS, the
token as ``Authorization: Bearer``, the server's JSON errors as
:class:`~editor_app.core.errors.ServerRefused` with its sentence): a
:class:`LibraryClient` is a HistoryClient addressed at the collection
``/api/v1/documents`` rather than at one document.

A server is named by its address, ``ws://host:port`` or ``wss://host`` (``http(s)://``,
``coscribe://`` and a bare ``host:port`` are understood too, and so is any document link
of that server); a ``?token=...`` in it is the access token to send. Qt-free.
"""

from __future__ import annotations

import json
import ssl as ssl_module
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import quote, urlencode

from shared import document_url

from .api_client import API_PREFIX, TIMEOUT, HistoryClient, _json
from .errors import LinkError, NotCoscribeV2
from .links import parse_document_link
from .proxy import ProxyResolver

__all__ = [
    "DocumentEntry",
    "LibraryClient",
    "changed_ago",
    "document_link",
    "library_call",
    "list_documents",
    "parse_server",
]

EXPECTED_SERVER = "expected ws://host:port or wss://host"
#: The collection's path: ``/api/v1/documents``.
COLLECTION = API_PREFIX.rstrip("/")
#: HistoryClient speaks for one document; the library client gives it this one, whose name
#: is never sent (every request of the library names its own target).
_ANCHOR = "library"


@dataclass(frozen=True, slots=True)
class DocumentEntry:
    """One document as the library lists it.

    Times are seconds since the epoch; ``title`` is the document's ``meta.title`` (None if
    it has none yet); ``updated_at`` is its last noted change (its creation if none),
    ``last_editor`` the name of who made it (None if unknown); ``size`` the stored bytes;
    ``trashed_at`` when it was moved to the trash (None if it is not there); ``people``
    how many are connected to it now.
    """

    name: str
    title: str | None
    created_at: float
    updated_at: float
    last_editor: str | None
    size: int
    trashed_at: float | None
    people: int

    @property
    def display_title(self) -> str:
        """The title, or the name for a document without one."""
        return (self.title or "").strip() or self.name

    @classmethod
    def from_json(cls, item: Any) -> DocumentEntry:
        """Raises NotCoscribeV2 if ``item`` is not a document entry as docs/api.md says."""
        try:
            name = item["name"]
            if not isinstance(name, str) or not name:
                raise ValueError("no name")
            title, editor = item.get("title"), item.get("last_editor")
            created_at = float(item["created_at"])
            updated_at, trashed_at = item.get("updated_at"), item.get("trashed_at")
            return cls(
                name=name,
                title=title if isinstance(title, str) and title else None,
                created_at=created_at,
                updated_at=created_at if updated_at is None else float(updated_at),
                last_editor=editor if isinstance(editor, str) and editor else None,
                size=int(item.get("size") or 0),
                trashed_at=None if trashed_at is None else float(trashed_at),
                people=int(item.get("people") or 0),
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise NotCoscribeV2(
                f"the server sent a document entry the editor cannot read: {item!r}"
            ) from None


def parse_server(text: str) -> tuple[str, str | None]:
    """``(server, token)`` from a server address as a person types it.

    ``ws://host:port``, ``wss://host``, ``http(s)://`` (meaning ``ws(s)://``), a bare
    ``host:port`` (``ws://``), a ``coscribe://`` link, or any document link of the server;
    ``?token=...`` gives the access token. Raises LinkError otherwise.
    """
    raw = text.strip()
    if not raw:
        raise LinkError(f"no server address ({EXPECTED_SERVER})")
    scheme, sep, rest = raw.partition("://")
    if not sep:
        scheme, rest = "ws", raw
    scheme = {"http": "ws", "https": "wss"}.get(scheme.lower(), scheme.lower())
    address, _, query = rest.partition("?")
    host = address.split("/", 1)[0]
    try:
        link = parse_document_link(f"{scheme}://{host}/{_ANCHOR}" + (f"?{query}" if query else ""))
    except LinkError:
        raise LinkError(f"not a server address: {text.strip()!r} ({EXPECTED_SERVER})") from None
    return link.server, link.token


def document_link(server: str, name: str, token: str | None = None) -> str:
    """The link that opens document ``name`` of ``server`` (with ``?token=`` if given)."""
    url = document_url(server, name)
    return f"{url}?{urlencode({'token': token})}" if token else url


class LibraryClient(HistoryClient):
    """The library's requests to one server, over one keep-alive connection.

    ``async with LibraryClient("ws://host:port", token) as lib: docs = await
    lib.documents("trip")``.

    Args:
        server_url: the server's address (see :func:`parse_server`; a ``?token=`` in it is
            used when ``token`` is None).
        token: the access token to send (a link for ``team-*`` lists the ``team-``
            documents; None in open mode).
        proxy, ssl, timeout: as for :class:`HistoryClient`.
    """

    def __init__(
        self,
        server_url: str,
        token: str | None = None,
        *,
        proxy: ProxyResolver | None = None,
        ssl: ssl_module.SSLContext | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        server, given = parse_server(server_url)
        self.server = server
        super().__init__(
            document_link(server, _ANCHOR, token or given), proxy=proxy, ssl=ssl, timeout=timeout
        )

    @property
    def token(self) -> str | None:
        return self.link.token

    async def __aenter__(self) -> LibraryClient:
        return self

    async def documents(self, query: str = "", *, trash: bool = False) -> list[DocumentEntry]:
        """The documents the token grants, most recently changed first; those whose title
        or name contains ``query`` (case-insensitive) if it is not blank; the trash if
        ``trash`` (editors and owners only: anyone else gets ServerRefused, 403)."""
        params = {"q": query.strip()} if query.strip() else {}
        if trash:
            params["trash"] = "1"
        rest = "?" + urlencode(params) if params else ""
        body = _json(await self._request("GET", rest))
        documents = body.get("documents") if isinstance(body, dict) else None
        if not isinstance(documents, list):
            raise NotCoscribeV2("the server's answer is not a list of documents")
        return [DocumentEntry.from_json(item) for item in documents]

    async def entry(self, name: str) -> DocumentEntry:
        """Document ``name``'s entry (also when it is in the trash)."""
        return DocumentEntry.from_json(_json(await self._request("GET", _one(name))))

    async def rename(self, name: str, title: str) -> DocumentEntry:
        """Retitle document ``name`` (an edit of its ``meta.title``: every open editor sees
        it at once; blanks trimmed, empty means "Untitled"); its entry. Editors and owners;
        ServerRefused 409 for a document in the trash."""
        body = json.dumps({"title": title}, ensure_ascii=False).encode()
        return DocumentEntry.from_json(_json(await self._request("PATCH", _one(name), body)))

    async def duplicate(self, name: str, new_name: str) -> DocumentEntry:
        """Copy document ``name`` to a new document ``new_name`` (what is durable of it now,
        titled "Copy of <title>", not linked to it); the copy's entry. Editors and owners;
        the token must cover ``new_name`` too; ServerRefused 409 if that name is taken."""
        body = json.dumps({"name": new_name}, ensure_ascii=False).encode()
        answer = await self._request("POST", _one(name) + "/duplicate", body)
        return DocumentEntry.from_json(_json(answer))

    async def trash(self, name: str) -> DocumentEntry:
        """Move document ``name`` to the trash (its open sessions close); its entry."""
        return DocumentEntry.from_json(_json(await self._request("DELETE", _one(name))))

    async def restore(self, name: str) -> DocumentEntry:
        """Bring document ``name`` back from the trash, as it was; its entry."""
        return DocumentEntry.from_json(_json(await self._request("POST", _one(name) + "/restore")))

    def _target(self, rest: str) -> str:
        return COLLECTION + rest


_T = TypeVar("_T")


def _one(name: str) -> str:
    return "/" + quote(name, safe="")


async def list_documents(
    server_url: str,
    token: str | None = None,
    query: str = "",
    trash: bool = False,
    **options: Any,
) -> list[DocumentEntry]:
    """The documents of ``server_url`` (its trash if ``trash``), most recently changed
    first, filtered by ``query`` (``options``: see :class:`LibraryClient`)."""
    async with LibraryClient(server_url, token, **options) as library:
        return await library.documents(query, trash=trash)


async def library_call(
    server_url: str,
    token: str | None,
    call: Callable[[LibraryClient], Awaitable[_T]],
    **options: Any,
) -> _T:
    """One request on a short-lived client: ``await library_call(url, token, lambda
    library: library.rename(name, title))`` (``options``: see :class:`LibraryClient`)."""
    async with LibraryClient(server_url, token, **options) as library:
        return await call(library)


def changed_ago(when: float, now: float | None = None) -> str:
    """When something changed, as a list shows it (local time): "Just now", "5 min ago",
    "14:02" (today), "Yesterday 14:02", "3 Mar" (this year), "3 Mar 2025"."""
    now = time.time() if now is None else now
    seconds = now - when
    if seconds < 60:
        return "Just now"  # a clock a little ahead of ours counts as now too
    if seconds < 3600:
        return f"{int(seconds // 60)} min ago"
    day, today = time.localtime(when), time.localtime(now)
    clock = f"{day.tm_hour:02d}:{day.tm_min:02d}"
    noon = time.mktime((day.tm_year, day.tm_mon, day.tm_mday, 12, 0, 0, 0, 0, -1))
    today_noon = time.mktime((today.tm_year, today.tm_mon, today.tm_mday, 12, 0, 0, 0, 0, -1))
    days_ago = round((today_noon - noon) / 86400)
    if days_ago == 0:
        return clock
    if days_ago == 1:
        return f"Yesterday {clock}"
    month = time.strftime("%b", day)
    if day.tm_year == today.tm_year:
        return f"{day.tm_mday} {month}"
    return f"{day.tm_mday} {month} {day.tm_year}"
