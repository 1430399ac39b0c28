"""A stock Yjs client (Node: yjs + y-websocket, as a web Quill/y-quill editor would) writes
every Quill 2 format; the Coscribe editor shows each of them (issue 13, part B).

Set ``COSCRIBE_SCREENSHOT=path.png`` to keep a picture of the editor showing them.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtGui import QTextBlockFormat, QTextCharFormat

from editor_app.qt import formats
from tests.e2e.harness import editor_app, relay, wait_until
from tests.interop.node_client import NodeClient, NodeUnavailable, ensure_node_packages

INLINE: list[tuple[str, dict[str, Any]]] = [
    ("bold", {"bold": True}),
    ("italic", {"italic": True}),
    ("under", {"underline": True}),
    ("strike", {"strike": True}),
    ("link", {"link": "https://quilljs.com/"}),
    ("serif", {"font": "serif"}),
    ("mono", {"font": "monospace"}),
    ("small", {"size": "small"}),
    ("large", {"size": "large"}),
    ("huge", {"size": "huge"}),
    ("red", {"color": "#e60000"}),
    ("marked", {"background": "#ffff00"}),
    ("sup", {"script": "super"}),
    ("sub", {"script": "sub"}),
    ("code", {"code": True}),
]
BLOCK: list[tuple[str, dict[str, Any]]] = [
    *[(f"Heading {n}", {"header": n}) for n in range(1, 7)],
    ("centered", {"align": "center"}),
    ("right", {"align": "right"}),
    ("justified", {"align": "justify"}),
    ("indented", {"indent": 3}),
    ("quoted", {"blockquote": True}),
    ("print(1)", {"code-block": True}),
    ("bullet", {"list": "bullet"}),
    ("ordered", {"list": "ordered"}),
    ("done", {"list": "checked"}),
    ("to do", {"list": "unchecked"}),
]


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_a_stock_yjs_client_writes_every_format_and_the_editor_shows_it(
    tmp_path: Path,
) -> None:
    try:
        node = ensure_node_packages()
    except NodeUnavailable as exc:
        pytest.skip(str(exc))
    async with relay(tmp_path / "srv") as server, editor_app(tmp_path / "me", "Ada") as app:
        opened = app.open_document(f"{server.url}/formats")
        quill = await NodeClient.start(node, server.url, "formats", tmp_path / "node.log")
        try:
            await quill.wait_synced()
            pos = 0  # UTF-16, as Yjs counts
            for word, attrs in INLINE:
                await quill.insert(pos, word, attrs)
                await quill.insert(pos + len(word), " ", {})  # {}: not the word's formats
                pos += len(word) + 1
            await quill.insert(pos, "한글 😀 e\u0301\n", {})
            pos += len("한글 😀 e\u0301\n") + 1  # the emoji is 2 units
            for word, attrs in BLOCK:
                await quill.insert(pos, word, {})
                await quill.insert(pos + len(word), "\n", attrs)
                pos += len(word) + 1
            expected = await quill.text()
            editor = opened.editor
            await wait_until(
                lambda: editor.toPlainText() == expected,
                lambda: f"the editor has {editor.toPlainText()[-60:]!r}",
            )
        finally:
            await quill.aclose()
        doc = editor.document()
        # Inline: each word reads back as exactly what Quill wrote ...
        first = doc.firstBlock()
        seen: dict[str, dict[str, Any]] = {}
        it = first.begin()
        while not it.atEnd():
            frag = it.fragment()
            seen[frag.text().strip()] = formats.inline_attrs(frag.charFormat())
            it += 1
        for word, attrs in INLINE:
            assert seen[word] == attrs, word
        # ... and is drawn so (the Qt property that paints it).
        fmt = {w: _format_of(doc, w) for w, _ in INLINE}
        base = formats.base_point_size(doc)
        assert fmt["huge"].fontPointSize() == pytest.approx(base * 2.5)
        assert fmt["red"].foreground().color().name() == "#e60000"
        assert fmt["marked"].background().color().name() == "#ffff00"
        assert fmt["sup"].verticalAlignment() == QTextCharFormat.VerticalAlignment.AlignSuperScript
        assert "mono" in fmt["code"].fontFamilies()[0].lower()
        # Blocks.
        block = first.next()
        for word, attrs in BLOCK:
            assert block.text() == word
            assert formats.block_attrs(block) == attrs, word
            block = block.next()
        done = doc.findBlockByNumber(len(BLOCK) - 1)
        assert done.blockFormat().marker() == QTextBlockFormat.MarkerType.Checked
        editor.window().resize(1000, 900)
        target = os.environ.get("COSCRIBE_SCREENSHOT")
        if target:
            opened.window.grab().save(target)


def _format_of(doc: Any, word: str) -> QTextCharFormat:
    it = doc.firstBlock().begin()
    while not it.atEnd():
        frag = it.fragment()
        if frag.text().strip() == word:
            return QTextCharFormat(frag.charFormat())
        it += 1
    raise AssertionError(word)
