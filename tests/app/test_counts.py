"""Word count figures (issue 13, part C)."""

from __future__ import annotations

from editor_app.core.counts import CHARS_PER_PAGE, count


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
