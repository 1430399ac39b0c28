"""Spell check dictionaries load on a worker thread: opening a document never waits for them.

Real parts: a real relay on port 0, a real :class:`CoscribeApp` with its windows, the real
Hunspell dictionaries through Enchant. The load is held back by a loader given to
:class:`Spelling` (its public ``loader`` parameter) that waits on a gate the test opens,
so "before the dictionaries are here" is a state the test controls, not a race it hopes
to win. Skipped, saying why, only where the en_US and ko_KR dictionaries are missing.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from pathlib import Path

import pytest
import shiboken6
from PySide6.QtCore import QObject
from PySide6.QtGui import QTextBlock, QTextCharFormat

from editor_app.core.spelling import Dictionaries, SpellCheckUnavailable, load_dictionaries
from editor_app.ui.app import CoscribeApp
from editor_app.ui.spell_highlighter import Spelling
from tests.e2e.harness import DEADLINE, qapp, relay, type_text, wait_until

LANGUAGES = ["en_US", "ko_KR"]
SPELL = QTextCharFormat.UnderlineStyle.SpellCheckUnderline


class GatedLoader:
    """:func:`load_dictionaries` that first waits until the test opens the gate, noting
    the thread it ran on and what it returned."""

    def __init__(self) -> None:
        self.gate = threading.Event()
        self.started = threading.Event()
        self.finished = threading.Event()
        self.thread: int | None = None
        self.loaded: Dictionaries | None = None

    def __call__(self, languages: Sequence[str] | None) -> Dictionaries:
        self.thread = threading.get_ident()
        self.started.set()
        try:
            # Bounded: a loader wrongly run on the UI thread returns (and the test fails)
            # instead of hanging the run.
            self.gate.wait(DEADLINE)
            self.loaded = load_dictionaries(languages)
            return self.loaded
        finally:
            self.finished.set()


@pytest.fixture(scope="module")
def dictionaries_installed() -> None:
    try:
        found = load_dictionaries(LANGUAGES)
    except SpellCheckUnavailable as exc:
        pytest.skip(f"spell check unavailable here: {exc}")
    if found.languages != LANGUAGES:
        pytest.skip(f"needs the en_US and ko_KR dictionaries; installed: {found.languages}")
    found.close()


def squiggled(block: QTextBlock) -> list[str]:
    """The words of ``block`` with a spelling underline."""
    text = block.text()
    return [
        text[r.start : r.start + r.length]
        for r in block.layout().formats()
        if r.format.underlineStyle() == SPELL
    ]


@pytest.mark.asyncio
@pytest.mark.usefixtures("dictionaries_installed")
async def test_opening_does_not_wait_for_the_dictionaries(tmp_path: Path) -> None:
    loader = GatedLoader()
    spelling = Spelling(tmp_path / "me", LANGUAGES, background=True, loader=loader)
    async with relay(tmp_path / "srv") as server:
        app = CoscribeApp(qapp(), data_dir=tmp_path / "me", name="Ada", spelling=spelling)
        try:
            opened = app.open_document(f"{server.url}/spell-loading")
            # The window is up while the loader is still held at its gate: the open path
            # did not run it (a synchronous load would have waited out the gate first).
            assert opened.window.isVisible()
            assert not loader.finished.is_set()
            assert spelling.loading
            await wait_until(loader.started.is_set, "the loader to start on its thread")
            assert loader.thread != threading.get_ident()

            # Typing works at once, with no underline yet.
            editor = opened.editor
            editor.setFocus()
            type_text(editor, "Hello wrold and 한국어릏 ")
            assert str(opened.model.text) == "Hello wrold and 한국어릏 "
            assert squiggled(editor.document().firstBlock()) == []
            assert not loader.finished.is_set()

            # The dictionaries arrive: the document is checked without another keystroke.
            loader.gate.set()
            await wait_until(
                lambda: squiggled(editor.document().firstBlock()) == ["wrold", "한국어릏"],
                lambda: f"squiggles once loaded, got {squiggled(editor.document().firstBlock())}",
            )
            assert not spelling.loading
            assert spelling.checker is not None and spelling.checker.languages == LANGUAGES
            tooltip = opened.window.actions_by_name["spellCheck"].toolTip()
            assert "en_US, ko_KR" in tooltip
        finally:
            loader.gate.set()
            await app.aclose()


@pytest.mark.asyncio
@pytest.mark.usefixtures("dictionaries_installed")
async def test_closing_the_window_while_loading_is_safe(tmp_path: Path) -> None:
    loader = GatedLoader()
    spelling = Spelling(tmp_path / "me", LANGUAGES, background=True, loader=loader)
    async with relay(tmp_path / "srv") as server:
        app = CoscribeApp(qapp(), data_dir=tmp_path / "me", name="Ada", spelling=spelling)
        try:
            first = app.open_document(f"{server.url}/closed-early")
            type_text(first.editor, "wrold ")
            highlighter = first.editor.spell
            assert highlighter is not None
            first.window.close()
            await wait_until(lambda: not app.documents, "the window to close")
            await wait_until(
                lambda: not shiboken6.isValid(highlighter), "the closed window's highlighter gone"
            )
            loader.gate.set()  # the load ends after its window is gone
            await wait_until(lambda: not spelling.loading, "the dictionaries to be taken")
            # The application's checker still serves the next window.
            second = app.open_document(f"{server.url}/opened-later")
            type_text(second.editor, "Hello wrold and more")
            await wait_until(
                lambda: squiggled(second.editor.document().firstBlock()) == ["wrold"],
                "a squiggle in the window opened after the load",
            )
        finally:
            loader.gate.set()
            await app.aclose()


@pytest.mark.asyncio
@pytest.mark.usefixtures("dictionaries_installed")
async def test_a_spelling_deleted_while_loading_frees_what_arrives(tmp_path: Path) -> None:
    loader = GatedLoader()
    owner = QObject()
    spelling = Spelling(tmp_path, LANGUAGES, owner, background=True, loader=loader)
    await wait_until(loader.started.is_set, "the loader to start")
    ready: list[bool] = []
    spelling.ready.connect(lambda: ready.append(True))
    shiboken6.delete(owner)  # the Spelling goes with it, its load still running
    assert not shiboken6.isValid(spelling)
    loader.gate.set()
    await wait_until(loader.finished.is_set, "the loader to return")
    await wait_until(
        lambda: loader.loaded is not None and not loader.loaded.korean + loader.loaded.other,
        "the dictionaries nobody took to be freed",
    )
    assert ready == []
