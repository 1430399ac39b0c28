"""editor_app.core.spelling against the real Hunspell dictionaries (en_US, ko_KR).

Skipped, saying why, only where Enchant or the dictionaries are not installed (``.ci/run``
installs libenchant-2-2, hunspell-en-us and hunspell-ko through ./dev.sh setup, so CI runs
these).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from editor_app.core.spelling import (
    PERSONAL_FILE,
    SpellChecker,
    SpellCheckUnavailable,
    default_languages,
    open_spell_checker,
    words,
)


def _checker(data_dir: Path) -> SpellChecker:
    try:
        checker = open_spell_checker(data_dir, ["en_US", "ko_KR"])
    except SpellCheckUnavailable as exc:
        pytest.skip(f"spell check unavailable here: {exc}")
    if checker.languages != ["en_US", "ko_KR"]:
        pytest.skip(f"needs the en_US and ko_KR dictionaries; installed: {checker.languages}")
    return checker


@pytest.fixture
def checker(tmp_path: Path) -> SpellChecker:
    return _checker(tmp_path)


def _bad(checker: SpellChecker, text: str) -> list[str]:
    return [text[a:b] for a, b in checker.misspelled(text)]


def test_english_words(checker: SpellChecker) -> None:
    assert _bad(checker, "The quick brown fox jumps ovr the lazzy dog.") == ["ovr", "lazzy"]
    assert _bad(checker, "Don't worry, it's fine; they’re here.") == []
    assert checker.check("hello") and not checker.check("helo")
    assert "hello" in checker.suggest("helo")
    assert len(checker.suggest("helo")) <= 5


def test_korean_words_and_particles(checker: SpellChecker) -> None:
    text = "안녕하세요 한국어를 배웁니다 한국어릏"
    assert _bad(checker, text) == ["한국어릏"]
    assert "한국어를" in checker.suggest("한국어릏")
    # The Korean dictionary accepts any Latin word: English is asked of en_US only.
    assert _bad(checker, "한국어 wrold 문장") == ["wrold"]
    # A particle right after a Latin word ("API를") is not a word of its own.
    assert _bad(checker, "API를 쓰고 Qt로 만든 editer를") == ["editer"]


def test_hangul_and_latin_boundaries() -> None:
    text = "Coscribe로 문서를, teh문서"
    found = [(text[a:b], w) for a, b, w in words(text)]
    assert found == [("Coscribe", "Coscribe"), ("문서를", "문서를"), ("teh", "teh")]


def test_skipped_words(checker: SpellChecker) -> None:
    text = (
        "NASA and HTTPS, 2024 and 3.14, abc123 x86_64 snake_case, "
        "https://exampel.com/pathh and www.exampel.org, mail to someone@exampel.com"
    )
    assert _bad(checker, text) == []
    # An address with no "/" or "@" in its line (it was checked as words there).
    assert _bad(checker, "see www.exampel.com and WWW.KERNAL.ORG too") == []
    # Positions are the text's (code points), also after emoji and Hangul.
    text = "😀 한국 wrold"
    assert [text[a:b] for a, b in checker.misspelled(text)] == ["wrold"]


def test_personal_dictionary_persists_across_instances(tmp_path: Path) -> None:
    first = _checker(tmp_path)
    assert not first.check("Coscribe")
    first.add("Coscribe")
    first.add("코스크라이브")
    assert first.check("Coscribe") and first.check("코스크라이브")
    assert _bad(first, "Coscribe and 코스크라이브") == []
    second = _checker(tmp_path)  # a new run of the app: same data directory
    assert second.check("Coscribe") and second.check("코스크라이브")
    assert set(second.personal_words) == {"Coscribe", "코스크라이브"}
    assert (tmp_path / PERSONAL_FILE).read_text(encoding="utf-8").splitlines() == sorted(
        ["Coscribe", "코스크라이브"]
    )
    second.remove("Coscribe")
    assert not _checker(tmp_path).check("Coscribe")


def test_ignore_lasts_only_for_the_instance(tmp_path: Path) -> None:
    first = _checker(tmp_path)
    assert not first.check("wrold")
    first.ignore("wrold")
    assert first.check("wrold")
    assert not _checker(tmp_path).check("wrold")


def test_unavailable_says_why(tmp_path: Path) -> None:
    try:
        open_spell_checker(tmp_path, ["xx_NOPE"])
    except SpellCheckUnavailable as exc:
        assert "xx_NOPE" in str(exc) or "Enchant" in str(exc)
    else:
        pytest.fail("a missing dictionary must raise SpellCheckUnavailable")


def test_default_languages_add_the_os_locale() -> None:
    assert default_languages({"LANG": "de_DE.UTF-8"}) == ["en_US", "ko_KR", "de_DE"]
    assert default_languages({"LC_ALL": "ko_KR.UTF-8"}) == ["en_US", "ko_KR"]
    assert default_languages({"LANG": "C.UTF-8"}) == ["en_US", "ko_KR"]
