"""Every knob of the relay server, in one frozen object built once at start-up."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from shared.limits import ProtocolLimits


@dataclass(frozen=True, slots=True)
class ServerConfig:
    """Configuration of one relay server process.

    ``data_dir=None`` keeps documents in memory only (tests); otherwise documents live in
    an SQLite database inside it.
    """

    host: str = "127.0.0.1"
    port: int = 1234
    data_dir: Path | None = None
    limits: ProtocolLimits = field(default_factory=ProtocolLimits)
    #: Bytes that may wait in one peer's outbound buffer before it is disconnected as a
    #: slow consumer (close code 4429). Checked before each write, so one message larger
    #: than this (an initial sync of a big document) still goes through.
    max_outbound_bytes: int = 8 * 1024 * 1024
    #: Seconds a peer may leave bytes unsent without reading any before it is closed
    #: (4429), checked on a timer whether or not more is written to it.
    stall_timeout: float = 15.0
    #: Bytes that may wait in all peers' outbound buffers together; over it the peers
    #: with the most waiting are closed (4429) and big messages are refused (1013).
    max_total_outbound_bytes: int = 512 * 1024 * 1024
    #: Sync requests (step 1, answered with the document) per second per connection, and
    #: the burst allowed; over: close 1008.
    sync_request_rate: float = 0.2
    sync_request_burst: int = 5
    #: Incoming frames websockets buffers per connection before it stops reading.
    max_inbound_queue: int = 64
    #: Most documents loaded at once; joining another closes with 1013 (try again later).
    max_rooms: int = 10_000
    #: Seconds a room stays loaded after its last peer left.
    room_idle_seconds: float = 30.0
    #: WebSocket keepalive: ping every ``ping_interval`` s, drop after ``ping_timeout`` s.
    ping_interval: float | None = 20.0
    ping_timeout: float | None = 20.0
    #: Seconds for the opening handshake.
    open_timeout: float = 10.0
    #: Seconds a graceful shutdown may take before the remaining connections are cut.
    shutdown_timeout: float = 10.0
    #: Seconds to wait for the peer's close frame once the server decided to close. The
    #: server's own close frame is already written; a healthy peer answers in one round
    #: trip, a dead one never does, and its presence is removed only once we give up.
    close_timeout: float = 0.5
    # ---------------------------------------------------------------- access control
    #: HMAC secret for access tokens; None = open mode (everyone edits; loopback only).
    secret: bytes | None = field(default=None, repr=False)
    #: Allow open mode on a non-loopback address (with a loud warning).
    insecure_open: bool = False
    #: Browser origins allowed to connect; a request with any other Origin header gets 403.
    allowed_origins: frozenset[str] = frozenset()
    #: PEM files to serve wss:// (both or neither).
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # ---------------------------------------------------------------- abuse limits
    #: New connections per second per client IP (token bucket); 0 = unlimited. Over: 429.
    connection_rate_per_ip: float = 20.0
    connection_burst_per_ip: int = 100
    #: Concurrent connections per client IP; 0 = unlimited. Over: 429.
    max_connections_per_ip: int = 256
    #: Sockets per client IP still in the opening handshake (counted from the TCP accept,
    #: before any HTTP is read); 0 = unlimited. Over: the socket is reset.
    max_handshakes_per_ip: int = 32
    #: File descriptors kept free for the store and logs: past the limit minus this,
    #: new sockets are answered 503 and closed. More than asyncio's accept batch (100
    #: sockets accepted per loop turn before the server sees any of them).
    fd_reserve: int = 160
    #: Messages per second per connection (token bucket); 0 = unlimited. Over: close 1008.
    message_rate: float = 200.0
    message_burst: int = 2000
    #: Log format: "text" (key=value) or "json".
    log_format: str = "text"
    log_level: str = "info"
    # ---------------------------------------------------------------- several nodes
    #: ``postgresql://...``: store documents in PostgreSQL (shared by every node) instead
    #: of SQLite in ``data_dir``. May hold a password, so it is kept out of repr().
    database_url: str | None = field(default=None, repr=False)
    #: ``redis://...``: fan updates and presence out to the other nodes through Redis.
    redis_url: str | None = field(default=None, repr=False)
    #: This node's name in logs (random if None).
    node_id: str | None = None
    #: Seconds between cluster heartbeats; a node silent for 4 of them is dead and its
    #: clients' presence is removed on every other node.
    cluster_heartbeat: float = 1.0

    @property
    def database_path(self) -> Path | None:
        return None if self.data_dir is None else self.data_dir / "coscribe.sqlite3"
