"""Live revocation of access links (docs/security.md, "Revoking links").

* Revoking one link closes its open sessions with 4410 within a second and refuses it at
  the handshake (403), while every other link keeps working.
* Revoking a document's links closes every session opened with a link issued before, and
  links minted afterwards work.
* The CLI revokes while the server runs (it writes the store; the server polls it), and a
  revocation made on one node reaches the sessions of another node sharing the store.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from shared.errors import CloseCode
from sync_server.app import RelayServer
from sync_server.auth import Role, mint_token, token_id_of
from sync_server.memory_store import MemoryDatabase, MemoryStore
from tests.server.access_links import SECRET, secured
from tests.server.processes import ServerProcess, run_cli
from tests.support.client import TestClient, refused
from tests.support.waiting import wait_until

WITHIN = 1.0  # the promise: revoked sessions close within a second


@pytest.mark.asyncio
async def test_revoking_one_link_closes_its_sessions_and_nobody_else() -> None:
    async with RelayServer(secured()) as srv:
        url = srv.url + "/plans"
        revoked, kept = (
            mint_token(SECRET, "plans", Role.EDITOR),
            mint_token(SECRET, "plans", Role.VIEWER),
        )
        async with (
            TestClient(f"{url}?token={revoked}") as a,
            TestClient(f"{url}?token={kept}") as b,
        ):
            await wait_until(lambda: a.synced and b.synced, "both synced")
            token_id = token_id_of(revoked)
            assert token_id is not None
            started = time.monotonic()
            await srv.revoke_token(token_id)
            await wait_until(lambda: a.closed, "revoked session closed", within=WITHIN)
            assert time.monotonic() - started < WITHIN
            assert a.close_code == CloseCode.TOKEN_REVOKED
            assert not b.closed
        status, body = await refused(f"{url}?token={revoked}")
        assert status == 403 and "revoked" in body
        async with TestClient(f"{url}?token={kept}") as again:
            await wait_until(lambda: again.synced, "the other link still works")


@pytest.mark.asyncio
async def test_revoking_a_documents_links_spares_new_links_and_other_documents() -> None:
    async with RelayServer(secured()) as srv:
        old = mint_token(SECRET, "team-*", Role.EDITOR)
        async with (
            TestClient(f"{srv.url}/team-a?token={old}") as a,
            TestClient(f"{srv.url}/team-b?token={old}") as b,
        ):
            await wait_until(lambda: a.synced and b.synced, "synced")
            await srv.revoke_document("team-a")
            await wait_until(lambda: a.closed, "team-a session closed", within=WITHIN)
            assert a.close_code == CloseCode.TOKEN_REVOKED
            assert not b.closed, "the prefix link still opens the other documents"
        fresh = mint_token(SECRET, "team-a", Role.EDITOR)
        async with TestClient(f"{srv.url}/team-a?token={fresh}") as c:
            await wait_until(lambda: c.synced, "a link minted after the revocation works")


@pytest.mark.asyncio
async def test_a_revocation_on_one_node_closes_sessions_on_another() -> None:
    """Two relays sharing one store (as cluster nodes share PostgreSQL): the other node
    picks the revocation up by polling the store."""
    shared = MemoryDatabase()
    async with (
        RelayServer(secured(), store=MemoryStore(shared)) as one,
        RelayServer(secured(), store=MemoryStore(shared)) as two,
    ):
        token = mint_token(SECRET, "doc", Role.EDITOR)
        async with TestClient(f"{two.url}/doc?token={token}") as c:
            await wait_until(lambda: c.synced, "synced on node two")
            token_id = token_id_of(token)
            assert token_id is not None
            started = time.monotonic()
            await one.revoke_token(token_id)
            await wait_until(lambda: c.closed, "closed on node two", within=WITHIN + 0.5)
            assert c.close_code == CloseCode.TOKEN_REVOKED
            assert time.monotonic() - started < WITHIN


def test_the_cli_revokes_while_the_server_runs(tmp_path: Path) -> None:
    secret_file = tmp_path / "secret"
    secret_file.write_bytes(SECRET)
    data = tmp_path / "data"
    server = ServerProcess(
        "--port", "0", "--data-dir", str(data), "--secret-file", str(secret_file)
    ).start()  # fmt: skip
    try:
        token = mint_token(SECRET, "notes", Role.EDITOR)
        import asyncio

        async def scenario() -> float:
            async with TestClient(f"{server.url}/notes?token={token}") as c:
                await wait_until(lambda: c.synced, "synced")
                started = time.monotonic()
                result = await asyncio.to_thread(
                    run_cli, "revoke", "--data-dir", str(data), "--token", token
                )
                assert result.returncode == 0, result.stderr
                assert "revoked link" in result.stdout
                await wait_until(lambda: c.closed, "closed after the CLI revoked it", within=5)
                assert c.close_code == CloseCode.TOKEN_REVOKED
                return time.monotonic() - started

        elapsed = asyncio.run(scenario())
        assert elapsed < 5  # includes starting the CLI process (~1 s) and one poll
    finally:
        server.stop()


def test_cli_revoke_errors_are_one_line() -> None:
    result = run_cli("revoke", "--data-dir", ":memory:", "--doc", "x")
    assert result.returncode == 2 and "in-memory" in result.stderr
    result = run_cli("revoke", "--data-dir", "/nonexistent-coscribe", "--token", "v1.x.y")
    assert result.returncode == 2 and "no id" in result.stderr
    result = run_cli("revoke", "--data-dir", "/nonexistent-coscribe", "--doc", "bad name")
    assert result.returncode == 2
