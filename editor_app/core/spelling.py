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

Loading a dictionary is slow (Hunspell's Korean one: about 0.85 s), so the editor does not
do it on its UI thread: :class:`DictionaryLoad` runs :func:`load_dictionaries` on a worker
thread, and a :class:`SpellChecker` made without dictionaries accepts every word until
:meth:`SpellChecker.attach` hands them over. Enchant promises nothing about threads, so
every call into it, on any thread, holds one lock (:data:`ENCHANT_LOCK`): a dictionary is
never checked while another one is being loaded or freed.
"""

from __future__ import annotations

import contextlib
import locale
import os
import re
import threading
from collections.abc import Callable, Iterable, Iterator, Sequence
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
_SKIP = re.compile(
    r"(?:[a-zA-Z][a-zA-Z0-9+.-]*://|www\.)\S+|[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE
)
_HANGUL = re.compile(r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]")
# A Latin (or other non-Hangul) run followed by a Hangul run: the Hangul part is a particle.
_SCRIPT_RUNS = re.compile(
    r"[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]+"
    r"|[^\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7af\ud7b0-\ud7ff]+"
)


#: Held around every call into Enchant (loading, checking, suggesting, freeing), whatever
#: the thread: Enchant and its providers are not documented as thread-safe.
#: Re-entrant: a dictionary freed by the garbage collector inside a locked call takes it again.
ENCHANT_LOCK = threading.RLock()


class SpellCheckUnavailable(Exception):
    """Spell checking cannot run here; ``str()`` says why in a sentence."""


class Dictionaries:
    """Loaded Enchant dictionaries, split by script (see the module docstring).

    Made by :func:`load_dictionaries`, on any thread; afterwards used by one thread at a
    time (the one its :class:`SpellChecker` lives on), every call under :data:`ENCHANT_LOCK`.
    """

    def __init__(self, dicts: dict[str, Any]) -> None:
        self.languages = list(dicts)
        self.korean = [d for tag, d in dicts.items() if tag.split("_")[0] == "ko"]
        self.other = [d for tag, d in dicts.items() if tag.split("_")[0] != "ko"]

    def for_word(self, word: str) -> list[Any]:
        """The dictionaries that judge ``word``: the Korean ones for Hangul, else the others."""
        return self.korean if is_hangul(word) else self.other

    def close(self) -> None:
        """Free the dictionaries now, under the lock (not whenever, on whichever thread,
        the garbage collector would drop the last reference)."""
        with ENCHANT_LOCK:
            self.korean, self.other = [], []

    def __del__(self) -> None:
        with contextlib.suppress(Exception):  # at interpreter exit the lock may be gone
            self.close()


def load_dictionaries(languages: Sequence[str] | None = None) -> Dictionaries:
    """Load the dictionaries of ``languages`` (default: :func:`default_languages`) that are
    installed. Slow (Korean: about 0.85 s); safe on any thread (a broker of its own, and
    :data:`ENCHANT_LOCK` held while Enchant works).

    Raises:
        SpellCheckUnavailable: Enchant (or its C library) is missing, or none of
            ``languages`` has a dictionary installed.
    """
    wanted = list(languages) if languages is not None else default_languages()
    dicts: dict[str, Any] = {}
    with ENCHANT_LOCK:
        try:
            import enchant
        except ImportError as exc:  # no pyenchant, or no libenchant-2 (raised as ImportError)
            raise SpellCheckUnavailable(
                f"the Enchant spelling library is not installed ({exc})"
            ) from exc
        broker = enchant.Broker()  # not the module's shared one, which other threads may use
        for tag in wanted:
            with contextlib.suppress(Exception):  # a malformed locale name, a broken file
                if tag not in dicts and broker.dict_exists(tag):
                    dicts[tag] = broker.request_dict(tag)
    if not dicts:
        raise SpellCheckUnavailable(
            "no spelling dictionary is installed for "
            + ", ".join(wanted)
            + " (Debian/Ubuntu: apt install hunspell-en-us hunspell-ko)"
        )
    return Dictionaries(dicts)


#: What loads dictionaries: :func:`load_dictionaries`, or a stand-in with its signature.
DictionaryLoader = Callable[[Sequence[str] | None], Dictionaries]


class DictionaryLoad:
    """:func:`load_dictionaries` (or ``loader``) running on a worker thread of its own.

    The worker touches nothing but Enchant and this object: the thread that asked polls
    :meth:`done` and takes :meth:`take`, so no callback ever reaches an object that was
    deleted meanwhile. :meth:`cancel` (its owner is going away) frees the dictionaries as
    soon as they are loaded. The thread is not a daemon: an application that quits during
    a load waits for it (under a second) instead of unloading Enchant under its feet.
    """

    def __init__(
        self, languages: Sequence[str] | None = None, loader: DictionaryLoader = load_dictionaries
    ) -> None:
        self._languages = list(languages) if languages is not None else None
        self._loader = loader
        self._lock = threading.Lock()
        self._finished = threading.Event()
        self._dictionaries: Dictionaries | None = None
        self._error: SpellCheckUnavailable | None = None
        self._cancelled = False
        self._thread = threading.Thread(target=self._run, name="spelling-dictionaries")
        self._thread.start()

    def _run(self) -> None:
        dictionaries: Dictionaries | None = None
        error: SpellCheckUnavailable | None = None
        try:
            dictionaries = self._loader(self._languages)
        except SpellCheckUnavailable as exc:
            error = exc
        except Exception as exc:  # a broken provider must not leave the editor waiting
            error = SpellCheckUnavailable(f"the spelling dictionaries could not be loaded ({exc})")
        with self._lock:
            if self._cancelled and dictionaries is not None:
                dictionaries.close()
                dictionaries = None
            self._dictionaries, self._error = dictionaries, error
        self._finished.set()

    def done(self) -> bool:
        """Whether the load has finished (loaded, or found unavailable)."""
        return self._finished.is_set()

    def wait(self, timeout: float | None = None) -> bool:
        """Block until the load has finished (at most ``timeout`` seconds); whether it has."""
        return self._finished.wait(timeout)

    def take(self) -> Dictionaries:
        """The loaded dictionaries, handed over to the caller (once :meth:`done`; once).

        Raises:
            SpellCheckUnavailable: why there are none.
        """
        if not self._finished.is_set():
            raise RuntimeError("the dictionaries are still loading")
        with self._lock:
            dictionaries, self._dictionaries = self._dictionaries, None
            error, self._error = self._error, None
        if dictionaries is None:
            raise error or SpellCheckUnavailable("the dictionaries were handed over already")
        return dictionaries

    def cancel(self) -> None:
        """Nobody will take the result: free it (now, or when the worker finishes); a
        result already taken is the taker's."""
        with self._lock:
            self._cancelled = True
            dictionaries, self._dictionaries = self._dictionaries, None
        if dictionaries is not None:
            dictionaries.close()


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
    if word.isalpha():  # no letter is a digit: the usual word answers in C, not per char
        return False
    return any(ch.isdigit() or ch == "_" for ch in word)


def words(text: str) -> Iterator[tuple[int, int, str]]:
    """The words of ``text`` to check: ``(start, end, word)``, code point offsets."""
    # Addresses are not words (looked for only where one can be: most lines have none).
    maybe = "/" in text or "@" in text or "www." in text or "WWW." in text
    skip = [m.span() for m in _SKIP.finditer(text)] if maybe else []
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
    """Words checked against ``dictionaries``, plus a personal word list at ``personal``.

    Made without dictionaries (they are loading on another thread, :class:`DictionaryLoad`)
    it accepts every word, remembering no answer, until :meth:`attach` gives them;
    :attr:`ready` says which. Used by one thread (the UI's).
    """

    def __init__(self, personal: Path, dictionaries: Dictionaries | None = None) -> None:
        self.personal_path = personal
        self._dicts = dictionaries
        self._personal: set[str] = set()
        self._ignored: set[str] = set()
        self._cache: dict[str, bool] = {}
        self._load_personal()

    @property
    def ready(self) -> bool:
        """Whether the dictionaries are here (before that, every word is accepted)."""
        return self._dicts is not None

    @property
    def languages(self) -> list[str]:
        """The languages checked (``en_US``, ``ko_KR``, ...): none until :attr:`ready`."""
        return [] if self._dicts is None else list(self._dicts.languages)

    def attach(self, dictionaries: Dictionaries) -> None:
        """Start checking with ``dictionaries`` (loaded on another thread, handed over)."""
        self._dicts = dictionaries
        self._cache.clear()

    # ------------------------------------------------------------------ checking

    def check(self, word: str) -> bool:
        """Whether ``word`` is spelled right (or is not a word that is checked; or the
        dictionaries are not loaded yet)."""
        if self._dicts is None:
            return True
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
        dicts = self._dicts.for_word(word) if self._dicts is not None else []
        if not dicts:
            return True
        with ENCHANT_LOCK:
            return any(d.check(word) for d in dicts)

    def misspelled(self, text: str) -> list[tuple[int, int]]:
        """``(start, end)`` code point ranges of the misspelled words of ``text``."""
        if self._dicts is None:
            return []
        check = self.check
        return [(start, end) for start, end, word in words(text) if not check(word)]

    def suggest(self, word: str, limit: int = MAX_SUGGESTIONS) -> list[str]:
        """Up to ``limit`` corrections for ``word``, best first."""
        out: list[str] = []
        for d in self._dicts.for_word(word) if self._dicts is not None else []:
            with ENCHANT_LOCK:
                candidates = d.suggest(word)
            for candidate in candidates:
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
    """The spell checker whose personal word list is in ``data_dir``, its dictionaries
    loaded on this thread (slow: see :class:`DictionaryLoad` for the UI thread).

    Raises:
        SpellCheckUnavailable: see :func:`load_dictionaries`.
    """
    return SpellChecker(data_dir / PERSONAL_FILE, load_dictionaries(languages))
