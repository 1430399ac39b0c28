"""The bundle's ``--self-test`` mode, run from source (fast; test_bundle.py runs it frozen)."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path

import pytest

from tests.packaging.helpers import REPO, Server, clean_env, read_document, run_self_test

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


def test_self_test_fails_when_no_font_has_the_typed_script(tmp_path: Path) -> None:
    """Hangul typed on a system whose fonts lack it would show as boxes: the self-test says
    so and fails (here fontconfig sees only DejaVu, which has no Hangul)."""
    dejavu = Path("/usr/share/fonts/truetype/dejavu")
    if not dejavu.is_dir():
        pytest.skip("fonts-dejavu-core is not installed")
    config = tmp_path / "fonts.conf"
    config.write_text(
        '<?xml version="1.0"?><!DOCTYPE fontconfig SYSTEM "fonts.dtd"><fontconfig>'
        f"<dir>{dejavu}</dir><cachedir>{tmp_path / 'fc-cache'}</cachedir></fontconfig>"
    )
    home = tmp_path / "home"
    home.mkdir()
    env = clean_env(home, PATH=os.defpath, FONTCONFIG_FILE=str(config))
    with Server(tmp_path / "server") as server:
        result, _ = run_self_test(ENTRY, f"{server.url}/fonts", "한글", home, env=env)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "FAILED: no font on this system has glyphs for: 한글" in result.stdout


def test_self_test_report_file_has_the_same_lines(tmp_path: Path) -> None:
    """``--report FILE``: windowed Windows/macOS builds have no stdout (release.yml reads it)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    report = tmp_path / "report.txt"
    result, _ = run_self_test(
        ENTRY,
        f"ws://127.0.0.1:{port}/doc",
        "x",
        tmp_path,
        2.0,
        extra_args=["--report", str(report)],
    )
    assert result.returncode == 1
    assert report.read_text().splitlines() == result.stdout.splitlines()
    assert report.read_text().startswith("coscribe-self-test: window shown\n")
