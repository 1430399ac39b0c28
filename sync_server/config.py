"""Every knob of the relay server, in one frozen object built once at start-up.

A field declared with :func:`~sync_server.options.setting` is also a command-line option
and an environment variable of ``coscribe-server serve`` (see ``sync_server/options.py``):
the flag (which names the variable), the parser and the help live here, next to the default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.limits import ProtocolLimits

from .options import (
    non_negative_int,
    port,
    positive_float,
    positive_int,
    rate,
    setting,
    size,
    url,
)


def _limits_of(max_message_size: int) -> ProtocolLimits:
    return ProtocolLimits(max_message_size=max_message_size)


def _zero_is_none(value: float) -> float | None:
    return value or None


def normalize_origin(origin: str) -> str:
    """How browser origins are compared: no surrounding space or trailing slash, any case."""
    return origin.strip().rstrip("/").lower()


def _origins(values: tuple[str, ...]) -> frozenset[str]:
    return frozenset(normalize_origin(o) for o in values if o.strip())


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Configuration of one relay server process.

    ``data_dir=None`` keeps documents in memory only (tests); otherwise documents live in
    an SQLite database inside it.
    """

    host: str = setting("--host", "127.0.0.1", help="address to listen on")
    port: int = setting("--port", 1234, port, help="TCP port; 0 picks a free one")
    data_dir: Path | None = None
    limits: ProtocolLimits = setting(
        "--max-message-size",
        ProtocolLimits(),
        size,
        to_field=_limits_of,
        shown_default="64M",
        help="largest WebSocket message; bigger ones close with 1009",
    )
    #: Checked before each write, so one message larger than this (an initial sync of a
    #: big document) still goes through.
    max_outbound_bytes: int = setting(
        "--max-outbound",
        8 * 1024 * 1024,
        size,
        shown_default="8M",
        help="bytes queued for one peer before it is dropped as too slow (4429)",
    )
    stall_timeout: float = setting(
        "--stall-timeout",
        15.0,
        positive_float,
        help="seconds a peer may leave bytes unsent without reading any before it is "
        "closed (4429), whether or not more is written to it",
    )
    max_total_outbound_bytes: int = setting(
        "--max-total-outbound",
        512 * 1024 * 1024,
        size,
        shown_default="512M",
        help="bytes that may wait for all peers together; over it the peers with the "
        "most waiting are closed (4429) and big messages refused (1013)",
    )
    sync_request_rate: float = setting(
        "--sync-request-rate",
        0.2,
        rate,
        help="whole-document sync requests per second per connection (bursts of 5), "
        "0 = unlimited; over it the connection closes with 1008",
    )
    sync_request_burst: int = 5
    #: Incoming frames websockets buffers per connection before it stops reading.
    max_inbound_queue: int = 64
    max_rooms: int = setting(
        "--max-rooms",
        10_000,
        positive_int,
        help="most documents loaded at once; joining another closes with 1013",
    )
    room_idle_seconds: float = setting(
        "--room-idle",
        30.0,
        positive_float,
        help="seconds a document stays loaded after its last peer left",
    )
    version_every: float = setting(
        "--version-every",
        300.0,
        positive_float,
        help="seconds of editing between two automatic versions of a document (version "
        "history; one is also made when a document's last editor leaves)",
    )
    #: WebSocket keepalive: ping every ``ping_interval`` s, drop after ``ping_timeout`` s.
    ping_interval: float | None = setting(
        "--ping-interval",
        20.0,
        rate,
        to_field=_zero_is_none,
        help="seconds between keepalive pings, 0 = none; a silent peer is dropped (and "
        "its presence removed) after --ping-interval + --ping-timeout",
    )
    ping_timeout: float | None = setting(
        "--ping-timeout",
        20.0,
        rate,
        to_field=_zero_is_none,
        help="seconds to wait for a keepalive pong",
    )
    poll_hold: float = setting(
        "--poll-hold",
        20.0,
        positive_float,
        help="seconds a long poll (HTTP fallback) is held without data before it is "
        "answered empty; keep it below proxies' idle timeouts (nginx: 60 s)",
    )
    session_timeout: float = setting(
        "--session-timeout",
        25.0,
        positive_float,
        help="seconds a coscribe.v2 session lives without a poll or a WebSocket; a "
        "client may resume it within this time without losing a message",
    )
    #: Seconds for the opening handshake.
    open_timeout: float = 10.0
    shutdown_timeout: float = setting(
        "--shutdown-timeout",
        10.0,
        positive_float,
        help="seconds a graceful shutdown may take before the connections left are cut",
    )
    #: Seconds to wait for the peer's close frame once the server decided to close. The
    #: server's own close frame is already written; a healthy peer answers in one round
    #: trip, a dead one never does, and its presence is removed only once we give up.
    close_timeout: float = 0.5
    # ---------------------------------------------------------------- access control
    #: HMAC secret for access tokens; None = open mode (everyone edits; loopback only).
    #: Set from --secret-file / COSCRIBE_SECRET (read by the CLI, never echoed).
    secret: bytes | None = field(default=None, repr=False)
    insecure_open: bool = setting(
        "--insecure-open",
        False,
        switch=True,
        help="allow running without a secret on a non-loopback address: anyone who can "
        "reach the server edits every document",
    )
    #: Browser origins allowed to connect (normalized by the admission check).
    allowed_origins: frozenset[str] = setting(
        "--allow-origin",
        frozenset(),
        env="COSCRIBE_ALLOW_ORIGINS",
        repeat=True,
        metavar="ORIGIN",
        to_field=_origins,
        help="browser origin allowed to connect, e.g. https://docs.example.com; "
        "repeatable (the variable is comma-separated); any other Origin gets 403",
    )
    tls_cert: Path | None = setting(
        "--tls-cert", None, Path, help="PEM certificate chain: serve wss://"
    )
    tls_key: Path | None = setting("--tls-key", None, Path, help="PEM key for --tls-cert")
    # ---------------------------------------------------------------- abuse limits
    connection_rate_per_ip: float = setting(
        "--connection-rate",
        20.0,
        rate,
        help="new connections per second per client IP (bursts of 5x), 0 = unlimited; "
        "over it the handshake gets 429",
    )
    connection_burst_per_ip: int = 100
    max_connections_per_ip: int = setting(
        "--max-connections-per-ip",
        256,
        non_negative_int,
        help="concurrent connections per client IP, 0 = unlimited; over it 429",
    )
    max_handshakes_per_ip: int = setting(
        "--max-handshakes-per-ip",
        32,
        non_negative_int,
        help="sockets per client IP still in the opening handshake, counted before any "
        "HTTP is read, 0 = unlimited; over it the socket is reset",
    )
    #: File descriptors kept free for the store and logs: past the limit minus this,
    #: new sockets are answered 503 and closed. More than asyncio's accept batch.
    fd_reserve: int = 160
    message_rate: float = setting(
        "--message-rate",
        200.0,
        rate,
        help="messages per second per connection (bursts of 10x), 0 = unlimited; over "
        "it the connection closes with 1008",
    )
    message_burst: int = 2000
    #: 50 ms: at 50 rooms x 5 people typing, 10 ms cost ~20 % more relay CPU per keystroke
    #: (a commit's fsync, its Python and its hand-overs of the GIL, five times as often),
    #: and an acknowledgement 40 ms later is not something a person sees (docs/server.md).
    commit_interval: float = setting(
        "--commit-interval",
        0.05,
        rate,
        help="least seconds between two group commits of the store; under load, "
        "updates gather for up to this long (acknowledgements wait for their commit; "
        "relaying never does), 0 = commit as soon as the previous commit ended",
    )
    workers: int = setting(
        "--workers",
        1,
        positive_int,
        help="server processes on this host (one per core); each document is served by "
        "exactly one of them (docs/deploy.md, 'Every core')",
    )
    event_loop: str = setting(
        "--event-loop",
        "auto",
        choices=("auto", "uvloop", "asyncio"),
        help="event loop: uvloop (faster; auto = when installed) or asyncio's own",
    )
    log_format: str = setting(
        "--log-format", "text", choices=("text", "json"), help="log line format"
    )
    log_level: str = setting(
        "--log-level", "info", choices=("debug", "info", "warning", "error"), help="log verbosity"
    )
    # ---------------------------------------------------------------- several nodes
    #: May hold a password, so it is kept out of repr().
    database_url: str | None = setting(
        "--database-url",
        None,
        url("postgresql://", "postgres://"),
        repr=False,
        help="postgresql://user:password@host/db: store documents in PostgreSQL "
        "(shared by several nodes) instead of SQLite in --data-dir",
    )
    redis_url: str | None = setting(
        "--redis-url",
        None,
        url("redis://", "rediss://", "unix://"),
        repr=False,
        help="redis://host:6379/0: relay updates and presence between several nodes "
        "through Redis; needs --database-url",
    )
    node_id: str | None = setting("--node-id", None, help="this node's name in logs (random)")
    cluster_heartbeat: float = setting(
        "--cluster-heartbeat",
        1.0,
        positive_float,
        help="seconds between cluster heartbeats; a node silent for 4 of them is taken "
        "for dead and its clients' presence removed everywhere",
    )

    @property
    def database_path(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "coscribe.sqlite3"
