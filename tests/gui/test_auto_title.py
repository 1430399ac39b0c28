"""An untitled document is named after its first line when its author pauses, as Google
Docs does (issue 13 QA: a library of untitled documents is one nobody finds anything in).

Real parts: real pycrdt documents, the real editor widget and model (offscreen), keys sent
as the keyboard sends them; the pause is the model's own timer (waited on as a condition).
"""

from __future__ import annotations

import pycrdt
from pytestqt.qtbot import QtBot

from editor_app.core.schema import meta
from editor_app.qt.document_model import AUTO_TITLE_MS
from tests.gui.test_binding import make_editor, remote_edit, type_text

#: Long enough for the model's pause to have passed (a bounded wait for nothing to happen).
QUIET_MS = AUTO_TITLE_MS * 3 // 2


def test_the_author_pausing_names_an_untitled_document_once(qtbot: QtBot) -> None:
    editor = make_editor(qtbot)
    type_text(editor, "\n회의록: Q3 plan 🦊\nfirst point")
    assert editor.model.title() == ""  # not while typing
    with qtbot.waitSignal(editor.model.titleChanged, timeout=AUTO_TITLE_MS * 3) as named:
        pass
    assert named.args == ["회의록: Q3 plan 🦊"]
    assert meta(editor.model.doc).get("title") == "회의록: Q3 plan 🦊"
    with qtbot.assertNotEmitted(editor.model.titleChanged, wait=QUIET_MS):
        type_text(editor, "\nmore lines")  # named once: more typing does not rename it
    assert editor.model.title() == "회의록: Q3 plan 🦊"


def test_only_the_author_names_it_and_only_an_untitled_one(qtbot: QtBot) -> None:
    """A collaborator's text does not name it in this window (two windows writing the
    title at once would each overwrite the other's: the author's does); a title someone
    gave, even an empty one, is kept; a viewer writes nothing."""
    theirs = make_editor(qtbot, pycrdt.Doc())
    cleared = make_editor(qtbot)
    viewer = make_editor(qtbot)
    with (
        qtbot.assertNotEmitted(theirs.model.titleChanged),
        qtbot.assertNotEmitted(cleared.model.titleChanged),
        qtbot.assertNotEmitted(viewer.model.titleChanged, wait=QUIET_MS),
    ):
        remote_edit(theirs.model.doc, lambda text: text.insert(0, "Their notes\nmore"))
        cleared.model.set_title("")  # they emptied the title box
        type_text(cleared, "Draft\nbody")
        type_text(viewer, "Minutes")
        viewer.model.read_only = True  # their access became view only before the pause
    assert [e.model.title() for e in (theirs, cleared, viewer)] == ["", "", ""]
