"""Real HTTP requests to the relay's API (docs/api.md) from tests."""

from __future__ import annotations

import asyncio
import urllib.error
import urllib.request

from sync_server.app import RelayServer


async def call(
    url: str,
    method: str = "GET",
    body: bytes | None = None,
    token: str | None = None,
    headers: dict[str, str] | None = None,
) -> tuple[int, bytes, dict[str, str]]:
    """One real HTTP request (urllib, in a thread): status, body, headers."""

    def run() -> tuple[int, bytes, dict[str, str]]:
        request = urllib.request.Request(url, data=body, method=method)
        for k, v in (headers or {}).items():
            request.add_header(k, v)
        if token is not None:
            request.add_header("Authorization", f"Bearer {token}")
        try:
            with urllib.request.urlopen(request, timeout=10) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as refusal:
            return refusal.code, refusal.read(), dict(refusal.headers)

    return await asyncio.to_thread(run)


def http_url(srv: RelayServer, path: str) -> str:
    return srv.url.replace("ws://", "http://", 1) + path
