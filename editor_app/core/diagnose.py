""" "Test connection": try each way to a server once, and say what works in plain words.

The same steps the :class:`~editor_app.core.server_connection.ServerConnection` takes,
without keeping anything open: a WebSocket at ``<server>/`` (``coscribe.v2``), then, if
that is blocked, the HTTP long-polling session (the "compatibility mode"). Each opened
session is closed at once (a CLOSE frame), so testing leaves nothing behind on the
server. Qt-free; the "Connection details" dialog shows the result.
"""

from __future__ import annotations

import asyncio
import contextlib
import ssl as ssl_module
import time
from dataclasses import dataclass, field

from websockets.exceptions import ConnectionClosed

from shared.errors import CloseCode, DecodeError
from shared.limits import SUBPROTOCOL_V2
from shared.polling import PollQuery, SessionEnded, parse_open_answer
from shared.reliable import CloseFrame, SessionParams, decode_frame

from .errors import (
    Blocked,
    NetworkError,
    NotCoscribeV2,
    ProxyAuthRequired,
    ServerRefused,
    WebSocketBlocked,
)
from .net import Endpoint, HttpConnection, open_websocket, status_error
from .proxy import ProxyResolver


@dataclass(frozen=True, slots=True)
class CheckResult:
    """What a connection test found. ``summary`` is for a person; ``steps`` for support."""

    ok: bool
    summary: str
    transport: str = ""  # "WebSocket", "compatibility mode", "" (none)
    rtt: float | None = None
    steps: tuple[str, ...] = field(default=())


async def check_connection(
    server: str,
    *,
    proxy: ProxyResolver,
    token: str | None = None,
    ssl: ssl_module.SSLContext | None = None,
    ws_timeout: float = 3.0,
) -> CheckResult:
    """Try the WebSocket, then compatibility mode; never raises a network error."""
    endpoint = Endpoint.parse(server)
    chosen = proxy(server)
    via = f" through the proxy {chosen.describe()}" if chosen is not None else ""
    headers = {"Authorization": f"Bearer {token}"} if token else None
    steps: list[str] = []
    started = time.monotonic()
    try:
        ws = await open_websocket(
            endpoint.ws_url("/"),
            proxy=chosen,
            ssl=ssl,
            subprotocols=[SUBPROTOCOL_V2],
            headers=headers,
            open_timeout=ws_timeout,
        )
        try:
            async with asyncio.timeout(ws_timeout):
                first = await ws.recv()
            frame = decode_frame(first if isinstance(first, bytes) else first.encode())
            rtt = time.monotonic() - started
            if isinstance(frame, SessionParams):
                await ws.send(CloseFrame(int(CloseCode.NORMAL), "connection test").encode())
        finally:
            with contextlib.suppress(ConnectionClosed, TimeoutError, OSError):
                await ws.close()
        steps.append(f"WebSocket{via}: works ({rtt * 1000:.0f} ms)")
        return CheckResult(
            True,
            f"Connected with a live connection (round trip {rtt * 1000:.0f} ms)",
            "WebSocket",
            rtt,
            tuple(steps),
        )
    except WebSocketBlocked as exc:
        steps.append(f"WebSocket{via}: blocked ({exc})")
    except (TimeoutError, DecodeError) as exc:
        steps.append(f"WebSocket{via}: no session ({exc!r})")
    except NetworkError as exc:
        steps.append(f"WebSocket{via}: {exc}")
        return _failure(exc, steps)

    http = HttpConnection(endpoint, proxy=chosen, ssl=ssl)
    try:
        started = time.monotonic()
        response = await http.request(
            "GET", "/?" + PollQuery().encode(), headers=headers, timeout=10.0
        )
        if response.status != 200 or not response.from_coscribe:
            raise status_error(response)
        params = parse_open_answer(response.body)
        rtt = time.monotonic() - started
        with contextlib.suppress(NetworkError):
            await http.request(
                "POST",
                "/?" + PollQuery(params.sid).encode(),
                headers=headers,
                body=CloseFrame(int(CloseCode.NORMAL), "connection test").encode(),
                timeout=5.0,
            )
        steps.append(f"Compatibility mode (HTTP long polling){via}: works ({rtt * 1000:.0f} ms)")
        return CheckResult(
            True,
            "A proxy or firewall blocks live connections — compatibility mode works "
            f"(round trip {rtt * 1000:.0f} ms)",
            "compatibility mode",
            rtt,
            tuple(steps),
        )
    except (NetworkError, DecodeError, SessionEnded) as exc:
        steps.append(f"Compatibility mode{via}: {exc}")
        return _failure(exc, steps)
    finally:
        await http.close()


def _failure(exc: BaseException, steps: list[str]) -> CheckResult:
    if isinstance(exc, ProxyAuthRequired):
        summary = (
            "The proxy refused the user name or password"
            if exc.had_credentials
            else "The proxy needs a password"
        )
    elif isinstance(exc, ServerRefused):
        summary = f"Access denied: {exc}" if not exc.retryable else f"The server is busy: {exc}"
    elif isinstance(exc, NotCoscribeV2):
        return CheckResult(
            True,
            "This server does not share one connection between documents; each document "
            "uses its own WebSocket",
            "WebSocket per document",
            None,
            tuple(steps),
        )
    elif isinstance(exc, Blocked):
        summary = f"A proxy or firewall blocks the connection: {exc}"
    else:
        summary = f"Can't reach the server: {exc}"
    return CheckResult(False, summary, "", None, tuple(steps))
