"""Comments with a stock Yjs client in the room (docs/schema.md §3.1, issue 14).

A thread the editor's model opens is readable by a web Yjs client: its anchors resolve,
with Yjs's own relative positions, to the text it was opened on, also after that client
typed before and inside the document; a reply the stock client writes the way the schema
says reaches the editor's model.
"""

from __future__ import annotations

from typing import Any

import pytest

from editor_app.core.comments import Comments
from editor_app.core.offsets import TextIndex
from tests.interop.conftest import Peers
from tests.support.waiting import wait_until, wait_until_async

pytestmark = pytest.mark.asyncio

TEXT = "Hello 세계 🎉 and e\u0301 world"


async def test_a_stock_client_reads_and_answers_a_thread(coscribe_peers: Peers) -> None:
    py, js = coscribe_peers.py, coscribe_peers.js
    await js.insert(0, TEXT)
    await py.wait_text(TEXT)
    index = TextIndex(str(py.text))
    comments = Comments(py.doc, py.text, index, lambda: "Ann")
    start = TEXT.index("세계 🎉")
    thread = comments.open_thread((start, start + len("세계 🎉") + 1), "Which world?")
    assert thread is not None
    await py.flush()

    async def js_sees(covered: str) -> bool:
        found: dict[str, Any] = await js.call("comments")
        return found.get(thread, {}).get("covered") == covered

    await wait_until_async(lambda: js_sees("세계 🎉"), "the stock client resolves the anchors")
    await js.insert(0, "Well, ")  # before the thread
    await js.insert(len("Well, Hello 세"), "상")  # inside it
    await wait_until_async(lambda: js_sees("세상계 🎉"), "the anchors follow the edits")
    found = await js.call("comments")
    assert found[thread]["quote"] == "세계 🎉" and found[thread]["resolved"] is False
    assert found[thread]["messages"] == [["Ann", "Which world?"]]
    await js.call("reply", thread=thread, author="Bo", text="This one 🌍")

    def replies() -> list[tuple[str, str]]:
        got = comments.thread(thread)
        return [] if got is None else [(m.author, m.text) for m in got.messages]

    await wait_until(
        lambda: replies() == [("Ann", "Which world?"), ("Bo", "This one 🌍")],
        "the stock client's reply in the editor's model",
    )
    comments.close()
