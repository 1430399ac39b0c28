"""The title an untitled document takes from its first line (editor_app.core.titles)."""

from __future__ import annotations

from editor_app.core.offsets import EMBED_CHAR
from editor_app.core.titles import MAX_TITLE, title_from_text


def test_the_first_line_with_words_its_spaces_collapsed() -> None:
    assert title_from_text("\n \t\n  Shopping   plan \nmilk\n") == "Shopping plan"


def test_hangul_emoji_and_combining_marks_are_kept_as_typed() -> None:
    line = "회의록 🦊 café (cafe\u0301)"
    assert title_from_text(f"{line}\n다음 줄") == line


def test_pictures_and_control_characters_are_not_part_of_it() -> None:
    assert title_from_text(f"{EMBED_CHAR}\n{EMBED_CHAR} Trip\u0007 photos{EMBED_CHAR}") == (
        "Trip photos"
    )


def test_a_long_line_is_cut_before_the_word_that_does_not_fit() -> None:
    title = title_from_text("word " * 40)
    assert len(title) <= MAX_TITLE and title.endswith("word") and "  " not in title
    assert title_from_text("x" * 200) == "x" * MAX_TITLE


def test_a_cut_inside_a_word_keeps_a_letter_with_its_accent() -> None:
    text = "x" * (MAX_TITLE - 1) + "e\u0301" + "y"
    assert title_from_text(text) == "x" * (MAX_TITLE - 1)


def test_no_words_no_title() -> None:
    assert title_from_text("") == ""
    assert title_from_text(f"\n  \n{EMBED_CHAR}\n") == ""
