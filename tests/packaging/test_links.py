"""``coscribe://`` links, as a web page or chat hands them to the installed app."""

from __future__ import annotations

import subprocess
import sys

import pytest

from editor_app.core.links import LinkError, parse_document_link


@pytest.mark.parametrize(
    ("app_link", "url"),
    [
        ("coscribe://docs.example.com/team-notes", "wss://docs.example.com/team-notes"),
        ("coscribe://docs.example.com:8443/notes?token=abc", "wss://docs.example.com:8443/notes?token=abc"),
        ("COSCRIBE://Docs.Example.com/notes", "wss://docs.example.com/notes"),
        ("coscribe://127.0.0.1:1234/notes", "ws://127.0.0.1:1234/notes"),
        ("coscribe://localhost:1234/notes", "ws://localhost:1234/notes"),
        ("coscribe://[::1]:1234/notes", "ws://[::1]:1234/notes"),
        ("  coscribe://10.0.0.5:1234/notes  ", "wss://10.0.0.5:1234/notes"),
    ],
)  # fmt: skip
def test_app_links_map_to_websocket_urls(app_link: str, url: str) -> None:
    link = parse_document_link(app_link)
    assert link.url == url
    assert link.name == "notes" or link.name == "team-notes"


@pytest.mark.parametrize(
    "bad", ["coscribe://", "coscribe://host:1234/", "coscribe://host:port/doc", "coscribe:/doc"]
)
def test_bad_app_links_are_rejected(bad: str) -> None:
    with pytest.raises(LinkError):
        parse_document_link(bad)


def test_the_command_line_accepts_an_app_link() -> None:
    """The desktop entry runs ``coscribe %u``: a bad app link gets the one-line error, a good
    one gets past argument parsing (checked with a bad --server so nothing opens)."""
    run = [sys.executable, "-m", "editor_app"]
    bad = subprocess.run([*run, "coscribe://h/"], capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2
    assert "the link has no document name" in bad.stderr
    good = subprocess.run(
        [*run, "coscribe://h:1/doc", "--server", "nope"], capture_output=True, text=True, timeout=60
    )
    assert good.returncode == 2
    assert "not a server address: 'nope'" in good.stderr
