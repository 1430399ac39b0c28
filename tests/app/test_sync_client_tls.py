"""The editor's sync client over wss://, verifying the server's certificate."""

from __future__ import annotations

import asyncio
import ssl
from pathlib import Path

import pycrdt
import pytest

from editor_app.core.backoff import Backoff
from editor_app.core.sync_client import Status, SyncClient
from sync_server.app import RelayServer
from tests.support.client import TestClient
from tests.support.waiting import wait_until


@pytest.mark.asyncio
async def test_wss_link_syncs_with_a_trusted_certificate_and_refuses_an_unknown_one(
    tls_relay: tuple[RelayServer, Path],
) -> None:
    srv, cert = tls_relay
    url = f"{srv.url}/secret-plans"
    assert url.startswith("wss://")

    trusted_doc: pycrdt.Doc = pycrdt.Doc()
    trusted = SyncClient(
        url,
        trusted_doc,
        pycrdt.Awareness(trusted_doc),
        ssl=ssl.create_default_context(cafile=str(cert)),
        backoff=Backoff(base=0.05, cap=0.2),
    )
    # The system trust store does not know this self-signed certificate.
    doubtful_doc: pycrdt.Doc = pycrdt.Doc()
    doubtful = SyncClient(
        url, doubtful_doc, pycrdt.Awareness(doubtful_doc), backoff=Backoff(base=0.05, cap=0.2)
    )
    async with asyncio.TaskGroup() as tg:
        tg.create_task(trusted.run())
        tg.create_task(doubtful.run())
        try:
            with trusted_doc.transaction():
                trusted_doc.get("content", type=pycrdt.Text).insert(0, "over TLS")
            await wait_until(lambda: trusted.status.status is Status.SAVED, "saved")
            await wait_until(lambda: doubtful.status.status is Status.OFFLINE, "refused offline")
            assert doubtful.connections == 0  # the TLS handshake never completed
            assert str(doubtful_doc.get("content", type=pycrdt.Text)) == ""
        finally:
            await trusted.close()
            await doubtful.close()
    reader = TestClient(url, ssl=ssl.create_default_context(cafile=str(cert)))
    async with reader:
        await wait_until(lambda: str(reader) == "over TLS", "stored")
