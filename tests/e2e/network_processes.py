"""Real network middleboxes for the transport tests: nginx and tinyproxy (Debian packages).

Each runs in the foreground as a child of the test, with its configuration, logs and
temporary files in the test's directory, on a free loopback port, and is stopped by its
own pid. No system service is used or touched (``dev.sh`` installs the packages only).

* :func:`nginx_without_upgrade`: a reverse proxy configured the way that breaks
  WebSockets: ``proxy_pass`` without the ``Upgrade``/``Connection`` headers, so the relay
  sees a plain GET and answers 426; plain HTTP (the long polls) passes.
* :func:`tinyproxy`: a forward proxy. ``connect_ports`` lists the ports it lets CONNECT
  reach (``(443,)`` is the common corporate default that refuses the relay's port);
  ``basic_auth`` asks for a user and password (407 without them).
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from tests.e2e.processes import require_tools, stop

PACKAGES = "nginx-light tinyproxy"
STARTUP_DEADLINE = 15.0


def missing_network_tools() -> list[str]:
    found = {
        "nginx": shutil.which("nginx") or _sbin("nginx"),
        "tinyproxy": shutil.which("tinyproxy"),
    }
    return [name for name, path in found.items() if path is None]


def _sbin(name: str) -> str | None:
    path = Path("/usr/sbin") / name
    return str(path) if path.exists() else None


def require_network_tools() -> None:
    require_tools(missing_network_tools(), PACKAGES)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _wait_listening(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + STARTUP_DEADLINE
    while True:
        if proc.poll() is not None:
            raise AssertionError(
                f"{what} exited with {proc.returncode}:\n{log.read_text(errors='replace')}"
            )
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} did not listen on {port} in time")
        time.sleep(0.05)


@contextlib.contextmanager
def _nginx(workdir: Path, http_block: Callable[[int], str]) -> Iterator[str]:
    """nginx in the foreground with its files in ``workdir``, on a free loopback port; its
    ``http`` block is ``http_block(port)``. Yields its ws:// URL."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    temp = " ".join(
        f"{kind}_temp_path {workdir / kind};"
        for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    conf = workdir / "nginx.conf"
    conf.write_text(
        f"""
daemon off;
master_process off;
worker_processes 1;
pid {workdir / "nginx.pid"};
error_log {workdir / "error.log"} info;
events {{ worker_connections 256; }}
http {{
    {temp}
{http_block(port)}
}}
"""
    )
    log = workdir / "stderr.log"
    nginx = shutil.which("nginx") or _sbin("nginx") or "nginx"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [nginx, "-c", str(conf), "-p", str(workdir)], stdout=subprocess.DEVNULL, stderr=err
        )
    try:
        _wait_listening(port, proc, "nginx", log)
        yield f"ws://127.0.0.1:{port}"
    finally:
        stop(proc)  # type: ignore[arg-type]


def nginx_without_upgrade(relay_port: int, workdir: Path) -> contextlib.AbstractContextManager[str]:
    """nginx in front of the relay, dropping WebSocket upgrades; yields its ws:// URL."""

    def http_block(port: int) -> str:
        return f"""
    # Every request the editor made through nginx (the tests read it as evidence).
    log_format plain '$request $status';
    access_log {workdir / "access.log"} plain;
    server {{
        listen 127.0.0.1:{port};
        location / {{
            proxy_pass http://127.0.0.1:{relay_port};
            proxy_http_version 1.1;
            # No "proxy_set_header Upgrade/Connection": WebSockets cannot pass. That is
            # the misconfiguration under test (docs/deploy.md shows the right one).
            proxy_buffering off;
            proxy_read_timeout 60s;
            client_max_body_size 64m;
        }}
    }}"""

    return _nginx(workdir, http_block)


@contextlib.contextmanager
def tinyproxy(
    workdir: Path,
    *,
    connect_ports: Sequence[int] = (),
    basic_auth: tuple[str, str] | None = None,
) -> Iterator[int]:
    """A tinyproxy forward proxy on loopback; yields its port."""
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    lines = [
        f"Port {port}",
        "Listen 127.0.0.1",
        "Timeout 120",
        "MaxClients 64",
        "LogLevel Info",
        f'LogFile "{workdir / "tinyproxy.log"}"',
        f'PidFile "{workdir / "tinyproxy.pid"}"',
        "Allow 127.0.0.1",
        "DisableViaHeader Yes",
        *(f"ConnectPort {p}" for p in connect_ports or (443,)),
    ]
    if basic_auth is not None:
        lines.append(f"BasicAuth {basic_auth[0]} {basic_auth[1]}")
    conf = workdir / "tinyproxy.conf"
    conf.write_text("\n".join(lines) + "\n")
    log = workdir / "stderr.log"
    with log.open("wb") as err:
        proc = subprocess.Popen(
            [shutil.which("tinyproxy") or "tinyproxy", "-d", "-c", str(conf)],
            stdout=err,
            stderr=err,
        )
    try:
        _wait_listening(port, proc, "tinyproxy", log)
        yield port
    finally:
        stop(proc)  # type: ignore[arg-type]


def balancer_config(nodes: dict[str, str], listen: str, *, sticky: bool = True) -> str:
    """The nginx ``http`` block docs/deploy.md shows for several nodes (both transports).

    ``nodes``: node id (``--node-id``) -> ``host:port``. New sessions (WebSocket or the
    first poll) go to any node, round robin; every later request of a session (polls, a
    WebSocket resuming it) carries ``sid=<node id>.<random>`` and goes to the node that
    holds it. ``sticky=False`` leaves that map out (plain round robin): the misconfiguration.
    """
    upstreams = "\n".join(
        f"    upstream coscribe_{node.replace('-', '_')} {{ server {address}; }}"
        for node, address in nodes.items()
    )
    every = "\n".join(f"        server {address};" for address in nodes.values())
    routes = "\n".join(
        f'        "~^{node}\\." coscribe_{node.replace("-", "_")};' for node in nodes
    )
    route_map = (
        f"""    map $arg_sid $coscribe_upstream {{
{routes}
        default coscribe_any;
    }}"""
        if sticky
        else "    map $arg_sid $coscribe_upstream { default coscribe_any; }"
    )
    return f"""
{route_map}
    map $http_upgrade $connection_upgrade {{
        default upgrade;
        ""      close;
    }}
    upstream coscribe_any {{
{every}
    }}
{upstreams}
    server {{
        listen {listen};
        location / {{
            proxy_pass http://$coscribe_upstream;
            proxy_http_version 1.1;
            proxy_set_header Upgrade $http_upgrade;
            proxy_set_header Connection $connection_upgrade;
            proxy_buffering off;
            proxy_read_timeout 300s;
            client_max_body_size 64m;
        }}
    }}
"""


def nginx_balancer(
    nodes: dict[str, int], workdir: Path, *, sticky: bool = True
) -> contextlib.AbstractContextManager[str]:
    """nginx balancing relay nodes (node id -> port) on loopback; yields its ws:// URL."""
    addresses = {node: f"127.0.0.1:{p}" for node, p in nodes.items()}

    def http_block(port: int) -> str:
        return f"""
    log_format routed '$request $status $upstream_addr';
    access_log {workdir / "access.log"} routed;
{balancer_config(addresses, f"127.0.0.1:{port}", sticky=sticky)}"""

    return _nginx(workdir, http_block)
