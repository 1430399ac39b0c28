"""Text and formatting between a stock Yjs client (Node) and a Python client, via a relay.

Yjs indexes text in UTF-16 code units, pycrdt in UTF-8 bytes. The two agree on the update
format, so an edit at "the same place" (counted in each side's own unit) must land at the
same place on the other side, for every kind of character that makes the units differ.
"""

from __future__ import annotations

import pytest

from tests.support.client import py_client, utf16_len
from tests.support.waiting import wait_until, wait_until_async

from .conftest import Peers, SpawnNode
from .servers import Relay

pytestmark = [pytest.mark.interop, pytest.mark.asyncio]

HANGUL = "안녕하세요"  # 3 UTF-8 bytes, 1 UTF-16 unit each
EMOJI = "😀👍🏽"  # non-BMP: 4 UTF-8 bytes, 2 UTF-16 units each (plus a skin-tone modifier)
COMBINING = "e\u0301"  # e + combining acute: two code points, one grapheme
JAMO = "\u1100\u1161"  # Hangul conjoining jamo (renders as 가)
CJK = "中文字符"

SAMPLE_IDS = ["hangul", "emoji", "combining", "jamo", "cjk", "mixed"]
SAMPLES = [HANGUL, EMOJI, COMBINING, JAMO, CJK, "mixed: 안녕 😀 e\u0301 \u1100\u1161 中文 ok"]


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
async def test_text_from_node_reaches_python(peers: Peers, sample: str) -> None:
    py, js = peers.py, peers.js
    await js.insert(0, sample)
    await py.wait_text(sample)
    assert await js.length() == utf16_len(sample)


@pytest.mark.parametrize("sample", SAMPLES, ids=SAMPLE_IDS)
async def test_text_from_python_reaches_node(peers: Peers, sample: str) -> None:
    py, js = peers.py, peers.js
    await py.insert(0, sample)
    await js.wait_text(sample)
    assert len(py.text) == len(sample.encode("utf-8"))  # pycrdt counts bytes


async def test_inserts_in_the_middle_of_multibyte_text_from_both_sides(peers: Peers) -> None:
    """Each side inserts between non-ASCII characters, counting in its own unit."""
    base = f"{HANGUL}|{EMOJI}|{COMBINING}{JAMO}|{CJK}"
    py, js = peers.py, peers.js
    await js.insert(0, base)
    await py.wait_text(base)

    # Node: right after "😀" (UTF-16 index = code units before it + 2).
    after_smiley = base.index("😀") + 1
    await js.insert(utf16_len(base[:after_smiley]), "[js😺]")
    expected = base[:after_smiley] + "[js😺]" + base[after_smiley:]
    await py.wait_text(expected)

    # Python: right after "안녕" (code point 2 -> UTF-8 byte 6).
    await py.insert(2, "[py가]")
    expected = expected[:2] + "[py가]" + expected[2:]
    await js.wait_text(expected)

    # Python: between the jamo pair; Node: after the combining mark.
    jamo_mid = expected.index(JAMO) + 1
    await py.insert(jamo_mid, "·")
    expected = expected[:jamo_mid] + "·" + expected[jamo_mid:]
    await js.wait_text(expected)
    after_accent = expected.index(COMBINING) + 2
    await js.insert(utf16_len(expected[:after_accent]), "«»")
    expected = expected[:after_accent] + "«»" + expected[after_accent:]
    await py.wait_text(expected)

    # Deletions across multibyte characters from both sides.
    smiley_at = expected.index("😀")
    await js.delete(utf16_len(expected[:smiley_at]), utf16_len("😀"))
    expected = expected[:smiley_at] + expected[smiley_at + 1 :]
    await py.wait_text(expected)
    cjk_at = expected.index(CJK)
    await py.delete(cjk_at, 2)
    expected = expected[:cjk_at] + expected[cjk_at + 2 :]
    await js.wait_text(expected)

    assert py.value == await js.text() == expected


async def test_bold_from_node_shows_in_pycrdt_diff(peers: Peers) -> None:
    text = f"{HANGUL} {EMOJI} plain"
    py, js = peers.py, peers.js
    await js.insert(0, text)
    # Quill-style attributes over "하세요 😀" (UTF-16 range from Node's point of view).
    start = 2
    stop = text.index("👍")
    await js.format(utf16_len(text[:start]), utf16_len(text[start:stop]), {"bold": True})
    await js.format(0, 1, {"color": "#ff0000"})
    expected = [
        ("안", {"color": "#ff0000"}),
        ("녕", None),
        (text[start:stop], {"bold": True}),
        (text[stop:], None),
    ]
    await wait_until(lambda: py.diff() == expected, f"python diff {expected} ({py.diff()})")


async def test_bold_from_python_shows_in_node_delta(peers: Peers) -> None:
    text = f"{CJK}{EMOJI}{HANGUL}"
    py, js = peers.py, peers.js
    await py.insert(0, text)
    await js.wait_text(text)
    emoji_at = text.index(EMOJI)
    await py.format(emoji_at, len(EMOJI), {"bold": True, "italic": True})
    await py.insert(len(text), "!", {"link": "https://example.org/"})
    expected = [
        {"insert": CJK},
        {"insert": EMOJI, "attributes": {"bold": True, "italic": True}},
        {"insert": HANGUL},
        {"insert": "!", "attributes": {"link": "https://example.org/"}},
    ]

    async def node_delta_matches() -> bool:
        return await js.delta() == expected

    await wait_until_async(node_delta_matches, f"node delta == {expected}")
    # And unformatting (attribute null) travels too.
    await py.format(emoji_at, len(EMOJI), {"italic": None})
    expected[1] = {"insert": EMOJI, "attributes": {"bold": True}}
    await wait_until_async(node_delta_matches, f"node delta == {expected}")


async def test_a_yjs_insert_inside_a_surrogate_pair_is_refused_not_forked(
    coscribe: Relay, room: str, node_clients: SpawnNode
) -> None:
    """A stock Yjs client that inserts between the two UTF-16 halves of an emoji would fork
    the document: Yjs turns both halves into U+FFFD, yrs (the relay, pycrdt editors) keeps
    the emoji whole. Coscribe's relay refuses that update (close 1007), so everyone who
    syncs through it keeps one document; the offending client keeps reconnecting and
    still receives the others' edits, and its split never reaches anyone."""
    async with coscribe.serve() as url, py_client(url, room) as py:
        await py.wait_synced()
        js = await node_clients(url, room)
        await js.insert(0, "a😀b")
        await py.wait_text("a😀b")
        await js.insert(2, "X")  # between the two UTF-16 units of 😀: refused
        await py.insert(len("a😀b".encode()), "Z")

        async def js_has_z() -> bool:  # it reconnected and synced the others' edits
            return "Z" in await js.text()

        await wait_until_async(js_has_z, "the refused client still receives edits", within=10)
        assert py.value == "a😀bZ"
        async with py_client(url, room) as late:
            await late.wait_synced()
            assert late.value == "a😀bZ", "the split reached the relay's document"
