"""transform_position: my caret stays with my text when others edit (issue 13, bug 7)."""

from __future__ import annotations

from editor_app.core.text_ops import EditOp, FormatOp, transform_position


def test_an_insert_at_the_caret_goes_after_it() -> None:
    assert transform_position(4, [EditOp(4, 0, "\ntheirs")]) == 4


def test_inserts_before_the_caret_push_it_by_utf16_units() -> None:
    assert transform_position(4, [EditOp(1, 0, "😀한")]) == 7


def test_deletes_pull_the_caret_back_and_formats_leave_it() -> None:
    assert transform_position(10, [EditOp(2, 3, "")]) == 7
    assert transform_position(4, [EditOp(2, 5, "xy")]) == 2
    assert transform_position(4, [FormatOp(0, 9, {"bold": True})]) == 4
    assert transform_position(3, [EditOp(5, 2, "")]) == 3
