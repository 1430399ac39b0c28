"""The server's HTTP API (docs/api.md) as the editor uses it: a document's version history
and, for its owners, its share links.

The API lives on the relay's own port, so its base URL is the document link's with
``http`` for ``ws`` and ``https`` for ``wss``; the document name is the link's path and the
link's access token goes along as ``Authorization: Bearer`` (never in the URL). Requests
are HTTP/1.1 over one keep-alive :class:`~editor_app.core.net.HttpConnection`, the same
one the compatibility mode polls with, so they take the same proxy (CONNECT for
``https``, absolute-URI requests for ``http``) and the same TLS context as the document's
own connection.

Every failure is a typed error of :mod:`editor_app.core.errors`: the server's JSON error
(``{"error": code, "message": sentence}``) becomes :class:`ServerRefused` whose ``str()``
is the server's sentence for a person and whose ``why`` is the code (``not_found``,
``forbidden``...); no answer within :data:`TIMEOUT` seconds is :class:`Unreachable`; an
answer that is not the API's (an older server, a proxy's page) is classified like the
polling answers (:func:`~editor_app.core.net.status_error`). Qt-free.
"""

from __future__ import annotations

import asyncio
import json
import ssl as ssl_module
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from shared.access import Role

from .errors import NotCoscribeV2, ServerRefused
from .links import DocumentLink, parse_document_link
from .net import Endpoint, HttpConnection, HttpResponse, status_error
from .proxy import ProxyMode, ProxyResolver, make_resolver

__all__ = [
    "TIMEOUT",
    "HistoryClient",
    "LinkEntry",
    "VersionEntry",
    "get_version",
    "list_links",
    "list_versions",
    "mint_link",
    "name_version",
    "revoke_link",
]

#: Seconds a request (connecting included) may take before it fails as Unreachable.
TIMEOUT = 10.0
API_PREFIX = "/api/v1/documents/"


@dataclass(frozen=True, slots=True)
class VersionEntry:
    """One version of a document, as listed (its content: :meth:`HistoryClient.content`).

    ``created_at`` is seconds since the epoch; ``label`` is None for an unnamed version;
    ``authors`` are the names of the people whose edits this version is the first to hold.
    """

    id: int
    created_at: float
    label: str | None
    automatic: bool
    authors: tuple[str, ...]
    size: int

    @classmethod
    def from_json(cls, item: Any) -> VersionEntry:
        """Raises NotCoscribeV2 if ``item`` is not a version as docs/api.md describes it."""
        try:
            label = item.get("label")
            authors = item.get("authors") or ()
            return cls(
                id=int(item["id"]),
                created_at=float(item["created_at"]),
                label=label if isinstance(label, str) and label else None,
                automatic=bool(item.get("automatic", False)),
                authors=tuple(str(a) for a in authors),
                size=int(item.get("size", 0)),
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise NotCoscribeV2(
                f"the server sent a version the editor cannot read: {item!r}"
            ) from None


@dataclass(frozen=True, slots=True)
class LinkEntry:
    """A share link an owner minted through the API (docs/api.md, "Sharing (owners)").

    Times are seconds since the epoch; ``expires_at`` is None for a link that never
    expires, ``revoked_at`` None while it works. ``token`` is the link's access token: the
    link to hand out is :meth:`url`.
    """

    id: str
    role: Role
    created_at: float
    expires_at: float | None
    revoked_at: float | None
    token: str

    @property
    def revoked(self) -> bool:
        return self.revoked_at is not None

    def url(self, doc_url: str) -> str:
        """The link to hand out: the document's link (``ws://host:port/<name>``, any query
        of ``doc_url`` dropped) with ``?token=<this link's token>``."""
        document = parse_document_link(doc_url).document_url
        return f"{document}?{urlencode({'token': self.token})}"

    @classmethod
    def from_json(cls, item: Any) -> LinkEntry:
        """Raises NotCoscribeV2 if ``item`` is not a link as docs/api.md describes it."""
        try:
            expires_at, revoked_at = item.get("expires_at"), item.get("revoked_at")
            token = item["token"]
            if not isinstance(token, str) or not token:
                raise ValueError("no token")
            return cls(
                id=str(item["id"]),
                role=Role.from_wire(item["role"]),
                created_at=float(item["created_at"]),
                expires_at=None if expires_at is None else float(expires_at),
                revoked_at=None if revoked_at is None else float(revoked_at),
                token=token,
            )
        except (AttributeError, KeyError, TypeError, ValueError):
            raise NotCoscribeV2(
                f"the server sent a link the editor cannot read: {item!r}"
            ) from None


class HistoryClient:
    """The API's requests for one document (its versions; its links, for owners), over one
    keep-alive connection.

    ``async with HistoryClient(link_url) as api: versions = await api.versions()``.

    Args:
        doc_url: the document's link (``ws://host:port/<name>``, ``?token=...`` kept).
        proxy: which proxy leads to the server (default: the standard environment).
        ssl: TLS context for ``wss://`` links (None: the system's default).
    """

    def __init__(
        self,
        doc_url: str,
        *,
        proxy: ProxyResolver | None = None,
        ssl: ssl_module.SSLContext | None = None,
        timeout: float = TIMEOUT,
    ) -> None:
        self.link: DocumentLink = parse_document_link(doc_url)
        self.timeout = timeout
        resolver = proxy if proxy is not None else make_resolver(ProxyMode.AUTO)
        self.endpoint = Endpoint.parse(self.link.server)
        self._http = HttpConnection(
            self.endpoint,
            proxy=resolver(self.link.server),
            ssl=ssl,
            connect_timeout=timeout,
        )
        self._one_at_a_time = asyncio.Lock()  # the connection carries one request at a time

    @property
    def base_url(self) -> str:
        """``http(s)://host:port/api/v1/documents/<name>`` (for messages and logs)."""
        return self.endpoint.http_url(self._target(""))

    async def __aenter__(self) -> HistoryClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def close(self) -> None:
        await self._http.close()

    async def versions(self) -> list[VersionEntry]:
        """The document's versions, newest first."""
        body = _json(await self._request("GET", "/versions"))
        versions = body.get("versions") if isinstance(body, dict) else None
        if not isinstance(versions, list):
            raise NotCoscribeV2("the server's answer is not a list of versions")
        return [VersionEntry.from_json(item) for item in versions]

    async def content(self, version_id: int) -> bytes:
        """The version as one Yjs update (apply it to an empty document)."""
        return (await self._request("GET", f"/versions/{int(version_id)}")).body

    async def name_current(self, label: str) -> VersionEntry:
        """Name the current state of the document ``label``; the new version."""
        body = json.dumps({"label": label}, ensure_ascii=False).encode()
        return VersionEntry.from_json(_json(await self._request("POST", "/versions", body)))

    async def links(self) -> list[LinkEntry]:
        """The document's share links, newest first, revoked ones included (owners only:
        anyone else gets ServerRefused, 403; a server in open mode answers 409)."""
        body = _json(await self._request("GET", "/links"))
        links = body.get("links") if isinstance(body, dict) else None
        if not isinstance(links, list):
            raise NotCoscribeV2("the server's answer is not a list of links")
        return [LinkEntry.from_json(item) for item in links]

    async def mint_link(self, role: Role, expires_in: float | None = None) -> LinkEntry:
        """A new link giving ``role``, valid for ``expires_in`` seconds (None: for ever)."""
        payload = {"role": str(role), "expires_in": expires_in}
        body = json.dumps(payload).encode()
        return LinkEntry.from_json(_json(await self._request("POST", "/links", body)))

    async def revoke_link(self, link_id: str) -> None:
        """Revoke link ``link_id``: its sessions close within a second, and it stops working."""
        await self._request("DELETE", "/links/" + quote(link_id, safe=""))

    def _target(self, rest: str) -> str:
        return API_PREFIX + quote(self.link.name, safe="") + rest

    async def _request(self, method: str, rest: str, body: bytes = b"") -> HttpResponse:
        token = self.link.token
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        async with self._one_at_a_time:
            response = await self._http.request(
                method, self._target(rest), headers=headers, body=body, timeout=self.timeout
            )
        if 200 <= response.status < 300:
            return response
        raise _api_error(response)


def _json(response: HttpResponse) -> Any:
    try:
        return json.loads(response.body)
    except ValueError:
        raise NotCoscribeV2("the server's answer is not JSON") from None


def _api_error(response: HttpResponse) -> Exception:
    """The server's JSON error as ServerRefused (its sentence, its code); anything else
    classified like a polling answer (a proxy's page, a server without the API)."""
    try:
        payload = json.loads(response.body)
    except ValueError:
        payload = None
    if isinstance(payload, dict) and isinstance(payload.get("message"), str):
        code = payload.get("error")
        return ServerRefused(
            payload["message"],
            status=response.status,
            why=code if isinstance(code, str) else "error",
        )
    if response.status == 404:
        return NotCoscribeV2("this server has no version history (HTTP 404)")
    return status_error(response)


async def list_versions(doc_url: str, **options: Any) -> list[VersionEntry]:
    """The versions of the document at ``doc_url``, newest first (``options``: see
    :class:`HistoryClient`)."""
    async with HistoryClient(doc_url, **options) as api:
        return await api.versions()


async def get_version(doc_url: str, version_id: int, **options: Any) -> bytes:
    """Version ``version_id`` of the document at ``doc_url`` as one Yjs update."""
    async with HistoryClient(doc_url, **options) as api:
        return await api.content(version_id)


async def name_version(doc_url: str, label: str, **options: Any) -> VersionEntry:
    """Name the current state of the document at ``doc_url``; the new version."""
    async with HistoryClient(doc_url, **options) as api:
        return await api.name_current(label)


async def list_links(doc_url: str, **options: Any) -> list[LinkEntry]:
    """The share links of the document at ``doc_url``, newest first (owners only)."""
    async with HistoryClient(doc_url, **options) as api:
        return await api.links()


async def mint_link(
    doc_url: str, role: Role, expires_in: float | None = None, **options: Any
) -> LinkEntry:
    """A new share link for the document at ``doc_url`` (owners only)."""
    async with HistoryClient(doc_url, **options) as api:
        return await api.mint_link(role, expires_in)


async def revoke_link(doc_url: str, link_id: str, **options: Any) -> None:
    """Revoke share link ``link_id`` of the document at ``doc_url`` (owners only)."""
    async with HistoryClient(doc_url, **options) as api:
        await api.revoke_link(link_id)
