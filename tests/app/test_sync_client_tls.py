"""The editor's sync client over wss://, verifying the server's certificate."""

from __future__ import annotations

import asyncio
import ssl
import subprocess
from pathlib import Path

import pycrdt
import pytest

from editor_app.backoff import Backoff
from editor_app.sync_client import Status, SyncClient
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.support.client import TestClient, wait_until


@pytest.fixture
def certificate(tmp_path: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, made at test time."""
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1",
         "-keyout", str(key), "-out", str(cert), "-subj", "/CN=localhost",
         "-addext", "subjectAltName=IP:127.0.0.1,DNS:localhost"],
        check=True, capture_output=True,
    )  # fmt: skip
    return cert, key


@pytest.mark.asyncio
async def test_wss_link_syncs_with_a_trusted_certificate_and_refuses_an_unknown_one(
    certificate: tuple[Path, Path],
) -> None:
    cert, key = certificate
    async with RelayServer(ServerConfig(port=0, tls_cert=cert, tls_key=key)) as srv:
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
                await wait_until(lambda: trusted.status.status is Status.SAVED, what="saved")
                await wait_until(
                    lambda: doubtful.status.status is Status.OFFLINE, what="refused offline"
                )
                assert doubtful.connections == 0  # the TLS handshake never completed
                assert str(doubtful_doc.get("content", type=pycrdt.Text)) == ""
            finally:
                await trusted.close()
                await doubtful.close()
        reader = TestClient(url, ssl=ssl.create_default_context(cafile=str(cert)))
        async with reader:
            await wait_until(lambda: str(reader) == "over TLS", what="stored")
