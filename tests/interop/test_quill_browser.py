"""A real web editor and Coscribe's editor on one document, through Coscribe's real relay.

The web editor is the stock stack a web app would embed: Quill 2 + y-quill + y-websocket,
loaded as ES modules from ``tests/interop/node/node_modules`` by ``quill/index.html`` in
Debian's headless Chromium (``quill/driver.mjs`` drives it with playwright-core; typed text
goes through Chromium's real key input into Quill's contenteditable). The other side is a
full Coscribe editor (``CoscribeApp``: EditorWidget, DocumentModel, the real SyncClient).
The relay only admits the page's origin (``allowed_origins``), as a deployment serving a
web client must be configured.

docs/schema.md promises that every format is stored exactly as Quill 2 / y-quill store it,
so both editors must hold the same Quill delta and show the same text, whichever of them
wrote it. Both sides are normalised the same way: Quill's ops, and Coscribe's widget
(:func:`editor_app.qt.formats.document_delta`) and CRDT text, become runs with every
``"\\n"`` a run of its own (block attributes on it), no attribute filtered out; the
newlines at the very end that carry no attributes are dropped: Quill always ends its
document with a newline that the shared Y.Text need not contain (y-quill's own
``normQuillDelta`` strips them for the same reason). And Quill's full build reads every
code-block line without a language as ``"code-block": "plain"`` (its syntax module's blot
replaces the plain one even when the module is off) and writes that value too, while
Coscribe writes ``true``: the comparison takes ``"plain"`` as ``true`` (both are a code
block, docs/schema.md). Coscribe's CRDT is also compared, without any of that, with what
y-quill holds in the page's Y.Text: one CRDT, so exactly equal.

Three differences found here were fixed (docs/interop.md): one line format per line, a
code block's text plain, right-to-left lines shown; their tests hold the fixes.

Set ``COSCRIBE_SCREENSHOT_DIR=dir`` to keep pictures of both editors at the end of each test.
"""

from __future__ import annotations

import asyncio
import functools
import os
import threading
import uuid
from collections.abc import AsyncIterator, Callable, Coroutine, Iterator
from contextlib import asynccontextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

import pytest
import qasync
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QApplication

from editor_app.core.schema import CONTENT
from editor_app.qt.formats import Attrs, document_delta
from editor_app.ui.app import OpenDocument
from editor_app.ui.editor_widget import EditorWidget
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.e2e.harness import editor_app, place_cursor, type_text
from tests.support.client import utf16_len
from tests.support.waiting import DEADLINE, wait_until, wait_until_async

from .node_client import NODE_DIR, NodeClient, NodeUnavailable, ensure_node_packages, node_env

pytestmark = [pytest.mark.interop, pytest.mark.timeout(180)]

INTEROP_DIR = Path(__file__).resolve().parent
DRIVER = INTEROP_DIR / "quill" / "driver.mjs"
PAGE = "/quill/index.html"
CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
#: What the page and the driver load besides the packages every interop test needs.
WEB_PACKAGES = ("quill", "y-quill", "playwright-core")
#: Typing a few hundred keys through Chromium takes a second or two; allow for a slow CI.
TYPING_DEADLINE = 60.0

Runs = list[tuple[str, Attrs]]

UNICODE = "한글 😀 e\u0301"  # Hangul, a non-BMP emoji (2 UTF-16 units), a combining mark
INLINE: list[tuple[str, Attrs]] = [
    ("bold", {"bold": True}),
    ("italic", {"italic": True}),
    ("under", {"underline": True}),
    ("strike", {"strike": True}),
    ("link", {"link": "https://quilljs.com/"}),
    ("code", {"code": True}),
    ("sup", {"script": "super"}),
    ("sub", {"script": "sub"}),
    ("red", {"color": "#e60000"}),
    ("marked", {"background": "#ffff00"}),
    ("serif", {"font": "serif"}),
    ("mono", {"font": "monospace"}),
    ("small", {"size": "small"}),
    ("large", {"size": "large"}),
    ("huge", {"size": "huge"}),
    ("all", {"bold": True, "italic": True, "color": "#0066cc", "background": "#facccc"}),
]
BLOCK: list[tuple[str, Attrs]] = [
    ("Heading 1", {"header": 1}),
    ("Heading 2", {"header": 2}),
    ("Heading 3", {"header": 3}),
    ("bullet", {"list": "bullet"}),
    ("nested", {"list": "bullet", "indent": 1}),
    ("ordered", {"list": "ordered"}),
    ("done", {"list": "checked"}),
    ("to do", {"list": "unchecked"}),
    ("indented", {"indent": 2}),
    ("quoted", {"blockquote": True}),
    ("print(1)", {"code-block": True}),
    ("centered", {"align": "center"}),
    ("right", {"align": "right"}),
    ("justified", {"align": "justify"}),
]
LAST_LINE = "the end"


# ---------------------------------------------------------------------------------- harness


class QuillBrowser:
    """One ``driver.mjs`` process: headless Chromium showing the Quill page on a document.

    The line protocol and its plumbing are ``NodeClient``'s (``node_client.py``); this adds
    the web editor's commands. Indexes and lengths are Quill's (UTF-16 code units).
    """

    def __init__(self, client: NodeClient) -> None:
        self.client = client

    @classmethod
    async def start(cls, node: str, page_url: str, stderr_path: Path) -> QuillBrowser:
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                node,
                str(DRIVER),
                page_url,
                cwd=NODE_DIR,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env={**node_env(), "CHROMIUM": str(CHROMIUM)},
                limit=2**22,
            )
        return cls(NodeClient(process, stderr_path))

    async def wait_synced(self) -> None:
        """Chromium started, the page loaded, and y-websocket synced with the relay."""
        await self.client.call("wait_synced", within=DEADLINE * 3, ms=int(DEADLINE * 3000))

    async def contents(self) -> list[dict[str, Any]]:
        """``quill.getContents().ops``."""
        ops: list[dict[str, Any]] = await self.client.call("contents")
        return ops

    async def runs(self) -> Runs:
        """Quill's contents, normalised as :func:`normalised` says."""
        return quill_runs(await self.contents())

    async def text(self) -> str:
        """``quill.getText()``."""
        return str(await self.client.call("text"))

    async def ytext_delta(self) -> list[dict[str, Any]]:
        """What y-quill holds in the page's Y.Text (for failure messages)."""
        delta: list[dict[str, Any]] = await self.client.call("ytext_delta")
        return delta

    async def type(self, index: int, text: str) -> None:
        """Real keystrokes at ``index`` (Enter for ``"\\n"``)."""
        await self.client.call("type", within=TYPING_DEADLINE, index=index, text=text)

    async def start_typing(self, index: int, text: str, delay_ms: int) -> None:
        """Start typing ``text`` at ``index``, a key every ``delay_ms``; returns at once."""
        await self.client.call("type_start", index=index, text=text, delay=delay_ms)

    async def typing_done(self) -> None:
        """Wait for the last key of :meth:`start_typing`."""
        await self.client.call("type_wait", within=TYPING_DEADLINE)

    async def format_text(self, index: int, length: int, formats: Attrs) -> None:
        """``quill.formatText`` with source "user" (what a toolbar button does)."""
        await self.client.call("format_text", index=index, length=length, formats=formats)

    async def format_line(self, index: int, formats: Attrs) -> None:
        """``quill.formatLine`` on the line holding ``index``, source "user"."""
        await self.client.call("format_line", index=index, length=0, formats=formats)

    async def wait_text(self, text: str) -> None:
        await self.client.call("wait_text", within=DEADLINE + 1, text=text, ms=int(DEADLINE * 1e3))

    async def screenshot(self, path: Path) -> None:
        await self.client.call("screenshot", path=str(path))

    def stderr_text(self) -> str:
        return self.client.stderr_text()

    async def aclose(self) -> None:
        await self.client.aclose()


def _web_node_or_skip() -> str:
    """``node``, with the page's packages installed and Chromium present; skip otherwise."""
    if not CHROMIUM.is_file():
        pytest.skip(
            f"{CHROMIUM} is missing: the browser interop tests need Debian's chromium "
            "(`./dev.sh setup` installs it; or `apt-get install chromium`)"
        )
    try:
        node = ensure_node_packages()
    except NodeUnavailable as exc:
        pytest.skip(str(exc))
    modules = NODE_DIR / "node_modules"
    missing = [p for p in WEB_PACKAGES if not (modules / p / "package.json").is_file()]
    if missing:
        pytest.skip(
            f"npm packages {missing} are missing from {modules} (installed before they were "
            f"added to package.json?): run `npm ci` in {NODE_DIR}"
        )
    return node


class _QuietFiles(SimpleHTTPRequestHandler):
    """Static files, JavaScript modules with a JavaScript MIME type (browsers refuse to run
    a module served otherwise), and no request log on stderr."""

    extensions_map = {
        **SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".mjs": "text/javascript",
    }

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002
        """The driver reports failed requests from the browser's side."""


@pytest.fixture(scope="module")
def web_origin() -> Iterator[str]:
    """An HTTP server for tests/interop (the page and node_modules), on a free port."""
    handler = functools.partial(_QuietFiles, directory=str(INTEROP_DIR))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, name="quill-page", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


@asynccontextmanager
async def web_relay(data_dir: Path, origin: str) -> AsyncIterator[str]:
    """Coscribe's relay on a free port, admitting the page's ``origin``; yields its URL."""
    config = ServerConfig(
        host="127.0.0.1", port=0, data_dir=data_dir, allowed_origins=frozenset({origin})
    )
    async with RelayServer(config) as server:
        yield f"ws://127.0.0.1:{server.port}"


class Scene:
    """Both editors on one fresh document: ``quill`` (the browser) and ``opened`` (Coscribe)."""

    def __init__(self, quill: QuillBrowser, opened: OpenDocument) -> None:
        self.quill = quill
        self.opened = opened

    @property
    def editor(self) -> EditorWidget:
        return self.opened.editor

    def runs(self) -> Runs:
        """The Coscribe editor's document (the widget), normalised."""
        return normalised(document_delta(self.editor.document()))

    def crdt_lines(self) -> Runs:
        """The Coscribe editor's CRDT text with every attribute, split at line ends."""
        return lines(self.opened.model.text.diff())

    def widget_text(self) -> str:
        return self.editor.toPlainText().rstrip("\n")


SceneBody = Callable[["Scene"], Coroutine[Any, Any, None]]


@pytest.fixture
def in_scene(
    web_origin: str, tmp_path: Path, request: pytest.FixtureRequest
) -> Callable[[SceneBody], None]:
    """``in_scene(body)`` runs ``await body(scene)`` with the relay, a Coscribe editor
    ("Ada") and the web Quill on one fresh document, on a qasync loop (Qt and asyncio in
    one loop, as the app runs; tests/interop's own tests use plain asyncio loops).

    Fails the test if the page reported anything (errors, warnings, failed requests) or
    the loop reported an exception; saves screenshots when ``COSCRIBE_SCREENSHOT_DIR`` is set.
    """
    node = _web_node_or_skip()
    shots = _screenshot_prefix(os.environ.get("COSCRIBE_SCREENSHOT_DIR"), request.node.name)

    def run(body: SceneBody) -> None:
        app = QApplication.instance() or QApplication([])
        assert isinstance(app, QApplication)
        with asyncio.Runner(loop_factory=lambda: qasync.QEventLoop(app)) as runner:
            runner.run(_run_scene(node, web_origin, tmp_path, body, shots))

    return run


async def _run_scene(
    node: str, origin: str, tmp_path: Path, body: SceneBody, shots: Path | None
) -> None:
    loop = asyncio.get_running_loop()
    reported: list[dict[str, Any]] = []
    loop.set_exception_handler(lambda _loop, context: reported.append(context))
    room = f"quill-{uuid.uuid4().hex[:12]}"
    async with (
        web_relay(tmp_path / "srv", origin) as url,
        editor_app(tmp_path / "me", "Ada") as app,
    ):
        opened = app.open_document(f"{url}/{room}")
        query = urlencode({"ws": url, "room": room, "text": CONTENT})
        log = tmp_path / "browser.stderr"
        quill = await QuillBrowser.start(node, f"{origin}{PAGE}?{query}", log)
        try:
            await quill.wait_synced()
            await body(Scene(quill, opened))
            if shots is not None:
                await quill.screenshot(shots.with_name(f"{shots.name}-quill.png"))
                opened.window.resize(1000, 760)
                opened.window.grab().save(str(shots.with_name(f"{shots.name}-coscribe.png")))
        finally:
            await quill.aclose()
        assert not quill.stderr_text(), f"the web page reported: {quill.stderr_text()}"
    assert not reported, f"the event loop reported errors: {reported}"


def _screenshot_prefix(folder: str | None, test_name: str) -> Path | None:
    """``folder/test_name`` (absolute: the browser runs elsewhere), the folder made; None
    when no folder was asked for."""
    if not folder:
        return None
    path = Path(folder).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path / test_name


def normalised(runs: Runs) -> Runs:
    """Runs without the attribute-less newlines at the very end, and with Quill's reading
    of a code block without a language (``"plain"``) as ``True`` (module docstring)."""
    out = [(text, _plain_code(attrs)) for text, attrs in runs]
    while out and out[-1] == ("\n", {}):
        out.pop()
    return out


def _plain_code(attrs: Attrs) -> Attrs:
    if attrs.get("code-block") == "plain":
        return {**attrs, "code-block": True}
    return attrs


def quill_runs(ops: list[dict[str, Any]]) -> Runs:
    """Quill's ops in the shape Coscribe's deltas have, normalised."""
    return normalised(lines(_as_diff(ops)))


def _as_diff(ops: list[dict[str, Any]]) -> list[tuple[Any, Any]]:
    """Quill/Yjs delta ops as ``pycrdt.Text.diff()`` pairs."""
    return [(op["insert"], op.get("attributes")) for op in ops]


def lines(diff: list[tuple[Any, Any]]) -> Runs:
    """Delta runs in the shape of :func:`document_delta`: every ``"\\n"`` a run of its own,
    adjacent text runs with equal attributes merged. Unlike ``crdt_delta`` it keeps every
    attribute, also those Coscribe does not know, so that none goes unnoticed."""
    runs: Runs = []
    for chunk, attrs in diff:
        assert isinstance(chunk, str), f"no embeds in these tests: {chunk!r}"
        clean = {k: _number(v) for k, v in (attrs or {}).items() if v is not None}
        for i, part in enumerate(chunk.split("\n")):
            if i:
                runs.append(("\n", clean))
            if not part:
                continue
            if runs and runs[-1][0] != "\n" and runs[-1][1] == clean:
                runs[-1] = (runs[-1][0] + part, clean)
            else:
                runs.append((part, clean))
    return runs


def _number(value: Any) -> Any:
    """Yjs numbers come back from pycrdt as float (``1.0``); Quill's are ints."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


async def wait_crdt_crossed(scene: Scene) -> None:
    """Wait until the page's Y.Text holds exactly the Coscribe editor's CRDT text."""
    quill = scene.quill
    seen: dict[str, Any] = {}

    async def crossed() -> bool:
        seen["ytext"] = lines(_as_diff(await quill.ytext_delta()))
        return bool(seen["ytext"] == scene.crdt_lines())

    await wait_until_async(crossed, lambda: f"the page's Y.Text {seen.get('ytext')}")


async def wait_same(scene: Scene) -> None:
    """Wait until the web Quill and the Coscribe editor (widget and CRDT) hold one delta."""
    quill = scene.quill
    seen: dict[str, Any] = {}

    async def same() -> bool:
        seen["quill"] = await quill.runs()
        seen["ytext"] = lines(_as_diff(await quill.ytext_delta()))
        crdt = scene.crdt_lines()
        return bool(seen["quill"] == scene.runs() == normalised(crdt) and seen["ytext"] == crdt)

    def mismatch() -> str:
        return (
            f"one delta in both editors\n quill:       {seen.get('quill')}\n"
            f" coscribe:    {scene.runs()}\n crdt:        {scene.crdt_lines()}\n"
            f" page Y.Text: {seen.get('ytext')}"
        )

    await wait_until_async(same, mismatch)


# ---------------------------------------------------------------------------------- tests


def test_quill_types_and_formats_everything_and_coscribe_shows_the_same(
    in_scene: Callable[[SceneBody], None],
) -> None:
    in_scene(_quill_types_and_formats_everything)


async def _quill_types_and_formats_everything(scene: Scene) -> None:
    quill = scene.quill
    first = " ".join([UNICODE, *(word for word, _ in INLINE)])
    lines = [first, *(word for word, _ in BLOCK), LAST_LINE]
    typed = "\n".join(lines)
    await quill.type(0, typed)  # real keys, Enter between lines
    assert await quill.text() == typed + "\n"
    # Inline formats over words that sit after Hangul, an emoji and a combining mark.
    await quill.format_text(0, 2, {"bold": True, "italic": True})  # 한글
    await quill.format_text(utf16_len("한글 "), 2, {"color": "#9933ff"})  # 😀
    for word, attrs in INLINE:
        at = first.index(f" {word}") + 1
        await quill.format_text(utf16_len(first[:at]), len(word), attrs)
    # Block formats on every line after the first.
    start = utf16_len(first) + 1
    for word, attrs in BLOCK:
        await quill.format_line(start, attrs)
        start += utf16_len(word) + 1

    expected = [
        ("한글", {"bold": True, "italic": True}),
        (" ", {}),
        ("😀", {"color": "#9933ff"}),
        (" e\u0301 ", {}),
    ]
    for i, (word, attrs) in enumerate(INLINE):
        expected.append((word, attrs))
        if i < len(INLINE) - 1:
            expected.append((" ", {}))
    expected.append(("\n", {}))
    for word, attrs in BLOCK:
        expected += [(word, {}), ("\n", attrs)]
    expected.append((LAST_LINE, {}))
    assert await quill.runs() == expected, "Quill itself holds what was typed and formatted"

    await wait_same(scene)
    assert scene.widget_text() == (await quill.text()).rstrip("\n") == typed


def test_coscribe_types_and_formats_and_quill_shows_the_same(
    in_scene: Callable[[SceneBody], None],
) -> None:
    in_scene(_coscribe_types_and_formats)


async def _coscribe_types_and_formats(scene: Scene) -> None:
    editor = scene.editor
    first = " ".join([UNICODE, *(word for word, _ in INLINE)])
    lines_typed = [first, *(word for word, _ in BLOCK), LAST_LINE]
    typed = "\n".join(lines_typed)
    place_cursor(editor, 0)
    type_text(editor, typed)
    assert editor.toPlainText() == typed
    place_cursor(editor, 0, 2)  # 한글
    editor.toggle_bold()
    editor.toggle_italic()
    place_cursor(editor, utf16_len("한글 "), utf16_len("한글 😀"))
    editor.set_inline("color", "#9933ff")
    for word, _ in INLINE:  # words after Hangul, an emoji and a combining mark
        at = utf16_len(first[: first.index(f" {word}") + 1])
        place_cursor(editor, at, at + len(word))
        _format_word(editor, word)
    start = utf16_len(first) + 1
    for word, _ in BLOCK:
        place_cursor(editor, start + 1)
        _format_line(editor, word)
        start += utf16_len(word) + 1

    runs = scene.runs()
    assert {t: a for t, a in runs if t in dict(INLINE)} == dict(INLINE), (
        "the editor's commands gave every word its format"
    )
    assert [a for t, a in runs if t == "\n"][1:] == [a for _, a in BLOCK]
    await wait_same(scene)
    assert (await scene.quill.text()).rstrip("\n") == scene.widget_text() == typed


def _format_word(editor: EditorWidget, word: str) -> None:
    """What a Coscribe user does to give the selected ``word`` its format in INLINE."""
    toggles = {
        "bold": editor.toggle_bold,
        "italic": editor.toggle_italic,
        "under": editor.toggle_underline,
        "strike": editor.toggle_strike,
        "code": editor.toggle_code,
    }
    if word in toggles:
        toggles[word]()
    elif word == "link":
        editor.set_link("https://quilljs.com/")
    elif word in ("sup", "sub"):
        editor.toggle_script({"sup": "super", "sub": "sub"}[word])
    elif word == "all":
        editor.toggle_bold()
        editor.toggle_italic()
        editor.set_inline("color", "#0066cc")
        editor.set_inline("background", "#facccc")
    else:  # the pickers: colour, highlight, font, size
        ((key, value),) = dict(INLINE)[word].items()
        editor.set_inline(key, value)


def _format_line(editor: EditorWidget, word: str) -> None:
    """What a Coscribe user does to give the line ``word`` (caret in it) its format in BLOCK."""
    if word.startswith("Heading"):
        editor.set_heading(int(word[-1]))
    elif word in ("bullet", "nested", "ordered", "to do"):
        editor.toggle_list({"to do": "unchecked"}.get(word, word.replace("nested", "bullet")))
        if word == "nested":
            editor.change_indent(+1)
    elif word == "done":
        editor.toggle_list("unchecked")
        editor.toggle_checked(editor.textCursor().blockNumber())  # a click on its box
    elif word == "indented":
        editor.change_indent(+1)
        editor.change_indent(+1)
    elif word in ("quoted", "print(1)"):
        editor.toggle_block("blockquote" if word == "quoted" else "code-block")
    else:
        editor.set_align({"centered": "center", "right": "right", "justified": "justify"}[word])


def test_both_type_at_once_and_converge(in_scene: Callable[[SceneBody], None]) -> None:
    in_scene(_both_type_at_once)


async def _both_type_at_once(scene: Scene) -> None:
    quill, editor = scene.quill, scene.editor
    await quill.type(0, "AB")
    await wait_until(lambda: editor.toPlainText() == "AB", "the editor got Quill's AB")
    # Apart: Quill types between A and B while Coscribe types after B; each caret moves
    # with the other's inserts, so the result is exact.
    web, qt = "web 웹 😀 e\u0301 typing ", " Qt 한글 🎉 a\u0300 keys"
    place_cursor(editor, 2)
    overlapped = await _type_together(scene, 1, web, qt)
    assert overlapped, "Coscribe typed while Quill's keys were still arriving"
    expected = "A" + web + "B" + qt
    await wait_until(
        lambda: editor.toPlainText() == expected,
        lambda: f"the editor has {editor.toPlainText()!r}, want {expected!r}",
    )
    await quill.wait_text(expected + "\n")
    # Together: both carets at the end of the text, typing into the same place. The keys
    # interleave as the CRDT orders them; both editors must end up with one text that
    # keeps each side's keys in the order they were typed.
    web2, qt2 = " 둘 👍🏽 o\u0308 web", " 셋 ✨ u\u0308 qt"
    place_cursor(editor, utf16_len(expected))
    await _type_together(scene, utf16_len(expected), web2, qt2)
    await wait_same(scene)
    final = editor.toPlainText()
    assert (await quill.text()).rstrip("\n") == final
    assert final.startswith(expected)
    tail = final[len(expected) :]
    assert sorted(tail) == sorted(web2 + qt2), "every key of both, none twice"
    assert _in_order(web2, tail) and _in_order(qt2, tail), f"each side's keys in order: {tail!r}"


async def _type_together(scene: Scene, quill_at: int, web: str, qt: str) -> bool:
    """Quill types ``web`` at ``quill_at`` (a key every 10 ms) while Coscribe types ``qt``
    at its caret, a key per round trip to the browser, starting as soon as Quill's first
    key reached it. True if Coscribe typed while the editor had only part of ``web``."""
    quill, editor = scene.quill, scene.editor
    before = editor.toPlainText()
    await quill.start_typing(quill_at, web, delay_ms=10)
    await wait_until(lambda: editor.toPlainText() != before, "Quill's first key in the editor")
    overlapped = False
    for typed, ch in enumerate(qt):
        got = len(editor.toPlainText()) - len(before) - typed  # Quill's keys in, code points
        overlapped = overlapped or 0 < got < len(web)
        type_text(editor, ch)
        await quill.text()  # a round trip: remote updates cross while both type
    await quill.typing_done()
    return overlapped


def _in_order(keys: str, text: str) -> bool:
    """``keys`` is a subsequence of ``text``."""
    rest = iter(text)
    return all(ch in rest for ch in keys)


# ------------------------------------------------------------- differences (strict xfails)


def test_a_line_format_from_coscribe_replaces_the_others_as_in_quill(
    in_scene: Callable[[SceneBody], None],
) -> None:
    in_scene(_one_line_format_at_a_time)


async def _one_line_format_at_a_time(scene: Scene) -> None:
    editor = scene.editor
    place_cursor(editor, 0)
    type_text(editor, "head list\nhead quote\nlist quote\nlist code\nend")
    place_cursor(editor, 1)
    editor.set_heading(2)
    editor.toggle_list("bullet")
    place_cursor(editor, 11)
    editor.set_heading(1)
    editor.toggle_block("blockquote")
    place_cursor(editor, 22)
    editor.toggle_list("ordered")
    editor.toggle_block("blockquote")
    place_cursor(editor, 33)
    editor.toggle_list("bullet")
    editor.toggle_block("code-block")
    await wait_crdt_crossed(scene)
    # What a Quill user gets by the same clicks: the last line format only.
    assert [a for t, a in scene.runs() if t == "\n"] == [
        {"list": "bullet"},
        {"blockquote": True},
        {"blockquote": True},
        {"code-block": True},
    ]
    assert await scene.quill.runs() == scene.runs()


def test_a_code_block_holds_plain_text_as_in_quill(
    in_scene: Callable[[SceneBody], None],
) -> None:
    in_scene(_code_block_plain_text)


async def _code_block_plain_text(scene: Scene) -> None:
    editor = scene.editor
    place_cursor(editor, 0)
    type_text(editor, "made code\nbold later\nend")
    place_cursor(editor, 5, 9)
    editor.toggle_bold()
    place_cursor(editor, 1)
    editor.toggle_block("code-block")  # a line with a bold word becomes a code block
    place_cursor(editor, 11)
    editor.toggle_block("code-block")
    place_cursor(editor, 10, 14)
    editor.toggle_bold()  # bold inside a code block
    editor.set_inline("color", "#e60000")
    await wait_crdt_crossed(scene)
    assert await scene.quill.runs() == scene.runs()


def test_a_right_to_left_line_from_quill_shows_so_in_coscribe(
    in_scene: Callable[[SceneBody], None],
) -> None:
    in_scene(_right_to_left_line)


async def _right_to_left_line(scene: Scene) -> None:
    quill = scene.quill
    await quill.type(0, "right to left\nend")
    await quill.format_line(0, {"direction": "rtl", "align": "right"})
    await wait_crdt_crossed(scene)
    assert scene.crdt_lines()[1] == ("\n", {"direction": "rtl", "align": "right"})
    block = scene.editor.document().firstBlock()
    assert block.blockFormat().layoutDirection() == Qt.LayoutDirection.RightToLeft
    assert await quill.runs() == scene.runs()
