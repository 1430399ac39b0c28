"""The state table, document names and close codes, checked against what docs/protocol.md says."""

from __future__ import annotations

import itertools

import pytest

from shared.docnames import document_name_from_path, document_url, validate_document_name
from shared.errors import (
    AwarenessRejected,
    CloseCode,
    DecodeError,
    InvalidDocumentName,
    InvalidState,
    InvalidUpdate,
    UnknownMessageType,
)
from shared.states import TRANSITIONS, SessionState, check_transition

S = SessionState
ALLOWED = {
    (S.CONNECTING, S.SYNCING),
    (S.CONNECTING, S.CLOSED),
    (S.SYNCING, S.SYNCED),
    (S.SYNCING, S.CLOSED),
    (S.SYNCED, S.CLOSED),
}


@pytest.mark.parametrize(("current", "new"), list(itertools.product(S, S)))
def test_transition_table(current: SessionState, new: SessionState) -> None:
    if (current, new) in ALLOWED:
        check_transition(current, new)
    else:
        with pytest.raises(InvalidState):
            check_transition(current, new)


def test_table_covers_every_state() -> None:
    assert set(TRANSITIONS) == set(SessionState)


# ----------------------------------------------------------------------------- names


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/Meeting-Notes_2026.md", "Meeting-Notes_2026.md"),
        ("/notes?token=abc", "notes"),
        ("/notes#frag", "notes"),
        ("/a%2Db", "a-b"),
        ("notes", "notes"),
        ("/" + "x" * 128, "x" * 128),
    ],
)
def test_valid_paths(path: str, name: str) -> None:
    assert document_name_from_path(path) == name


@pytest.mark.parametrize(
    "path",
    ["/", "", "/a/b", "/a%2Fb", "/%2E%2E", "/..", "/.", "/한글", "/a b", "/a%20b", "/" + "x" * 129],
)
def test_invalid_paths(path: str) -> None:
    with pytest.raises(InvalidDocumentName):
        document_name_from_path(path)


def test_invalid_name_is_a_value_error() -> None:
    with pytest.raises(ValueError):
        validate_document_name("a/b")


def test_document_url() -> None:
    assert document_url("ws://h:1/", "n") == "ws://h:1/n"
    assert document_url("wss://h/prefix", "n.md") == "wss://h/prefix/n.md"
    with pytest.raises(InvalidDocumentName):
        document_url("ws://h:1", "../etc")


# ----------------------------------------------------------------------------- close codes


def test_error_close_codes() -> None:
    assert DecodeError.close_code == 1002
    assert UnknownMessageType.close_code == 1003
    assert InvalidUpdate.close_code == 1007
    assert AwarenessRejected.close_code == 1008


RETRYABLE = {1000, 1001, 1008, 1011, 1012, 1013, 4429}


@pytest.mark.parametrize("code", list(CloseCode))
def test_retryable_matches_the_protocol_doc(code: CloseCode) -> None:
    assert code.retryable is (int(code) in RETRYABLE)


def test_the_error_tree_in_the_docstring_is_the_real_one() -> None:
    """Every error class of shared.errors is drawn in its docstring, under its real parent."""
    import inspect

    import shared.errors as errors
    from shared.update_gate import MissingDependencies

    doc = errors.__doc__ or ""
    classes = [
        c for _, c in inspect.getmembers(errors, inspect.isclass)
        if issubclass(c, errors.CollabError)
    ] + [MissingDependencies]  # fmt: skip
    lines = doc.splitlines()
    for cls in classes:
        where = [i for i, line in enumerate(lines) if f" {cls.__name__}" in line or
                 line.strip().startswith(cls.__name__)]  # fmt: skip
        assert where, f"{cls.__name__} is missing from the tree in shared/errors.py"
        if cls is errors.CollabError:
            continue
        depth = lines[where[0]].index(cls.__name__)
        parent_line = next(
            line
            for line in reversed(lines[: where[0]])
            if _name_at(line) and line.index(_name_at(line)) < depth  # fmt: skip
        )
        parent = _name_at(parent_line)
        assert cls.__mro__[1].__name__ == parent, f"{cls.__name__}'s parent is not {parent}"


def _name_at(line: str) -> str:
    import re

    match = re.search(r"([A-Z][A-Za-z]+(?:Error|Denied|Name|Update|Type|Rejected|Poisoned|"
                      r"State|Dependencies))\b", line)  # fmt: skip
    return match.group(1) if match else ""
