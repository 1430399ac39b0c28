"""Word count figures (issue 13, part C)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from editor_app.core.counts import CHARS_PER_PAGE, count
from editor_app.core.offsets import TextIndex


def test_words_characters_and_pages() -> None:
    c = count("Hello world\n회의는 금요일 e\u0301 😀")
    assert c.words == 6
    assert c.characters == len("Hello world회의는 금요일 é 😀")
    assert c.characters_no_spaces == len("Helloworld회의는금요일é😀")
    assert c.pages == 1
    assert count("").words == 0 and count("").pages == 1
    assert count("x" * (CHARS_PER_PAGE + 1)).pages == 2


def test_an_image_is_neither_a_word_nor_a_character() -> None:
    """An image is U+FFFC in the editor's text (Quill's image embed)."""
    with_image = count("회의록 notes\ufffc\u2029end")
    assert (with_image.words, with_image.characters) == (3, 12)
    assert count("ab\ufffccd").words == 2


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.sampled_from(["word", "한국어", " ", "\n", "\ufffc", "e\u0301", "😀", "x" * 600])),
)
def test_the_status_bar_count_agrees_with_the_word_count_dialog(pieces: list[str]) -> None:
    """TextIndex.word_count (kept per 512-character chunk, for the status bar) equals the
    Word count dialog's, images and chunk boundaries included."""
    text = "".join(pieces)
    assert TextIndex(text).word_count() == count(text).words
