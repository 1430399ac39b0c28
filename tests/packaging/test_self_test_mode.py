"""The bundle's ``--self-test`` mode, run from source (fast; test_bundle.py runs it frozen)."""

from __future__ import annotations

import socket
import sys
from pathlib import Path

from tests.packaging.helpers import REPO, Server, read_document, run_self_test

ENTRY = [sys.executable, str(REPO / "packaging" / "coscribe_entry.py")]


def test_self_test_opens_types_and_the_server_has_the_edit(tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    with Server(tmp_path / "server") as server:
        url = f"{server.url}/self-test-doc"
        result, shown = run_self_test(ENTRY, url, "typed by the self-test é😀", home)
        assert result.returncode == 0, result.stdout + result.stderr
        assert result.stdout.splitlines() == [
            "coscribe-self-test: window shown",
            "coscribe-self-test: saved",
        ]
        assert shown is not None
        assert read_document(url) == "typed by the self-test é😀"


def test_self_test_fails_with_exit_1_when_no_server_answers(tmp_path: Path) -> None:
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    result, shown = run_self_test(ENTRY, f"ws://127.0.0.1:{port}/doc", "x", tmp_path, 2.0)
    assert result.returncode == 1
    assert shown is not None  # the window opens offline, like for a user
    assert "FAILED: not connected" in result.stdout
