"""``coscribe-server``: the command line of the relay server.

    coscribe-server [serve] [--host H] [--port P] [--data-dir DIR] [--secret-file F] ...
    coscribe-server serve --database-url postgresql://... --redis-url redis://...  (a node)
    coscribe-server token --doc NAME --role owner|editor|commenter|viewer [--expires 7d] [--url URL]
    coscribe-server delete NAME [--data-dir DIR]
    coscribe-server revoke (--token TOKEN | --token-id ID | --doc NAME) [--data-dir DIR]

Every option also reads an environment variable (shown in --help). Bad input gets a
one-line error saying what is wrong and how to fix it, and exit status 2.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import errno
import logging
import os
import signal
import ssl
import sys
import time
from collections.abc import Sequence
from pathlib import Path

import platformdirs

from shared.docnames import validate_document_name
from shared.errors import CloseCode, InvalidDocumentName, StorageError
from shared.version import package_version

from .admission import ConfigError
from .app import RelayServer
from .auth import Role, load_secret, mint_token, parse_duration, token_id_of
from .config import ServerConfig
from .datadir import DataDirLock, DataDirLocked, prepare_data_dir
from .eventloop import loop_factory
from .logs import configure_logging
from .options import add_options, config_values
from .sockets import WORKER_ENV
from .workers import Dispatcher

PROG = "coscribe-server"
MEMORY = ":memory:"


def default_data_dir() -> str:
    return str(platformdirs.user_data_path("coscribe-server", appauthor=False))


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=PROG,
        description="Coscribe relay server: real-time sync of Yjs documents over WebSocket "
        "(y-websocket protocol), with durable storage. Each option can also be set with the "
        "environment variable shown in brackets.",
    )
    parser.add_argument("--version", action="version", version=f"{PROG} {package_version()}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    serve = sub.add_parser("serve", help="run the server (the default command)")
    _add_common(serve)
    _add_secret(serve)
    add_options(serve, ServerConfig)
    token = sub.add_parser(
        "token",
        help="mint an access token (and link) for a document",
        description="Mint a signed access token. Give it to a user as a link "
        "(ws://host:port/NAME?token=...) or in the Authorization: Bearer header.",
    )
    _add_secret(token)
    token.add_argument(
        "--doc",
        required=True,
        help="document name, or a prefix ending in '*' (team-* = every document "
        "whose name starts with team-)",
    )
    token.add_argument(
        "--role",
        choices=[str(r) for r in Role],
        default="editor",
        help="owner (edits and shares), editor (read and write), commenter (comments only) "
        "or viewer (read only) (default: editor)",
    )
    token.add_argument(
        "--expires", default="", help="lifetime like 30m, 12h, 7d, 2w (default: never expires)"
    )
    token.add_argument("--url", help="server URL, e.g. wss://docs.example.com: also print a link")
    revoke = sub.add_parser(
        "revoke",
        help="revoke an access link, or every link of a document (while the server runs)",
        description="Revoke access links. Sessions opened with them are closed within a "
        "second (close code 4410) and the links are refused from then on. Other links keep "
        "working. Works while the server runs, on every node sharing the store.",
    )
    _add_common(revoke)
    revoke.add_argument(
        "--database-url",
        default=os.environ.get("COSCRIBE_DATABASE_URL") or None,
        help="the PostgreSQL store of a cluster, instead of --data-dir [COSCRIBE_DATABASE_URL]",
    )
    what = revoke.add_mutually_exclusive_group(required=True)
    what.add_argument("--token", help="the link's token (everything after ?token=)")
    what.add_argument("--token-id", help="the link's id (printed by the token command)")
    what.add_argument("--doc", help="a document: revoke every link to it issued until now")
    delete = sub.add_parser("delete", help="delete a document (the server must be stopped)")
    _add_common(delete)
    delete.add_argument("name", help="document name")
    return parser


def _env_path(name: str) -> Path | None:
    value = os.environ.get(name)
    return Path(value) if value else None


def _cluster_options(args: argparse.Namespace) -> str | None:
    """None if --database-url/--redis-url are usable, else what is wrong."""
    if args.redis_url and not args.database_url:
        return "--redis-url needs --database-url: every node must share one store"
    for option, module in (("database_url", "psycopg"), ("redis_url", "redis")):
        if getattr(args, option):
            try:
                __import__(module)
            except ImportError:
                return (
                    f"--{option.replace('_', '-')} needs the '{module}' package: "
                    "pip install 'coscribe[cluster]'"
                )
    return None


def _add_secret(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--secret-file",
        type=Path,
        default=_env_path("COSCRIBE_SECRET_FILE"),
        help="file holding the token-signing secret (or put the secret itself in "
        "COSCRIBE_SECRET); without one the server runs in open mode, loopback only "
        "[COSCRIBE_SECRET_FILE]",
    )


def read_secret(args: argparse.Namespace) -> bytes | None:
    """The secret from --secret-file or COSCRIBE_SECRET; raises ValueError with advice."""
    if args.secret_file is not None:
        try:
            data = args.secret_file.read_bytes()
        except OSError as exc:
            raise ValueError(
                f"cannot read secret file {args.secret_file}: {exc.strerror}"
            ) from None
        return load_secret(data, str(args.secret_file))
    env = os.environ.get("COSCRIBE_SECRET")
    if env:
        return load_secret(env.encode(), "COSCRIBE_SECRET")
    return None


def _add_common(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--data-dir",
        default=os.environ.get("COSCRIBE_DATA_DIR") or default_data_dir(),
        help=f"where documents are stored; '{MEMORY}' keeps them in memory only "
        "[COSCRIBE_DATA_DIR] (default: %(default)s)",
    )


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    args = list(sys.argv[1:] if argv is None else argv)
    if not args or args[0] not in {
        "serve", "delete", "token", "revoke", "-h", "--help", "--version"
    }:  # fmt: skip
        args.insert(0, "serve")
    return build_parser().parse_args(args)


def fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


async def run_server(config: ServerConfig) -> int:
    lock: DataDirLock | None = None
    # A worker (--workers) shares the data directory its dispatcher holds locked.
    if config.data_dir is not None and not os.environ.get(WORKER_ENV):
        lock = DataDirLock(config.data_dir)
        lock.acquire()
    try:
        async with RelayServer(config) as server:
            loop = asyncio.get_running_loop()
            stopping: list[asyncio.Task[None]] = []

            def stop(signame: str) -> None:
                if not stopping:
                    print(f"{PROG}: {signame} received, shutting down", file=sys.stderr)
                    stopping.append(loop.create_task(server.aclose(CloseCode.SERVICE_RESTART)))

            for sig in (signal.SIGINT, signal.SIGTERM):
                # Windows' event loops have no signal handlers; Ctrl+C still ends the process.
                with contextlib.suppress(NotImplementedError):
                    loop.add_signal_handler(sig, stop, sig.name)
            if not os.environ.get(WORKER_ENV):  # a worker: its dispatcher says it
                print(f"{PROG} listening on {server.url}", flush=True)
            await server.serve_forever()
            for task in stopping:
                await task
    finally:
        if lock is not None:
            lock.release()
    return 0


async def run_dispatcher(config: ServerConfig, argv: Sequence[str]) -> int:
    """``--workers N``: hand each document's connections to one of N processes."""
    lock: DataDirLock | None = None
    if config.data_dir is not None:
        lock = DataDirLock(config.data_dir)
        lock.acquire()
    try:
        return await Dispatcher(config, argv).run()
    finally:
        if lock is not None:
            lock.release()


def serve_main(args: argparse.Namespace) -> int:
    try:
        secret = read_secret(args)
    except ValueError as exc:
        return fail(str(exc))
    for option in ("tls_cert", "tls_key"):
        path = getattr(args, option)
        if path is not None and not path.is_file():
            return fail(f"--{option.replace('_', '-')} {path}: no such file")
    if (args.tls_cert is None) != (args.tls_key is None):
        return fail("TLS needs both --tls-cert and --tls-key")
    problem = _cluster_options(args)
    if problem is not None:
        return fail(problem)
    data_dir: Path | None = None
    if args.data_dir != MEMORY and not args.database_url:
        try:
            data_dir = prepare_data_dir(Path(args.data_dir).expanduser())
        except StorageError as exc:
            return fail(f"{exc} (choose another with --data-dir or COSCRIBE_DATA_DIR)")
    values = config_values(args, ServerConfig)
    # Bursts follow the rates unless configured otherwise (10x messages, 5x connections).
    if "message_rate" in values:
        values["message_burst"] = max(1, int(values["message_rate"] * 10))
    if "connection_rate_per_ip" in values:
        values["connection_burst_per_ip"] = max(1, int(values["connection_rate_per_ip"] * 5))
    config = ServerConfig(data_dir=data_dir, secret=secret, **values)
    configure_logging(config.log_level, config.log_format)
    dispatch = config.workers > 1 and not os.environ.get(WORKER_ENV)
    if dispatch and config.tls_cert is not None:
        return fail("--workers needs the path of each request: terminate TLS in a reverse proxy")
    try:
        loop_name, factory = loop_factory(config.event_loop)
        with asyncio.Runner(loop_factory=factory) as runner:
            logging.getLogger("coscribe.server").info(
                "event loop", extra={"fields": {"loop": loop_name}}
            )
            if dispatch:
                return runner.run(run_dispatcher(config, args.argv))
            return runner.run(run_server(config))
    except (DataDirLocked, ConfigError) as exc:
        return fail(str(exc))
    except ssl.SSLError as exc:
        return fail(f"cannot use the TLS certificate/key: {exc.reason or exc}")
    except StorageError as exc:
        return fail(str(exc))
    except OSError as exc:
        if exc.errno == errno.EADDRINUSE:
            return fail(
                f"port {config.port} on {config.host} is already in use (another server?); "
                "choose another with --port or COSCRIBE_PORT"
            )
        if exc.errno in (errno.EADDRNOTAVAIL, errno.EACCES):
            return fail(f"cannot listen on {config.host}:{config.port}: {exc.strerror}")
        raise
    except KeyboardInterrupt:
        return 0


def delete_main(args: argparse.Namespace) -> int:
    try:
        name = validate_document_name(args.name)
    except InvalidDocumentName as exc:
        return fail(str(exc))
    if args.data_dir == MEMORY:
        return fail("nothing to delete in an in-memory store")
    data_dir = Path(args.data_dir).expanduser()
    config = ServerConfig(data_dir=data_dir)

    async def run() -> bool:
        from .sqlite_store import SQLiteStore

        assert config.database_path is not None
        async with SQLiteStore(config.database_path) as store:
            return await store.delete(name)

    lock = DataDirLock(data_dir)
    try:
        lock.acquire()
    except DataDirLocked:
        return _trash_while_running(config, name)
    try:
        existed = asyncio.run(run())
    except StorageError as exc:
        return fail(str(exc))
    finally:
        lock.release()
    print(f"deleted {name}" if existed else f"no document named {name}")
    return 0 if existed else 1


def _trash_while_running(config: ServerConfig, name: str) -> int:
    """The server runs: move the document to the trash, which it acts on within a second
    (its peers are closed); it is deleted for good after 30 days, or by ``delete`` once
    the server is stopped."""
    from .sqlite_store import trash_sync

    assert config.database_path is not None
    try:
        trashed = trash_sync(config.database_path, name)
    except StorageError as exc:
        return fail(str(exc))
    if not trashed:
        print(f"no document named {name}")
        return 1
    print(
        f"moved {name} to the trash: a server is running on this data directory; its "
        "peers are closed now, and it is deleted for good after 30 days (or run delete "
        "again with the server stopped)"
    )
    return 0


def revoke_main(args: argparse.Namespace) -> int:
    """Store the revocation where the server(s) read it; they act on it within a second."""
    from .auth import token_id_of
    from .revocation import DOCUMENT, TOKEN

    if args.doc is not None:
        try:
            kind, key = DOCUMENT, validate_document_name(args.doc)
        except InvalidDocumentName as exc:
            return fail(str(exc))
    elif args.token is not None:
        token_id = token_id_of(args.token)
        if token_id is None:
            return fail(
                "this token has no id (it is malformed or was minted before links had ids); "
                "revoke every link of its document with --doc NAME instead"
            )
        kind, key = TOKEN, token_id
    else:
        kind, key = TOKEN, args.token_id
    try:
        if args.database_url:
            from .postgres_store import add_revocation_sync as add_pg

            add_pg(args.database_url, kind, key, time.time())
        elif args.data_dir == MEMORY:
            return fail("an in-memory server keeps no revocations on disk; restart it instead")
        else:
            from .sqlite_store import add_revocation_sync as add_sqlite

            data_dir = Path(args.data_dir).expanduser()
            database = ServerConfig(data_dir=data_dir).database_path
            assert database is not None
            if not database.exists():
                return fail(f"no Coscribe database in {data_dir} (check --data-dir)")
            add_sqlite(database, kind, key, time.time())
    except StorageError as exc:
        return fail(str(exc))
    what = f"every link to {key} issued until now" if kind == DOCUMENT else f"link {key}"
    print(f"revoked {what}; open sessions close within a second")
    return 0


def token_main(args: argparse.Namespace) -> int:
    try:
        secret = read_secret(args)
    except ValueError as exc:
        return fail(str(exc))
    if secret is None:
        return fail(
            "no secret configured: tokens are signed with the server's secret; pass the same "
            "--secret-file (or COSCRIBE_SECRET) as the server"
        )
    try:
        expires = parse_duration(args.expires) if args.expires else None
        token = mint_token(secret, args.doc, Role(args.role), expires_in=expires)
    except (ValueError, InvalidDocumentName) as exc:
        return fail(str(exc))
    print(token)
    print(f"link id: {token_id_of(token)} (to revoke it: {PROG} revoke --token-id ...)",
          file=sys.stderr)  # fmt: skip
    if args.url:
        doc = args.doc.rstrip("*") or "<document>"
        sep = "&" if "?" in args.url else "?"
        print(f"{args.url.rstrip('/')}/{doc}{sep}token={token}")
    return 0


def _reexec_with_system_allocator() -> None:
    """Run the server under ``PYTHONMALLOC=malloc`` (Linux, command line only).

    CPython's small-object allocator keeps freed memory in arenas that stay mapped while
    any object in them lives, so after a spike of connections the server's RSS stays high.
    With glibc malloc, ``malloc_trim`` (sync_server/memory.py) hands it back: 60 % or more
    after 2,000 connections close instead of under 10 %, at no measurable CPU cost for
    this workload. The allocator can only be chosen at start-up, hence the re-exec (same
    PID, before any socket is opened). Set PYTHONMALLOC yourself to opt out.
    """
    if sys.platform != "linux" or "PYTHONMALLOC" in os.environ:
        return
    env = {**os.environ, "PYTHONMALLOC": "malloc"}
    os.execve(sys.executable, [sys.executable, "-m", "sync_server", *sys.argv[1:]], env)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    args.argv = list(sys.argv[1:] if argv is None else argv)  # for --workers' processes
    if argv is None and args.command in (None, "serve"):
        _reexec_with_system_allocator()
    if args.command == "delete":
        return delete_main(args)
    if args.command == "token":
        return token_main(args)
    if args.command == "revoke":
        return revoke_main(args)
    return serve_main(args)


if __name__ == "__main__":
    sys.exit(main())
