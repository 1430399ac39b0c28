"""The ways to the server: direct, through an HTTP proxy's CONNECT tunnel, or through the
proxy as plain HTTP (absolute-URI requests); WebSockets and keep-alive HTTP on top.

Every failure is classified into the typed errors of :mod:`editor_app.core.errors`, which
is what lets the editor say what is wrong in a person's words and pick the next thing to
try: a refused WebSocket upgrade (:class:`WebSocketBlocked`) means "poll instead", a 407
(:class:`ProxyAuthRequired`) means "ask for the proxy password", a refusal that carries
the server's ``X-Coscribe-Refusal`` header (:class:`ServerRefused`) means "access denied",
and a 426, 400 or 502 from anything else is never taken for one. HTTP/1.1 is spoken with
``h11`` (sans-I/O), both for CONNECT and for the polls.
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import ssl as ssl_module
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import h11
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import (
    InvalidHandshake,
    InvalidMessage,
    InvalidStatus,
)
from websockets.typing import Subprotocol

from .errors import (
    Blocked,
    NetworkError,
    NotCoscribeV2,
    ProxyAuthRequired,
    ServerRefused,
    UnknownSession,
    Unreachable,
    WebSocketBlocked,
)
from .proxy import Proxy

USER_AGENT = "Coscribe"
#: Largest response body read (a poll answer carries at most about one frame).
MAX_BODY = 80 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Endpoint:
    """Where a server is: ``ws://host:port/prefix`` as host, port, TLS and path prefix."""

    host: str
    port: int
    secure: bool
    prefix: str = ""

    @classmethod
    def parse(cls, url: str) -> Endpoint:
        parts = urlsplit(url)
        secure = parts.scheme in ("wss", "https")
        host = parts.hostname or "127.0.0.1"
        return cls(host, parts.port or (443 if secure else 80), secure, parts.path.rstrip("/"))

    @property
    def authority(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        default = 443 if self.secure else 80
        return host if self.port == default else f"{host}:{self.port}"

    def ws_url(self, target: str) -> str:
        return f"{'wss' if self.secure else 'ws'}://{self.authority}{self.prefix}{target}"

    def http_url(self, target: str) -> str:
        return f"{'https' if self.secure else 'http'}://{self.authority}{self.prefix}{target}"


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: dict[str, str]  # lower-case names
    body: bytes

    @property
    def from_coscribe(self) -> bool:
        """The answer comes from a Coscribe server (not from a proxy in between)."""
        return "x-coscribe" in self.headers

    def text(self) -> str:
        return self.body.decode("utf-8", "replace").strip()[:300]


def _status_error(
    status: int, headers: dict[str, str], body: bytes, *, websocket: bool
) -> NetworkError:
    """Classify a non-success answer (see module docstring)."""
    text = body.decode("utf-8", "replace").strip()[:300]
    why = headers.get("x-coscribe-refusal")
    if status == 407:
        return ProxyAuthRequired(
            "the proxy asks for a user name and password", had_credentials=False
        )
    if why is not None:
        return ServerRefused(text or f"HTTP {status}", status=status, why=why)
    ours = "x-coscribe" in headers
    if ours and status == 404:
        return UnknownSession(text or "unknown session")
    if ours and status in (429, 503):
        return ServerRefused(text or f"HTTP {status}", status=status, why="busy")
    if status in (502, 503, 504):
        return Unreachable(f"HTTP {status} from something in front of the server: {text}".strip())
    if websocket:
        # 426 (the server saw a plain GET: the Upgrade was dropped on the way), 400/403 from
        # a proxy, or any other answer that is not 101.
        return WebSocketBlocked(
            f"WebSocket refused on the way (HTTP {status})", status=status, body=text
        )
    if ours:
        return NotCoscribeV2(f"the server answered HTTP {status}: {text}")
    if status == 403:
        return Blocked(f"a proxy or firewall refused the request (HTTP 403) {text}".strip())
    return NotCoscribeV2(f"not a Coscribe session endpoint (HTTP {status})")


async def _connect_socket(host: str, port: int) -> socket.socket:
    loop = asyncio.get_running_loop()
    try:
        infos = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise Unreachable(f"cannot find {host}: {exc}") from None
    last: OSError | None = None
    for family, type_, proto, _, address in infos:
        sock = socket.socket(family, type_, proto)
        sock.setblocking(False)
        try:
            await loop.sock_connect(sock, address)
        except OSError as exc:
            sock.close()
            last = exc
            continue
        except BaseException:
            sock.close()
            raise
        return sock
    raise Unreachable(f"cannot connect to {host}:{port}: {last}")


async def connect_tunnel(proxy: Proxy, host: str, port: int) -> socket.socket:
    """A socket to ``host:port`` through ``proxy``'s CONNECT (the caller bounds the time).

    Raises:
        Unreachable: the proxy cannot be reached.
        ProxyAuthRequired: 407.
        Blocked: the proxy refused the tunnel (403, 405...).
    """
    loop = asyncio.get_running_loop()
    try:
        sock = await _connect_socket(proxy.host, proxy.port)
    except Unreachable as exc:
        raise Unreachable(f"cannot reach the proxy {proxy.describe()}: {exc}") from None
    try:
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        conn = h11.Connection(h11.CLIENT)
        headers = [("Host", authority), ("User-Agent", USER_AGENT)]
        auth = proxy.authorization()
        if auth:
            headers.append(("Proxy-Authorization", auth))
        request = h11.Request(method="CONNECT", target=authority, headers=headers)
        await loop.sock_sendall(sock, conn.send(request) or b"")
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                conn.receive_data(await loop.sock_recv(sock, 65536))
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                break
            raise Blocked(f"the proxy {proxy.describe()} closed the tunnel request")
        if 200 <= status < 300:
            return sock
        sock.close()
        if status == 407:
            raise ProxyAuthRequired(
                "the proxy refused the user name or password"
                if proxy.has_credentials
                else "the proxy asks for a user name and password",
                had_credentials=proxy.has_credentials,
            )
        raise Blocked(f"the proxy refused to connect to {authority} (HTTP {status})")
    except (OSError, h11.ProtocolError) as exc:
        sock.close()
        if isinstance(exc, NetworkError):
            raise
        raise Unreachable(f"the proxy {proxy.describe()} failed: {exc}") from None
    except BaseException:
        sock.close()
        raise


async def open_websocket(
    url: str,
    *,
    proxy: Proxy | None,
    ssl: ssl_module.SSLContext | None = None,
    subprotocols: Sequence[str] = (),
    headers: dict[str, str] | None = None,
    open_timeout: float = 10.0,
    **kwargs: Any,
) -> ClientConnection:
    """Open a WebSocket to ``url``, through ``proxy`` (CONNECT) if one is given.

    Raises:
        WebSocketBlocked: the upgrade was refused or not answered within ``open_timeout``,
            or the proxy refused the tunnel.
        ProxyAuthRequired, ServerRefused, UnknownSession, Unreachable: as classified.
    """
    parts = urlsplit(url)
    secure = parts.scheme == "wss"
    host = parts.hostname or "127.0.0.1"
    port = parts.port or (443 if secure else 80)
    options: dict[str, Any] = {
        "subprotocols": [Subprotocol(p) for p in subprotocols] or None,
        "additional_headers": headers,
        "open_timeout": open_timeout,
        "proxy": None,  # proxies are decided here, not by websockets from the environment
        "user_agent_header": USER_AGENT,
        **kwargs,
    }
    if secure and ssl is not None:
        options["ssl"] = ssl
    try:
        async with asyncio.timeout(open_timeout):
            if proxy is not None:
                try:
                    options["sock"] = await connect_tunnel(proxy, host, port)
                except Blocked as exc:
                    raise WebSocketBlocked(str(exc)) from None
                if secure:
                    options["server_hostname"] = host
        return await connect(url, **options)
    except InvalidStatus as exc:
        response = exc.response
        resp_headers = {k.lower(): v for k, v in response.headers.raw_items()}
        raise _status_error(
            response.status_code, resp_headers, bytes(response.body or b""), websocket=True
        ) from None
    except TimeoutError:
        raise WebSocketBlocked(f"no WebSocket answer within {open_timeout:g} s") from None
    except (InvalidMessage, InvalidHandshake, EOFError) as exc:
        raise WebSocketBlocked(
            f"the connection closed before the WebSocket opened ({exc})"
        ) from None
    except ssl_module.SSLError as exc:
        raise Unreachable(f"TLS failed: {exc}") from None
    except NetworkError:
        raise
    except OSError as exc:
        raise Unreachable(f"cannot connect to {host}:{port}: {exc}") from None


class HttpConnection:
    """One keep-alive HTTP/1.1 connection to a server, direct or through a proxy.

    Through a proxy, ``http://`` requests go to the proxy in absolute form (``GET
    http://host:port/...``, with ``Proxy-Authorization``); ``https://`` requests go through
    a CONNECT tunnel. One request at a time.
    """

    def __init__(
        self,
        endpoint: Endpoint,
        *,
        proxy: Proxy | None,
        ssl: ssl_module.SSLContext | None = None,
        connect_timeout: float = 10.0,
    ) -> None:
        self.endpoint = endpoint
        self.proxy = proxy
        self.ssl = ssl
        self.connect_timeout = connect_timeout
        self._reader: asyncio.StreamReader | None = None
        self._writer: asyncio.StreamWriter | None = None
        self._h11: h11.Connection | None = None

    @property
    def forward(self) -> bool:
        """Requests go to the proxy as plain HTTP in absolute form."""
        return self.proxy is not None and not self.endpoint.secure

    async def request(
        self,
        method: str,
        target: str,
        *,
        headers: dict[str, str] | None = None,
        body: bytes = b"",
        timeout: float = 30.0,  # noqa: ASYNC109 - a per-request deadline
    ) -> HttpResponse:
        """Send one request; ``target`` is the path and query (``/?transport=polling``).

        A connection that was reused and fails before any answer is retried once on a
        new one (keep-alive connections go stale). Every request of the polling protocol
        may be repeated: polls are idempotent, and a repeated POST is dropped by sequence
        number.

        Raises:
            Unreachable: no answer (including ``timeout``), or a broken connection.
            ProxyAuthRequired, Blocked: the proxy refused.
        """
        for attempt in (0, 1):
            reused = self._writer is not None
            try:
                async with asyncio.timeout(timeout):
                    return await self._request_once(method, target, headers or {}, body)
            except TimeoutError:
                await self.close()
                raise Unreachable(f"no answer within {timeout:g} s") from None
            except (OSError, EOFError, h11.ProtocolError) as exc:
                await self.close()
                if isinstance(exc, NetworkError):
                    raise
                if reused and attempt == 0:
                    continue
                raise Unreachable(f"the connection failed: {exc!r}") from None
        raise AssertionError("unreachable")  # pragma: no cover

    async def _open(self) -> None:
        e = self.endpoint
        proxy = self.proxy
        async with asyncio.timeout(self.connect_timeout):
            if proxy is None:
                sock = await _connect_socket(e.host, e.port)
            elif self.forward:
                try:
                    sock = await _connect_socket(proxy.host, proxy.port)
                except Unreachable as exc:
                    raise Unreachable(f"cannot reach the proxy {proxy.describe()}: {exc}") from None
            else:
                sock = await connect_tunnel(proxy, e.host, e.port)
            if e.secure:
                ctx = self.ssl or ssl_module.create_default_context()
                reader, writer = await asyncio.open_connection(
                    sock=sock, ssl=ctx, server_hostname=e.host
                )
            else:
                reader, writer = await asyncio.open_connection(sock=sock)
        self._reader, self._writer = reader, writer
        self._h11 = h11.Connection(h11.CLIENT, max_incomplete_event_size=64 * 1024)

    async def _request_once(
        self, method: str, target: str, headers: dict[str, str], body: bytes
    ) -> HttpResponse:
        if self._writer is None:
            try:
                await self._open()
            except ssl_module.SSLError as exc:
                raise Unreachable(f"TLS failed: {exc}") from None
        assert self._reader is not None and self._writer is not None and self._h11 is not None
        e = self.endpoint
        path = e.prefix + target
        all_headers = [("Host", e.authority), ("User-Agent", USER_AGENT), ("Accept", "*/*")]
        if self.forward:
            assert self.proxy is not None
            path = e.http_url(target)
            auth = self.proxy.authorization()
            if auth:
                all_headers.append(("Proxy-Authorization", auth))
        all_headers += list(headers.items())
        if body or method == "POST":  # a PATCH carries a body too
            all_headers.append(("Content-Type", "application/octet-stream"))
            all_headers.append(("Content-Length", str(len(body))))
        conn = self._h11
        out = conn.send(h11.Request(method=method, target=path, headers=all_headers)) or b""
        if body:
            out += conn.send(h11.Data(data=body)) or b""
        out += conn.send(h11.EndOfMessage()) or b""
        self._writer.write(out)
        await self._writer.drain()
        status = 0
        resp_headers: dict[str, str] = {}
        chunks: list[bytes] = []
        size = 0
        while True:
            event = conn.next_event()
            if event is h11.NEED_DATA:
                data = await self._reader.read(65536)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.InformationalResponse):
                continue
            if isinstance(event, h11.Response):
                status = event.status_code
                resp_headers = {
                    k.decode("latin-1").lower(): v.decode("latin-1") for k, v in event.headers
                }
            elif isinstance(event, h11.Data):
                size += len(event.data)
                if size > MAX_BODY:
                    raise Unreachable("answer too large")
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                break
            elif isinstance(event, h11.ConnectionClosed):
                raise EOFError("connection closed mid-answer")
        if conn.our_state is h11.DONE and conn.their_state is h11.DONE:
            conn.start_next_cycle()
        else:
            await self.close()
        response = HttpResponse(status, resp_headers, b"".join(chunks))
        if status == 407 and self.forward:
            assert self.proxy is not None
            raise ProxyAuthRequired(
                "the proxy refused the user name or password"
                if self.proxy.has_credentials
                else "the proxy asks for a user name and password",
                had_credentials=self.proxy.has_credentials,
            )
        return response

    async def close(self) -> None:
        writer, self._writer, self._reader, self._h11 = self._writer, None, None, None
        if writer is not None:
            writer.close()
            with contextlib.suppress(OSError):  # a reset while closing: closed anyway
                await writer.wait_closed()


def status_error(response: HttpResponse) -> NetworkError:
    """The typed error for a polling answer that is not a success."""
    return _status_error(response.status, response.headers, response.body, websocket=False)
