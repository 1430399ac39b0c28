"""The HTTP API (``/api/v1/...``, docs/api.md) on the relay's own port.

Requests reach it through the same front as HTTP long polling (``sync_server.polling``:
h11, keep-alive, request bodies), so they pass the same socket guard; each request is
then admitted like a document of a coscribe.v2 session (browser origin, access token for
that document, revocations) and its role decides what it may do. Answers are JSON (a
version's content: ``application/octet-stream``); every error is
``{"error": code, "message": sentence}`` with a fitting 4xx/5xx status, and bad input never
reaches the store.
"""

from __future__ import annotations

import http
import json
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from urllib.parse import parse_qs, unquote, urlsplit

from shared.docnames import validate_document_name
from shared.errors import InvalidDocumentName, InvalidState, InvalidUpdate, StorageError

from .admission import Admission, Refusal
from .auth import Principal, mint_token, token_from_request, token_id_of
from .config import ServerConfig
from .library import MAX_QUERY, MAX_TITLE, check_title, with_people
from .links import LinkRecord, check_link_request
from .polling import API_PREFIX as PREFIX
from .polling import Reply
from .store import DocumentStore
from .versions import check_label

log = logging.getLogger("coscribe.api")

#: Largest request body accepted.
MAX_BODY = 64 * 1024

_JSON = (b"Content-Type", b"application/json")
_CODES = {
    http.HTTPStatus.BAD_REQUEST: "bad_request",
    http.HTTPStatus.UNAUTHORIZED: "unauthorized",
    http.HTTPStatus.FORBIDDEN: "forbidden",
    http.HTTPStatus.NOT_FOUND: "not_found",
    http.HTTPStatus.METHOD_NOT_ALLOWED: "method_not_allowed",
    http.HTTPStatus.CONFLICT: "conflict",
    http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE: "too_large",
    http.HTTPStatus.TOO_MANY_REQUESTS: "too_many_requests",
    http.HTTPStatus.SERVICE_UNAVAILABLE: "unavailable",
}


def is_api_path(path: str) -> bool:
    return path.startswith(PREFIX)


def json_reply(status: http.HTTPStatus, body: object) -> Reply:
    text = json.dumps(body, ensure_ascii=False, check_circular=False, separators=(",", ":"))
    return Reply(int(status), text.encode(), (_JSON,))


def error(status: http.HTTPStatus, message: str, *headers: tuple[bytes, bytes]) -> Reply:
    code = _CODES.get(status, "error")
    body = json.dumps({"error": code, "message": message}, ensure_ascii=False).encode()
    return Reply(int(status), body, (_JSON, *headers))


class ApiError(Exception):
    """A request the API answers with an error (inside this module only)."""

    def __init__(self, status: http.HTTPStatus, message: str, allow: str = "") -> None:
        super().__init__(message)
        self.status = status
        self.allow = allow

    def reply(self) -> Reply:
        headers = ((b"Allow", self.allow.encode()),) if self.allow else ()
        return error(self.status, str(self), *headers)


@dataclass(frozen=True, slots=True)
class _Request:
    method: str
    name: str
    rest: list[str]  # path segments after the document name
    principal: Principal
    body: bytes


@dataclass(frozen=True, slots=True)
class RelayHooks:
    """What the API asks of the running relay (``RelayServer`` supplies them)."""

    is_open: Callable[[], bool]
    revoke: Callable[[str], Awaitable[None]]  # a link's token id
    authors_of: Callable[[str], Sequence[str]]  # a document's unversioned authors
    people_in: Callable[[str], int]
    close_document: Callable[[str], Awaitable[None]]  # moved to the trash
    rename: Callable[[str, str], Awaitable[None]]
    #: The document as one update, what is durable of it now, retitled (a duplicate).
    copy_of: Callable[[str, str], Awaitable[bytes]]


#: What each method of a resource answers (see Api._route).
_Handlers = dict[str, Callable[[], Awaitable[Reply]]]


class Api:
    """Answers ``/api/v1/`` requests (see module docstring). The configuration gives the
    token secret (None in open mode: no links to mint) and the document name limit."""

    def __init__(
        self, admission: Admission, store: DocumentStore, relay: RelayHooks, config: ServerConfig
    ) -> None:
        self._admission = admission
        self._store = store
        self._relay = relay
        self._secret = config.secret
        self._max_name_length = config.limits.max_document_name_length

    async def handle(
        self, method: str, target: str, headers: dict[str, str], body: bytes, ip: str
    ) -> Reply:
        try:
            request = self._admit(method, target, headers, body)
            return await self._route(request)
        except ApiError as exc:
            return exc.reply()
        except StorageError as exc:
            log.warning("api: storage failed", extra={"fields": {"error": str(exc)}})
            return error(http.HTTPStatus.SERVICE_UNAVAILABLE, "storage failed; try again later")
        except InvalidState:
            return error(http.HTTPStatus.SERVICE_UNAVAILABLE, "server is shutting down")
        except InvalidUpdate as exc:
            log.error(
                "api: a stored version does not decode", extra={"fields": {"error": str(exc)}}
            )
            return error(http.HTTPStatus.SERVICE_UNAVAILABLE, "stored data cannot be read")

    def _admit(self, method: str, target: str, headers: dict[str, str], body: bytes) -> _Request:
        if not self._relay.is_open():
            raise ApiError(http.HTTPStatus.SERVICE_UNAVAILABLE, "server is shutting down")
        if len(body) > MAX_BODY:
            raise ApiError(
                http.HTTPStatus.REQUEST_ENTITY_TOO_LARGE, f"request body over {MAX_BODY} bytes"
            )
        split = urlsplit(target)
        segments = split.path[len(PREFIX) :].split("/")
        if segments == ["documents"]:
            refusal = self._admission.check_origin(headers.get("origin"))
            token = token_from_request(headers.get("authorization"), split.query)
            listing = refusal or self._admission.admit_listing(token)
            if isinstance(listing, Refusal):
                raise ApiError(listing.status, listing.reason)
            return _Request(method, "", ["?" + split.query], listing, body)
        if len(segments) < 2 or segments[0] != "documents" or not segments[1]:
            raise ApiError(http.HTTPStatus.NOT_FOUND, f"no such endpoint: {split.path}")
        try:
            name = validate_document_name(
                unquote(segments[1], errors="strict"), max_length=self._max_name_length
            )
        except (InvalidDocumentName, UnicodeDecodeError) as exc:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, f"invalid document name: {exc}") from None
        refusal = self._admission.check_origin(headers.get("origin"))
        token = token_from_request(headers.get("authorization"), split.query)
        decided = refusal or self._admission.admit_document(token or "", name)
        if isinstance(decided, Refusal):
            raise ApiError(decided.status, decided.reason)
        return _Request(method, name, segments[2:], decided, body)

    async def _route(self, r: _Request) -> Reply:
        if not r.name:
            return await _dispatch(r, {"GET": lambda: self._list_documents(r, r.rest[0][1:])})
        match r.rest:
            case []:
                handlers: _Handlers = {
                    "GET": lambda: self._document(r),
                    "PATCH": lambda: self._set_title(r),
                    "DELETE": lambda: self._trash(r, True),
                }
            case ["duplicate"]:
                handlers = {"POST": lambda: self._duplicate(r)}
            case ["restore"]:
                handlers = {"POST": lambda: self._trash(r, False)}
            case ["versions"]:
                handlers = {
                    "GET": lambda: self._list_versions(r),
                    "POST": lambda: self._name_version(r),
                }
            case ["versions", vid]:
                handlers = {"GET": lambda: self._get_version(r, _version_id(vid))}
            case ["links"]:
                self._require_owner(r)
                handlers = {"GET": lambda: self._list_links(r), "POST": lambda: self._mint_link(r)}
            case ["links", link_id]:
                self._require_owner(r)
                handlers = {"DELETE": lambda: self._revoke_link(r, link_id)}
            case _:
                raise ApiError(http.HTTPStatus.NOT_FOUND, "no such endpoint")
        return await _dispatch(r, handlers)

    async def _list_versions(self, r: _Request) -> Reply:
        versions = await self._store.versions(r.name)
        return json_reply(
            http.HTTPStatus.OK,
            {"document": r.name, "versions": [v.as_json() for v in versions]},
        )

    async def _name_version(self, r: _Request) -> Reply:
        if not r.principal.role.writable:
            raise ApiError(http.HTTPStatus.FORBIDDEN, "this link may not name versions")
        label = self._field(r, "label", check_label)
        try:
            info = await self._store.add_version(
                r.name, label=label, authors=self._relay.authors_of(r.name)
            )
        except InvalidUpdate as exc:
            log.error("api: stored document does not replay", extra={"fields": {"error": str(exc)}})
            raise ApiError(http.HTTPStatus.SERVICE_UNAVAILABLE, "document cannot be read") from None
        if info is None:
            raise ApiError(http.HTTPStatus.NOT_FOUND, f"document {r.name!r} does not exist")
        return json_reply(http.HTTPStatus.CREATED, info.as_json())

    async def _get_version(self, r: _Request, version_id: int) -> Reply:
        update = await self._store.version_update(r.name, version_id)
        if update is None:
            raise ApiError(
                http.HTTPStatus.NOT_FOUND, f"document {r.name!r} has no version {version_id}"
            )
        return Reply(200, update, ((b"Content-Type", b"application/octet-stream"),))

    # ------------------------------------------------------------------ library

    async def _list_documents(self, r: _Request, query_string: str) -> Reply:
        query = parse_qs(query_string, keep_blank_values=True, max_num_fields=10)
        search = query.get("q", [""])[-1].strip() or None
        if search is not None and len(search) > MAX_QUERY:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, f"q is longer than {MAX_QUERY} characters")
        trash = query.get("trash", ["0"])[-1] in ("1", "true", "yes")
        if trash and not r.principal.role.writable:
            raise ApiError(http.HTTPStatus.FORBIDDEN, "this link may not see the trash")
        # The token's pattern (a name, or a prefix and "*") is the listing's.
        rows = await self._store.catalog_json(r.principal.doc, search, trashed=trash)
        people = self._relay.people_in
        documents = ",".join(with_people(entry, people(name)) for name, entry in rows)
        body = f'{{"trash":{"true" if trash else "false"},"documents":[{documents}]}}'
        return Reply(200, body.encode(), (_JSON,))

    async def _document(self, r: _Request) -> Reply:
        entry = await self._store.entry(r.name)
        if entry is None:
            raise ApiError(http.HTTPStatus.NOT_FOUND, f"document {r.name!r} does not exist")
        return json_reply(http.HTTPStatus.OK, entry.as_json(self._relay.people_in(r.name)))

    async def _set_title(self, r: _Request) -> Reply:
        if not r.principal.role.writable:
            raise ApiError(http.HTTPStatus.FORBIDDEN, "this link may not rename the document")
        title = self._field(r, "title", check_title)
        entry = await self._store.entry(r.name)
        if entry is None:
            raise ApiError(http.HTTPStatus.NOT_FOUND, f"document {r.name!r} does not exist")
        if entry.trashed_at is not None:
            raise ApiError(http.HTTPStatus.CONFLICT, "the document is in the trash; restore it")
        await self._relay.rename(r.name, title)
        found = await self._store.entry(r.name)
        assert found is not None
        return json_reply(http.HTTPStatus.OK, found.as_json(self._relay.people_in(r.name)))

    async def _duplicate(self, r: _Request) -> Reply:
        """A new document holding what is durable of this one now (a copy, not linked)."""
        if not r.principal.role.writable:
            raise ApiError(http.HTTPStatus.FORBIDDEN, "this link may not copy the document")
        target = self._field(r, "name", self._document_name)
        if not r.principal.allows(target):
            raise ApiError(http.HTTPStatus.FORBIDDEN, f"this link does not cover {target!r}")
        if await self._store.entry(target) is not None or self._relay.people_in(target):
            raise ApiError(http.HTTPStatus.CONFLICT, f"a document named {target!r} exists")
        source = await self._store.entry(r.name)
        if source is None:
            raise ApiError(http.HTTPStatus.NOT_FOUND, f"document {r.name!r} does not exist")
        title = f"Copy of {source.title or r.name}"[:MAX_TITLE]
        await self._store.append(target, await self._relay.copy_of(r.name, title))
        await self._store.note_info(target, title=title, last_editor=None)
        copied = await self._store.entry(target)
        assert copied is not None
        return json_reply(http.HTTPStatus.CREATED, copied.as_json(0))

    def _document_name(self, value: object) -> str:
        if not isinstance(value, str):
            raise ValueError("name must be a string")
        try:
            return validate_document_name(value, max_length=self._max_name_length)
        except InvalidDocumentName as exc:
            raise ValueError(f"invalid document name: {exc}") from None

    async def _trash(self, r: _Request, trashed: bool) -> Reply:
        if not r.principal.role.writable:
            raise ApiError(http.HTTPStatus.FORBIDDEN, "this link may not delete or restore")
        if not await self._store.set_trashed(r.name, trashed):
            raise ApiError(http.HTTPStatus.NOT_FOUND, f"document {r.name!r} does not exist")
        if trashed:
            await self._relay.close_document(r.name)
        entry = await self._store.entry(r.name)
        assert entry is not None
        return json_reply(http.HTTPStatus.OK, entry.as_json(self._relay.people_in(r.name)))

    # ------------------------------------------------------------------ links

    def _require_owner(self, r: _Request) -> None:
        if self._secret is None:
            raise ApiError(
                http.HTTPStatus.CONFLICT,
                "this server runs in open mode (no secret): everyone on this machine may open "
                "every document, so there are no links to share",
            )
        if not r.principal.role.manages_links:
            raise ApiError(http.HTTPStatus.FORBIDDEN, "only the document's owners manage its links")

    def _field(self, r: _Request, key: str, check: Callable[[object], str]) -> str:
        """``check(body[key])`` of a JSON body ``{key: ...}``; 400 saying what is wrong."""
        payload = self._json_body(r)
        if not isinstance(payload, dict) or key not in payload:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, f'send {{"{key}": "..."}}')
        try:
            return check(payload[key])
        except ValueError as exc:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, str(exc)) from None

    def _json_body(self, r: _Request) -> object:
        try:
            return json.loads(r.body or b"null")
        except ValueError:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, "the body is not JSON") from None

    async def _list_links(self, r: _Request) -> Reply:
        links = await self._store.links(r.name)
        return json_reply(
            http.HTTPStatus.OK, {"document": r.name, "links": [k.as_json() for k in links]}
        )

    async def _mint_link(self, r: _Request) -> Reply:
        try:
            role, expires_in = check_link_request(self._json_body(r))
        except ValueError as exc:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, str(exc)) from None
        assert self._secret is not None  # _require_owner
        now = time.time()
        token = mint_token(self._secret, r.name, role, expires_in=expires_in, now=now)
        token_id = token_id_of(token)
        assert token_id is not None
        link = LinkRecord(
            token_id,
            r.name,
            role,
            now,
            None if expires_in is None else int(now + expires_in),
            None,
            token,
        )
        await self._store.add_link(link)
        return json_reply(http.HTTPStatus.CREATED, link.as_json())

    async def _revoke_link(self, r: _Request, link_id: str) -> Reply:
        if not link_id.isascii() or len(link_id) > 64:
            raise ApiError(http.HTTPStatus.BAD_REQUEST, "not a link id")
        if not await self._store.mark_link_revoked(r.name, link_id):
            raise ApiError(http.HTTPStatus.NOT_FOUND, f"document {r.name!r} has no link {link_id}")
        await self._relay.revoke(link_id)
        return json_reply(http.HTTPStatus.OK, {"revoked": link_id})


async def _dispatch(r: _Request, handlers: _Handlers) -> Reply:
    """Run the handler of ``r``'s method, or answer 405 saying which methods there are."""
    handler = handlers.get(r.method)
    if handler is None:
        allowed = ", ".join(handlers)
        raise ApiError(http.HTTPStatus.METHOD_NOT_ALLOWED, f"use {allowed}", allowed)
    return await handler()


def _version_id(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 18:
        raise ApiError(http.HTTPStatus.BAD_REQUEST, f"not a version id: {text[:40]!r}")
    return int(text)
