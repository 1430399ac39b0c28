"""Every knob of the relay server, in one frozen object built once at start-up.

A field with :func:`~sync_server.options.option` metadata is also a command-line option
and an environment variable of ``coscribe-server serve`` (see ``sync_server/options.py``):
the flag, the variable, the parser and the help live here, next to the default.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.limits import ProtocolLimits

from .options import (
    non_negative_int,
    option,
    port,
    positive_float,
    positive_int,
    rate,
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

    host: str = field(
        default="127.0.0.1",
        metadata=option(flag="--host", env="COSCRIBE_HOST", help="address to listen on"),
    )
    port: int = field(
        default=1234,
        metadata=option(
            flag="--port", env="COSCRIBE_PORT", parse=port, help="TCP port; 0 picks a free one"
        ),
    )
    data_dir: Path | None = None
    limits: ProtocolLimits = field(
        default_factory=ProtocolLimits,
        metadata=option(
            flag="--max-message-size",
            env="COSCRIBE_MAX_MESSAGE_SIZE",
            parse=size,
            to_field=_limits_of,
            shown_default="64M",
            help="largest WebSocket message; bigger ones close with 1009",
        ),
    )
    #: Checked before each write, so one message larger than this (an initial sync of a
    #: big document) still goes through.
    max_outbound_bytes: int = field(
        default=8 * 1024 * 1024,
        metadata=option(
            flag="--max-outbound",
            env="COSCRIBE_MAX_OUTBOUND",
            parse=size,
            shown_default="8M",
            help="bytes queued for one peer before it is dropped as too slow (4429)",
        ),
    )
    stall_timeout: float = field(
        default=15.0,
        metadata=option(
            flag="--stall-timeout",
            env="COSCRIBE_STALL_TIMEOUT",
            parse=positive_float,
            help="seconds a peer may leave bytes unsent without reading any before it is "
            "closed (4429), whether or not more is written to it",
        ),
    )
    max_total_outbound_bytes: int = field(
        default=512 * 1024 * 1024,
        metadata=option(
            flag="--max-total-outbound",
            env="COSCRIBE_MAX_TOTAL_OUTBOUND",
            parse=size,
            shown_default="512M",
            help="bytes that may wait for all peers together; over it the peers with the "
            "most waiting are closed (4429) and big messages refused (1013)",
        ),
    )
    sync_request_rate: float = field(
        default=0.2,
        metadata=option(
            flag="--sync-request-rate",
            env="COSCRIBE_SYNC_REQUEST_RATE",
            parse=rate,
            help="whole-document sync requests per second per connection (bursts of 5), "
            "0 = unlimited; over it the connection closes with 1008",
        ),
    )
    sync_request_burst: int = 5
    #: Incoming frames websockets buffers per connection before it stops reading.
    max_inbound_queue: int = 64
    max_rooms: int = field(
        default=10_000,
        metadata=option(
            flag="--max-rooms",
            env="COSCRIBE_MAX_ROOMS",
            parse=positive_int,
            help="most documents loaded at once; joining another closes with 1013",
        ),
    )
    room_idle_seconds: float = field(
        default=30.0,
        metadata=option(
            flag="--room-idle",
            env="COSCRIBE_ROOM_IDLE",
            parse=positive_float,
            help="seconds a document stays loaded after its last peer left",
        ),
    )
    #: WebSocket keepalive: ping every ``ping_interval`` s, drop after ``ping_timeout`` s.
    ping_interval: float | None = field(
        default=20.0,
        metadata=option(
            flag="--ping-interval",
            env="COSCRIBE_PING_INTERVAL",
            parse=rate,
            to_field=_zero_is_none,
            help="seconds between keepalive pings, 0 = none; a silent peer is dropped (and "
            "its presence removed) after --ping-interval + --ping-timeout",
        ),
    )
    ping_timeout: float | None = field(
        default=20.0,
        metadata=option(
            flag="--ping-timeout",
            env="COSCRIBE_PING_TIMEOUT",
            parse=rate,
            to_field=_zero_is_none,
            help="seconds to wait for a keepalive pong",
        ),
    )
    poll_hold: float = field(
        default=20.0,
        metadata=option(
            flag="--poll-hold",
            env="COSCRIBE_POLL_HOLD",
            parse=positive_float,
            help="seconds a long poll (HTTP fallback) is held without data before it is "
            "answered empty; keep it below proxies' idle timeouts (nginx: 60 s)",
        ),
    )
    session_timeout: float = field(
        default=25.0,
        metadata=option(
            flag="--session-timeout",
            env="COSCRIBE_SESSION_TIMEOUT",
            parse=positive_float,
            help="seconds a coscribe.v2 session lives without a poll or a WebSocket; a "
            "client may resume it within this time without losing a message",
        ),
    )
    #: Seconds for the opening handshake.
    open_timeout: float = 10.0
    shutdown_timeout: float = field(
        default=10.0,
        metadata=option(
            flag="--shutdown-timeout",
            env="COSCRIBE_SHUTDOWN_TIMEOUT",
            parse=positive_float,
            help="seconds a graceful shutdown may take before the connections left are cut",
        ),
    )
    #: Seconds to wait for the peer's close frame once the server decided to close. The
    #: server's own close frame is already written; a healthy peer answers in one round
    #: trip, a dead one never does, and its presence is removed only once we give up.
    close_timeout: float = 0.5
    # ---------------------------------------------------------------- access control
    #: HMAC secret for access tokens; None = open mode (everyone edits; loopback only).
    #: Set from --secret-file / COSCRIBE_SECRET (read by the CLI, never echoed).
    secret: bytes | None = field(default=None, repr=False)
    insecure_open: bool = field(
        default=False,
        metadata=option(
            flag="--insecure-open",
            env="COSCRIBE_INSECURE_OPEN",
            switch=True,
            help="allow running without a secret on a non-loopback address: anyone who can "
            "reach the server edits every document",
        ),
    )
    #: Browser origins allowed to connect (normalized by the admission check).
    allowed_origins: frozenset[str] = field(
        default=frozenset(),
        metadata=option(
            flag="--allow-origin",
            env="COSCRIBE_ALLOW_ORIGINS",
            repeat=True,
            metavar="ORIGIN",
            to_field=_origins,
            help="browser origin allowed to connect, e.g. https://docs.example.com; "
            "repeatable (the variable is comma-separated); any other Origin gets 403",
        ),
    )
    tls_cert: Path | None = field(
        default=None,
        metadata=option(
            flag="--tls-cert",
            env="COSCRIBE_TLS_CERT",
            parse=Path,
            help="PEM certificate chain: serve wss://",
        ),
    )
    tls_key: Path | None = field(
        default=None,
        metadata=option(
            flag="--tls-key", env="COSCRIBE_TLS_KEY", parse=Path, help="PEM key for --tls-cert"
        ),
    )
    # ---------------------------------------------------------------- abuse limits
    connection_rate_per_ip: float = field(
        default=20.0,
        metadata=option(
            flag="--connection-rate",
            env="COSCRIBE_CONNECTION_RATE",
            parse=rate,
            help="new connections per second per client IP (bursts of 5x), 0 = unlimited; "
            "over it the handshake gets 429",
        ),
    )
    connection_burst_per_ip: int = 100
    max_connections_per_ip: int = field(
        default=256,
        metadata=option(
            flag="--max-connections-per-ip",
            env="COSCRIBE_MAX_CONNECTIONS_PER_IP",
            parse=non_negative_int,
            help="concurrent connections per client IP, 0 = unlimited; over it 429",
        ),
    )
    max_handshakes_per_ip: int = field(
        default=32,
        metadata=option(
            flag="--max-handshakes-per-ip",
            env="COSCRIBE_MAX_HANDSHAKES_PER_IP",
            parse=non_negative_int,
            help="sockets per client IP still in the opening handshake, counted before any "
            "HTTP is read, 0 = unlimited; over it the socket is reset",
        ),
    )
    #: File descriptors kept free for the store and logs: past the limit minus this,
    #: new sockets are answered 503 and closed. More than asyncio's accept batch.
    fd_reserve: int = 160
    message_rate: float = field(
        default=200.0,
        metadata=option(
            flag="--message-rate",
            env="COSCRIBE_MESSAGE_RATE",
            parse=rate,
            help="messages per second per connection (bursts of 10x), 0 = unlimited; over "
            "it the connection closes with 1008",
        ),
    )
    message_burst: int = 2000
    commit_interval: float = field(
        default=0.01,
        metadata=option(
            flag="--commit-interval",
            env="COSCRIBE_COMMIT_INTERVAL",
            parse=rate,
            help="least seconds between two group commits of the store; under load, "
            "updates gather for up to this long (acknowledgements wait for their commit; "
            "relaying never does), 0 = commit as soon as the previous commit ended",
        ),
    )
    workers: int = field(
        default=1,
        metadata=option(
            flag="--workers",
            env="COSCRIBE_WORKERS",
            parse=positive_int,
            help="server processes on this host (one per core); each document is served by "
            "exactly one of them (docs/deploy.md, 'Every core')",
        ),
    )
    event_loop: str = field(
        default="auto",
        metadata=option(
            flag="--event-loop",
            env="COSCRIBE_EVENT_LOOP",
            choices=("auto", "uvloop", "asyncio"),
            help="event loop: uvloop (faster; auto = when installed) or asyncio's own",
        ),
    )
    log_format: str = field(
        default="text",
        metadata=option(
            flag="--log-format",
            env="COSCRIBE_LOG_FORMAT",
            choices=("text", "json"),
            help="log line format",
        ),
    )
    log_level: str = field(
        default="info",
        metadata=option(
            flag="--log-level",
            env="COSCRIBE_LOG_LEVEL",
            choices=("debug", "info", "warning", "error"),
            help="log verbosity",
        ),
    )
    # ---------------------------------------------------------------- several nodes
    #: May hold a password, so it is kept out of repr().
    database_url: str | None = field(
        default=None,
        repr=False,
        metadata=option(
            flag="--database-url",
            env="COSCRIBE_DATABASE_URL",
            parse=url("postgresql://", "postgres://"),
            help="postgresql://user:password@host/db: store documents in PostgreSQL "
            "(shared by several nodes) instead of SQLite in --data-dir",
        ),
    )
    redis_url: str | None = field(
        default=None,
        repr=False,
        metadata=option(
            flag="--redis-url",
            env="COSCRIBE_REDIS_URL",
            parse=url("redis://", "rediss://", "unix://"),
            help="redis://host:6379/0: relay updates and presence between several nodes "
            "through Redis; needs --database-url",
        ),
    )
    node_id: str | None = field(
        default=None,
        metadata=option(
            flag="--node-id", env="COSCRIBE_NODE_ID", help="this node's name in logs (random)"
        ),
    )
    cluster_heartbeat: float = field(
        default=1.0,
        metadata=option(
            flag="--cluster-heartbeat",
            env="COSCRIBE_CLUSTER_HEARTBEAT",
            parse=positive_float,
            help="seconds between cluster heartbeats; a node silent for 4 of them is taken "
            "for dead and its clients' presence removed everywhere",
        ),
    )

    @property
    def database_path(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "coscribe.sqlite3"
