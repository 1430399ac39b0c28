"""Entry script of the bundled editor (PyInstaller runs this file as ``coscribe``).

It is ``coscribe`` (:func:`editor_app.__main__.main`) plus one hidden diagnostic mode that
exists for packaging: a bundle can only be trusted once it has been *run*, from a clean
environment, against a real server. ``coscribe --self-test URL`` does exactly what a user's
first minute does, without anybody at the keyboard:

1. opens the document at ``URL`` in a normal main window (a private temporary data
   directory unless ``--data-dir`` is given), prints ``coscribe-self-test: window shown``
   once the window system has mapped and exposed it (the cold-start figure is measured
   up to this line);
2. waits until the server has the document (status "All changes saved");
3. types ``--text`` at the end of the document (default: ``self-test <pid>``) and checks
   that a font on this system has a glyph for each of its characters (Hangul or emoji
   typed into a system without such fonts would show as boxes: that fails the test);
4. waits until the server acknowledged that edit, prints ``coscribe-self-test: saved``;
5. quits through the normal path (sync client closed cleanly) and exits with status 0.

Any failure or a ``--timeout`` (default 30 s) prints the last status and exits with 1. The
mode lives here, not in ``editor_app``, because only installers need it; it only uses the
application's public API. ``tests/packaging`` drives it, and an administrator can use it to
check an installation: ``coscribe --self-test ws://server:1234/self-test``.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

SELF_TEST_FLAG = "--self-test"
PREFIX = "coscribe-self-test:"


_report: Path | None = None  # --report FILE: the same lines, for builds without a console


def _say(message: str) -> None:
    line = f"{PREFIX} {message}"
    if sys.stdout is not None:  # None in a windowed (console=False) Windows/macOS build
        print(line, flush=True)
    if _report is not None:
        with _report.open("a", encoding="utf-8") as f:
            f.write(line + "\n")


def _self_test_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coscribe --self-test",
        description="Open URL, type TEXT, wait until the server saved it, quit.",
    )
    parser.add_argument("url", metavar="URL", help="document link (ws://, wss://, coscribe://)")
    parser.add_argument("--text", help="text to type (default: 'self-test <pid>')")
    parser.add_argument("--data-dir", type=Path, help="data directory (default: a temporary one)")
    parser.add_argument("--timeout", type=float, default=30.0, help="seconds (default: 30)")
    parser.add_argument(
        "--report",
        type=Path,
        help="also append the result lines to this file (windowed builds have no stdout)",
    )
    return parser


async def _wait_for(condition: object, deadline: float) -> bool:
    """Poll ``condition()`` until true or ``deadline`` (monotonic) passes."""
    assert callable(condition)
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.01)
    return True


def _characters_without_glyphs(text: str, font: object) -> str:
    """The characters of ``text`` that Qt draws as boxes (glyph 0, ".notdef") with ``font``
    and every fallback font the system's font configuration offers."""
    from PySide6.QtGui import QFont, QTextLayout

    assert isinstance(font, QFont)
    missing = []
    for char in dict.fromkeys(text):
        if char.isspace():
            continue
        layout = QTextLayout(char, font)
        layout.beginLayout()
        layout.createLine()
        layout.endLayout()
        if any(0 in run.glyphIndexes() for run in layout.glyphRuns()):
            missing.append(char)
    return "".join(missing)


async def _run_self_test(qapp: object, url: str, text: str, data_dir: Path, seconds: float) -> int:
    from PySide6.QtGui import QTextCursor

    from editor_app.ui.app import CoscribeApp

    deadline = time.monotonic() + seconds
    app = CoscribeApp(qapp, data_dir=data_dir, name="Self-test")  # type: ignore[arg-type]
    try:
        opened = app.open_document(url)

        def shown() -> bool:  # mapped and exposed by the window system, not just show()n
            handle = opened.window.windowHandle()
            return opened.window.isVisible() and handle is not None and handle.isExposed()

        if not await _wait_for(shown, deadline):
            _say("FAILED: the window never became visible")
            return 1
        _say("window shown")
        connection = opened.connection
        if not await _wait_for(lambda: connection.kind == "saved", deadline):
            _say(f"FAILED: not connected: {connection.text}")
            return 1
        seen: list[str] = []
        connection.statusChanged.connect(lambda _text, kind: seen.append(kind))
        cursor = opened.editor.textCursor()
        cursor.movePosition(QTextCursor.MoveOperation.End)
        cursor.insertText(text)
        opened.editor.setTextCursor(cursor)

        def acknowledged() -> bool:
            return "saving" in seen and connection.kind == "saved"

        if text not in str(opened.model.text):
            _say("FAILED: the typed text did not reach the document")
            return 1
        if missing := _characters_without_glyphs(text, opened.editor.font()):
            _say(f"FAILED: no font on this system has glyphs for: {missing}")
            return 1
        if not await _wait_for(acknowledged, deadline):
            _say(f"FAILED: the server did not acknowledge the edit: {connection.text}")
            return 1
        _say("saved")
        app.quit()
        return 0
    finally:
        await app.aclose()


def self_test(argv: Sequence[str]) -> int:
    """Run the ``--self-test`` mode (``argv`` without the flag itself)."""
    global _report
    args = _self_test_parser().parse_args(argv)
    _report = args.report
    from editor_app.core.links import LinkError, parse_document_link

    try:
        url = parse_document_link(args.url).url
    except LinkError as exc:
        _say(f"FAILED: {exc}")
        return 2
    text = args.text if args.text is not None else f"self-test {os.getpid()}"

    import qasync
    from PySide6.QtWidgets import QApplication

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    with tempfile.TemporaryDirectory(prefix="coscribe-self-test-") as tmp:
        data_dir = args.data_dir or Path(tmp)
        return int(qasync.run(_run_self_test(qapp, url, text, data_dir, args.timeout)))


def main(argv: Sequence[str] | None = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    if args and args[0] == SELF_TEST_FLAG:
        return self_test(args[1:])
    from editor_app.__main__ import main as editor_main

    return editor_main(args)


if __name__ == "__main__":
    sys.exit(main())
