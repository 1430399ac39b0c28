"""``coscribe [URL] [--name NAME] [--data-dir DIR] [--server URL]``: the editor's entry point.

This is the one asyncio/Qt seam: a QApplication, then ``qasync.run(main(...))``. Everything
else is built by :mod:`editor_app.ui.app`. Arguments are checked with the Qt-free core
(:mod:`editor_app.core.links`) before Qt is imported, so ``--help`` and argument errors are
instant, and a server-only install (no Qt) says what to install instead of a traceback.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from editor_app.core.links import DEFAULT_SERVER, LinkError, parse_document_link
from editor_app.core.paths import ENV_VAR as DATA_DIR_ENV
from shared.version import package_version

QT_MODULES = frozenset({"PySide6", "shiboken6", "qasync"})


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="coscribe",
        description=(
            "Coscribe: a collaborative document editor. Without a URL, opens the start "
            "window (recent documents, New document, Open link...). With a URL, opens that "
            "document directly."
        ),
        epilog=(
            f"Document links look like {DEFAULT_SERVER}/my-notes. Local copies of documents "
            f"and preferences live in the data directory (--data-dir, or ${DATA_DIR_ENV})."
        ),
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    parser.add_argument(
        "url",
        nargs="?",
        metavar="URL",
        help="document link to open, ws://host:port/<document> or wss://host/<document>",
    )
    parser.add_argument(
        "--name", metavar="NAME", help="display name shown to collaborators (this run only)"
    )
    parser.add_argument(
        "--data-dir",
        metavar="DIR",
        type=Path,
        help=f"directory for local copies and settings (default: ${DATA_DIR_ENV}, "
        "else the per-user data directory)",
    )
    parser.add_argument(
        "--server",
        metavar="URL",
        help=f"server for new documents this run (default: the one in Preferences, "
        f"initially {DEFAULT_SERVER})",
    )
    return parser


def _fail(parser: argparse.ArgumentParser, message: str) -> None:
    """One line on stderr and exit status 2 (argparse's convention), without the usage
    block: the message already says what was expected."""
    parser.exit(2, f"{parser.prog}: error: {message}\n")


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    url: str | None = None
    if args.url is not None:
        try:
            url = parse_document_link(args.url).url
        except LinkError as exc:
            _fail(parser, str(exc))
    server: str | None = None
    if args.server is not None:
        server = args.server.strip().rstrip("/")
        try:
            parse_document_link(server + "/probe")
        except LinkError:
            _fail(parser, f"not a server address: {args.server!r} (expected ws://host:port)")
    if args.name is not None and not args.name.strip():
        _fail(parser, "--name must not be empty")

    # Qt is imported only now, so `coscribe --help` and argument errors are instant.
    try:
        import qasync
        from PySide6.QtWidgets import QApplication

        from editor_app.ui.app import run_app
    except ModuleNotFoundError as exc:  # a server-only install: pip install coscribe
        if exc.name and exc.name.split(".")[0] in QT_MODULES:
            sys.exit(
                f"coscribe: error: the editor needs Qt ({exc.name} is missing); install it "
                "with pip install 'coscribe[editor]'"
            )
        raise

    qapp = QApplication.instance() or QApplication([sys.argv[0]])
    assert isinstance(qapp, QApplication)
    return int(
        qasync.run(
            run_app(
                qapp,
                url=url,
                name=args.name.strip() if args.name else None,
                data_dir=args.data_dir,
                server=server,
            )
        )
    )


if __name__ == "__main__":
    sys.exit(main())
