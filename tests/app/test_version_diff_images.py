"""Pictures in "Show changes" (editor_app.core.version_diff): a picture is one embed, so
it is inserted, deleted or reformatted as one unit wherever it stands (between words,
glued to a word, inside a word changed letter by letter, on a line of its own), never
taken for text, and each version reads back exactly from the diff."""

from __future__ import annotations

from typing import Any

import pytest

from editor_app.core.schema import content
from editor_app.core.version_diff import (
    Part,
    changes_document,
    diff_versions,
    new_side,
    old_side,
    spans16,
)

Runs = list[tuple[Any, dict[str, Any] | None]]

RED = {"image": "data:image/png;base64,UkVE"}
BLUE = {"image": "data:image/png;base64,QkxVRQ=="}


def checked(old: Runs, new: Runs) -> list[Part]:
    parts = diff_versions(old, new)
    assert new_side(parts) == new
    assert old_side(parts) == old
    return parts


def pictures(parts: list[Part]) -> list[tuple[str, Any, Any]]:
    return [(p.change, p.value, p.old_attrs) for p in parts if not isinstance(p.value, str)]


def text_changes(parts: list[Part]) -> list[tuple[str, str]]:
    return [(p.change, p.value) for p in parts if isinstance(p.value, str) and p.change != "equal"]


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        pytest.param(
            [("Look here\n", None)],
            [("Look ", None), (RED, None), ("here\n", None)],
            [("insert", RED, None)],
            id="inserted between words",
        ),
        pytest.param(
            [("Look", None), (RED, None), ("here\n", None)],
            [("Lookhere\n", None)],
            [("delete", RED, None)],
            id="deleted from between two letters",
        ),
        pytest.param(
            [("colour ", None), (RED, None), ("\n", None)],
            [("color ", None), (BLUE, None), ("\n", None)],
            [("delete", RED, None), ("insert", BLUE, None)],
            id="replaced by another picture",
        ),
        pytest.param(
            [("A\n", None), (RED, None), (RED, None), ("\n", None)],
            [("A\n", None), (RED, None), ("\n", None)],
            [("equal", RED, None), ("delete", RED, None)],
            id="one of two copies deleted",
        ),
    ],
)
def test_a_picture_changes_as_one_unit(old: Runs, new: Runs, expected: list[Any]) -> None:
    parts = checked(old, new)
    assert pictures(parts) == expected
    # The text around a picture is not marked unless it changed itself.
    assert text_changes(parts) == ([("delete", "u")] if old[0][0] == "colour " else [])


def test_a_resized_picture_is_a_format_change_of_that_picture() -> None:
    old: Runs = [("See ", None), (RED, {"width": "200"}), (" there\n", None)]
    new: Runs = [("See ", None), (RED, {"width": "320"}), (" there\n", None)]
    parts = checked(old, new)
    assert pictures(parts) == [("format", RED, {"width": "200"})]
    assert text_changes(parts) == []
    assert spans16(parts) == [("format", 4, 1)]


def test_the_changes_document_holds_deleted_and_inserted_pictures_in_place() -> None:
    old: Runs = [("Look ", None), (RED, None), ("here\n", None)]
    new: Runs = [("Look here", None), (BLUE, {"width": "50"}), ("\n", None)]
    parts = checked(old, new)
    assert spans16(parts) == [("delete", 5, 1), ("insert", 10, 1)]
    text = content(changes_document(parts))
    embeds = [(chunk, attrs) for chunk, attrs in text.diff() if not isinstance(chunk, str)]
    assert embeds == [(RED, None), (BLUE, {"width": "50"})]
