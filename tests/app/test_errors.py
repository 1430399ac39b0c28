"""The editor's errors are branches of the one error tree, drawn as they really are."""

from __future__ import annotations

import inspect
import re

import pytest

import editor_app.core.errors as errors
from shared.errors import CollabError


def editor_errors() -> list[type[BaseException]]:
    return [
        cls
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if cls.__module__ == errors.__name__
    ]


def test_every_editor_error_is_a_collab_error_and_exported() -> None:
    classes = editor_errors()
    assert classes
    for cls in classes:
        assert issubclass(cls, CollabError), cls
    assert sorted(c.__name__ for c in classes) == sorted(errors.__all__)


@pytest.mark.parametrize("cls", editor_errors(), ids=lambda c: c.__name__)
def test_the_docstring_draws_each_error_under_its_parent(cls: type[BaseException]) -> None:
    lines = (errors.__doc__ or "").splitlines()
    (line,) = [ln for ln in lines if re.search(rf"[─ ]{cls.__name__}\b", ln)]
    depth = line.index(cls.__name__)
    parent_line = next(
        ln
        for ln in reversed(lines[: lines.index(line)])
        if (m := re.search(r"[A-Z]\w+", ln)) and m.start() < depth
    )
    parent = re.search(r"[A-Z]\w+", parent_line)
    assert parent is not None
    assert cls.__mro__[1].__name__ == parent.group(0)
    for base in re.findall(r"also (\w+)", line):
        assert base in {b.__name__ for b in cls.__mro__}
