"""Spell checking: which words of a text are misspelled, suggestions, a personal word list.

Qt-free. The dictionaries are Hunspell's, through Enchant (``pyenchant``): ``en_US`` and
``ko_KR`` when installed, plus the OS locale's language. Everything is local: Enchant's
providers (Hunspell, Aspell, ...) read dictionary files on this computer, and the personal
word list is a text file in the editor's data directory. Nothing is ever sent anywhere.

Scripts are checked apart, because Hunspell's Korean dictionary accepts every Latin word
(it leaves them to another dictionary): a word with Hangul is asked of the Korean
dictionaries only, any other word of the others. A word is fine if one of the dictionaries
for its script accepts it (or none is active for that script).

Words are runs of letters, with ``'``/``’`` inside ("don't"); a run of Hangul directly
after Latin letters is a particle ("API를") and is not checked. Skipped: URLs and e-mail
addresses, numbers and any word with a digit or ``_``, ALL-CAPS words (acronyms) and
single letters.
"""

from __future__ import annotations

import contextlib
import locale
import os
import re
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

#: Dictionaries tried, in this order (plus the OS locale's, see :func:`default_languages`).
LANGUAGES = ("en_US", "ko_KR")
#: The personal word list, inside the data directory.
PERSONAL_FILE = "spelling-words.txt"
MAX_SUGGESTIONS = 5
#: Cached answers (word -> correct?) before the cache starts over.
CACHE_SIZE = 50_000

_WORD = re.compile(r"\w+(?:['’]\w+)*")
_SKIP = re.compile(r"(?:[a-zA-Z][a-zA-Z0-9+.-]*://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]")
# A Latin (or other non-Hangul) run followed by a Hangul run: the Hangul part is a particle.
_SCRIPT_RUNS = re.compile(
    r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]+"
    r"|[^\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]+"
)


class SpellCheckUnavailable(Exception):
    """Spell checking cannot run here; ``str()`` says why in a sentence."""


def default_languages(environ: dict[str, str] | None = None) -> list[str]:
    """``en_US``, ``ko_KR`` and the OS locale's language (``de_DE`` ...), without repeats."""
    env = os.environ if environ is None else environ
    wanted = list(LANGUAGES)
    tag = ""
    for var in ("LC_ALL", "LC_MESSAGES", "LANG"):
        if env.get(var):
            tag = env[var]
            break
    else:
        with contextlib.suppress(ValueError):
            tag = locale.getlocale()[0] or ""
    tag = tag.split(".")[0].split("@")[0]
    if tag and tag not in ("C", "POSIX") and tag not in wanted:
        wanted.append(tag)
    return wanted


def is_hangul(word: str) -> bool:
    return _HANGUL.search(word) is not None


def _skipped(word: str) -> bool:
    if len(word) < 2 or word.isupper():
        return True
    return any(ch.isdigit() or ch == "_" for ch in word)


def words(text: str) -> Iterator[tuple[int, int, str]]:
    """The words of ``text`` to check: ``(start, end, word)``, code point offsets."""
    skip = [m.span() for m in _SKIP.finditer(text)] if ("/" in text or "@" in text) else []
    for match in _WORD.finditer(text):
        start, end = match.span()
        if skip and any(a <= start < b for a, b in skip):
            continue
        token = match.group()
        if _skipped(token):
            continue
        if token.isascii() or not is_hangul(token):
            yield start, end, token
            continue
        after_latin = False
        for run in _SCRIPT_RUNS.finditer(token):
            part = run.group()
            hangul = is_hangul(part)
            if hangul and after_latin:
                continue  # "API를": a particle after a Latin word
            after_latin = not hangul
            part = part.strip("'’")
            if not part or _skipped(part):
                continue
            offset = start + run.start() + run.group().index(part)
            yield offset, offset + len(part), part


class SpellChecker:
    """Hunspell dictionaries through Enchant, plus a personal word list at ``personal``.

    Raises :class:`SpellCheckUnavailable` if Enchant (or its C library) is missing or
    none of ``languages`` has a dictionary installed.
    """

    def __init__(self, personal: Path, languages: Sequence[str] | None = None) -> None:
        try:
            import enchant
        except ImportError as exc:  # no pyenchant, or no libenchant-2 (raised as ImportError)
            raise SpellCheckUnavailable(
                f"the Enchant spelling library is not installed ({exc})"
            ) from exc
        self.personal_path = personal
        wanted = list(languages) if languages is not None else default_languages()
        dicts: dict[str, Any] = {}
        for tag in wanted:
            with contextlib.suppress(Exception):  # a malformed locale name, a broken file
                if enchant.dict_exists(tag) and tag not in dicts:
                    dicts[tag] = enchant.Dict(tag)
        if not dicts:
            raise SpellCheckUnavailable(
                "no spelling dictionary is installed for "
                + ", ".join(wanted)
                + " (Debian/Ubuntu: apt install hunspell-en-us hunspell-ko)"
            )
        self.languages = list(dicts)
        self._korean = [d for tag, d in dicts.items() if tag.split("_")[0] == "ko"]
        self._other = [d for tag, d in dicts.items() if tag.split("_")[0] != "ko"]
        self._personal: set[str] = set()
        self._ignored: set[str] = set()
        self._cache: dict[str, bool] = {}
        self._load_personal()

    # ------------------------------------------------------------------ checking

    def check(self, word: str) -> bool:
        """Whether ``word`` is spelled right (or is not a word that is checked)."""
        known = self._cache.get(word)
        if known is None:
            known = self._check(word)
            if len(self._cache) >= CACHE_SIZE:
                self._cache.clear()
            self._cache[word] = known
        return known

    def _check(self, word: str) -> bool:
        if word in self._ignored or word in self._personal or word.lower() in self._personal:
            return True
        dicts = self._korean if is_hangul(word) else self._other
        if not dicts:
            return True
        return any(d.check(word) for d in dicts)

    def misspelled(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` code point ranges of the misspelled words of ``text``."""
        check = self.check
        return [(start, end) for start, end, word in words(text) if not check(word)]

    def suggest(self, word: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
        """Up to ``limit`` corrections for ``word``, best first."""
        out: list[str] = []
        for d in self._korean if is_hangul(word) else self._other:
            for candidate in d.suggest(word):
                if candidate not in out and candidate != word:
                    out.append(candidate)
        return out[:limit]

    # ------------------------------------------------------------------ word lists

    @property
    def personal_words(self) -> list[str]:
        return sorted(self._personal)

    def add(self, word: str) -> None:
        """Add ``word`` to the personal word list (kept in the data directory)."""
        word = word.strip()
        if not word or word in self._personal:
            return
        self._personal.add(word)
        self._cache.clear()
        self._save_personal()

    def remove(self, word: str) -> None:
        if word in self._personal:
            self._personal.discard(word)
            self._cache.clear()
            self._save_personal()

    def ignore(self, word: str) -> None:
        """Accept ``word`` until the app quits (Google Docs' "Ignore")."""
        self._ignored.add(word)
        self._cache.pop(word, None)

    def _load_personal(self) -> None:
        try:
            text = self.personal_path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return
        except (OSError, UnicodeDecodeError):
            return  # unreadable: start empty, never lose it by overwriting before an add
        self._personal = set(_lines(text.splitlines()))

    def _save_personal(self) -> None:
        path = self.personal_path
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text("".join(f"{w}\n" for w in sorted(self._personal)), encoding="utf-8")
        os.replace(tmp, path)


def _lines(lines: Iterable[str]) -> Iterator[str]:
    for line in lines:
        word = line.strip()
        if word and not word.startswith("#"):
            yield word


def open_spell_checker(data_dir: Path, languages: Sequence[str] | None = None) -> SpellChecker:
    """The spell checker whose personal word list is in ``data_dir``."""
    return SpellChecker(data_dir / PERSONAL_FILE, languages)
