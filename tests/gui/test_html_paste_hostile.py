"""Hostile clipboard HTML: the pre-reading fixes of ``html_paste`` stay linear.

The fixes for real clipboards (Word's list paragraphs and markers, ``<code>``, Chrome's
interchange ``<br>``, Word's conditional comments) are regular expressions over the whole
HTML. Written with ``[^>]*`` or ``(.*?)`` up to a closing tag, each of many UNCLOSED
openings was scanned to the end of the HTML: quadratic, so 20,000 unclosed ``<code `` took
~20 s and as many Word list paragraphs several minutes, with the window frozen on Ctrl+V.
A tag now never spans ``<`` and an element's body never spans the next opening.

This is a guard against a crafted clipboard, not a speed goal: the bound (a few seconds
for what now takes well under one) only tells "linear" from "quadratic".
"""

from __future__ import annotations

import time

import pytest
from pytestqt.qtbot import QtBot

from editor_app.qt import html_paste

N = 20_000
UNITS = {
    "unclosed code tags": "<code ",
    "unclosed Word list paragraphs": '<p style="mso-list:l0 level1">x',
    "unclosed Word list markers": "<![if !supportLists]>x",
    "unclosed interchange breaks": "<br Apple-interchange-newline ",
    "unclosed conditional comments": "<![if x",
}


@pytest.mark.parametrize("unit", UNITS.values(), ids=UNITS.keys())
def test_many_unclosed_openings_are_read_in_linear_time(qtbot: QtBot, unit: str) -> None:
    html = "<html><body>" + unit * N + "<p>after</p>"
    start = time.perf_counter()
    doc = html_paste.read_html(html)
    elapsed = time.perf_counter() - start
    assert "after" in doc.toPlainText()
    assert elapsed < 5.0, f"{elapsed:.1f} s: a pattern scans past its tag (quadratic)"


def test_word_lists_still_read_as_lists(qtbot: QtBot) -> None:
    """The tightened patterns still read a real Word list (bullet and numbered)."""
    item = (
        '<p class=MsoListParagraph style="mso-list:l0 level{level} lfo1">'
        "<![if !supportLists]><span>{marker}<span>&nbsp;&nbsp;</span></span><![endif]>"
        "{text}<o:p></o:p></p>"
    )
    html = "".join(
        item.format(level=level, marker=marker, text=text)
        for level, marker, text in ((1, "·", "one"), (2, "1.", "two"), (1, "·", "three"))
    )
    doc = html_paste.read_html(f"<html><body>{html}</body></html>")
    block = doc.firstBlock()
    kinds = []
    while block.isValid():
        if block.text():
            lst = block.textList()
            kinds.append((block.text(), None if lst is None else lst.format().indent()))
        block = block.next()
    assert kinds == [("one", 1), ("two", 2), ("three", 1)]
