"""The editor through real networks that break WebSockets: real nginx without the Upgrade
headers, a real forward proxy (tinyproxy) that allows CONNECT, refuses it, or wants a
password; a stock Yjs client (Node, y-websocket) connected directly to the relay.

* ``test_the_editor_says_what_the_network_does``: the editor in this process (offscreen):
  compatibility mode behind nginx (the note, Connection details, Test connection), and
  "The proxy needs a password" until the password is set in Preferences.
* ``test_polling_sessions_behind_a_load_balancer``: two relay nodes behind real nginx
  configured as docs/deploy.md says (a session's requests routed by the node id in its
  ``sid``): polling sessions stay on their node and WebSocket probes resume them there;
  with plain round robin instead, sessions are lost on every other request.
* ``test_real_editor_syncs_through_each_network`` (Xvfb, marker ``gui``): the real
  ``python -m editor_app`` typed into with xdotool, through each network in turn, while a
  stock Yjs client on the relay sees the typing and writes back.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import AsyncExitStack, contextmanager
from pathlib import Path
from typing import Any

import pycrdt
import pytest

from editor_app.core.backoff import Backoff
from editor_app.core.local_store import LocalStore
from editor_app.core.proxy import Proxy, ProxyMode
from editor_app.core.schema import content
from editor_app.core.server_connection import ServerConnection, Transport
from editor_app.core.status_text import TEXT_COMPATIBILITY, TEXT_PROXY_AUTH
from editor_app.core.sync_client import Status, SyncClient
from editor_app.ui.app import OpenDocument
from shared import Origin
from sync_server.app import RelayServer
from sync_server.config import ServerConfig
from tests.e2e.harness import SAVED, editor_app, relay, type_text, wait_until
from tests.e2e.network_processes import (
    nginx_balancer,
    nginx_without_upgrade,
    require_network_tools,
    tinyproxy,
)


def status(opened: OpenDocument) -> str:
    return opened.window.status_badge.text


@pytest.mark.asyncio
@pytest.mark.timeout(120)
async def test_the_editor_says_what_the_network_does(tmp_path: Path) -> None:
    require_network_tools()
    async with relay(tmp_path / "server") as server, editor_app(tmp_path / "me", "Ann") as app:
        app.settings.set_proxy(ProxyMode.NONE, None)  # whatever this machine's environment says
        app.connections.set_proxy(app.proxy_resolver())
        with nginx_without_upgrade(server.port, tmp_path / "nginx") as behind_nginx:
            opened = app.open_document(f"{behind_nginx}/behind-nginx")
            await wait_until(lambda: status(opened) == SAVED, lambda: status(opened))
            badge = opened.window.status_badge
            assert badge.note.text() == f"· {TEXT_COMPATIBILITY}"
            type_text(opened.editor, "typed behind nginx")
            await wait_until(lambda: status(opened) == SAVED, "typing saved over polling")
            room = server.server.registry.get("behind-nginx") if server.server else None
            assert room is not None and str(content(room.doc)) == "typed behind nginx"

            details = badge.show_details()
            assert details.values["Transport"].text() == "HTTP long polling (compatibility mode)"
            assert "426" in details.values["Last error"].text()
            details.test_button.click()
            await wait_until(
                lambda: details.verdict.text().startswith("A proxy or firewall blocks live"),
                lambda: details.verdict.text(),
            )
            assert "compatibility mode works" in details.verdict.text()
            # Remembered in the settings file: the next start polls at once.
            assert app.settings.websocket_blocked(behind_nginx)
            assert not app.settings.websocket_blocked(server.url)
            details.close()
            await app.close_document(opened)

        user, password = "ann", "s3cret"
        with tinyproxy(
            tmp_path / "proxy", connect_ports=(server.port,), basic_auth=(user, password)
        ) as proxy_port:
            app.settings.set_proxy(ProxyMode.MANUAL, Proxy("127.0.0.1", proxy_port))
            app.connections.set_proxy(app.proxy_resolver())
            opened = app.open_document(f"{server.url}/via-proxy")
            await wait_until(lambda: status(opened) == TEXT_PROXY_AUTH, lambda: status(opened))
            assert opened.window.status_badge.dot.styleSheet().endswith("#d93025")
            app.settings.set_proxy(ProxyMode.MANUAL, Proxy("127.0.0.1", proxy_port, user, password))
            app._apply_preferences()  # what pressing OK in Preferences does
            await wait_until(lambda: status(opened) == SAVED, lambda: status(opened))
            assert opened.window.status_badge.note.text() == ""  # a WebSocket through CONNECT
            assert dict(opened.connection.details())["Proxy"].startswith("ann@127.0.0.1")


class _Typist:
    """A headless document on a shared connection (the editor's own classes, no Qt)."""

    def __init__(self, conn: ServerConnection, url: str) -> None:
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.text = content(self.doc)
        self.client = SyncClient(url, self.doc, pycrdt.Awareness(self.doc), connection=conn)

    def type(self, s: str) -> None:
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            self.text.insert(len(str(self.text).encode()), s)


@pytest.mark.asyncio
@pytest.mark.timeout(120)
@pytest.mark.parametrize("sticky", [True, False], ids=["routed-by-sid", "round-robin"])
async def test_polling_sessions_behind_a_load_balancer(tmp_path: Path, sticky: bool) -> None:
    require_network_tools()
    async with AsyncExitStack() as stack:
        nodes = {
            node: await stack.enter_async_context(
                RelayServer(ServerConfig(host="127.0.0.1", port=0, node_id=node, poll_hold=0.3))
            )
            for node in ("node-a", "node-b")
        }
        ports = {node: server.port for node, server in nodes.items()}
        with nginx_balancer(ports, tmp_path / "lb", sticky=sticky) as url:
            async with asyncio.TaskGroup() as tg:
                conns: list[ServerConnection] = []
                typists: list[_Typist] = []
                # Round robin: one editor, so that the next request of its session always
                # goes to the other node (with several, their requests may interleave so
                # that each happens to land on its own node for a while).
                for i in range(4 if sticky else 1):
                    # Two keep polling; two probe for a WebSocket (a resume, by sid).
                    conn = ServerConnection(
                        url,
                        start_with_polling=True,
                        probe_delays=(0.5,) if i >= 2 else (),
                        backoff=Backoff(base=0.05, cap=0.2),
                    )
                    conns.append(conn)
                    typists.append(_Typist(conn, f"{url}/lb-{i}"))
                    tg.create_task(conn.run())
                    tg.create_task(typists[-1].client.run())
                if not sticky:
                    # Round robin sends the next poll of a session to the other node, which
                    # does not know it: the session is lost again and again.
                    await wait_until(
                        lambda: conns[0].sessions_opened >= 3,
                        lambda: f"sessions lost: {[c.sessions_opened for c in conns]}",
                    )
                else:
                    for n in range(30):
                        for t in typists:
                            t.type(f"<{n}>")
                        await asyncio.sleep(0.01)
                    await wait_until(
                        lambda: (
                            all(t.client.status.status is Status.SAVED for t in typists)
                            and all(c.info.transport is Transport.WEBSOCKET for c in conns[2:])
                        ),
                        lambda: f"{[t.client.status for t in typists]} {conns[2].info}",
                    )
                    expected = "".join(f"<{n}>" for n in range(30))
                    holders = set()
                    for i, (conn, typist) in enumerate(zip(conns, typists, strict=True)):
                        assert conn.sessions_opened == 1, (i, conn.sessions_opened)
                        assert str(typist.text) == expected
                        sid = conn._sid or ""
                        node = sid.split(".", 1)[0]
                        holders.add(node)
                        room = nodes[node].registry.get(f"lb-{i}")
                        assert room is not None and str(content(room.doc)) == expected
                        assert sid in nodes[node].sessions.sessions
                    assert holders == {"node-a", "node-b"}  # the opens were balanced
                for t in typists:
                    await t.client.close()
                for conn in conns:
                    await conn.close()


# ------------------------------------------------------------------------- Xvfb


def local_copy(data_dir: Path, url: str) -> str:
    """The text of the editor's offline copy of ``url`` (what the editor has)."""
    store = LocalStore(data_dir / "documents.sqlite3")
    try:
        copy: pycrdt.Doc[object] = pycrdt.Doc()
        store.open_document(url).load_into(copy)
        return str(content(copy))
    finally:
        store.close()


@contextmanager
def network(kind: str, relay_url: str, workdir: Path) -> Iterator[tuple[str, dict[str, str]]]:
    """(the URL the editor opens, its proxy environment) for one kind of network."""
    port = int(relay_url.rsplit(":", 1)[1])
    # Empty values hide whatever proxy this machine's environment names.
    none = {
        name: ""
        for base in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "NO_PROXY")
        for name in (base, base.lower())
    }

    def via(proxy: str) -> dict[str, str]:
        return {**none, "HTTP_PROXY": proxy, "http_proxy": proxy}

    if kind == "nginx drops Upgrade":
        with nginx_without_upgrade(port, workdir) as url:
            yield url, none
    elif kind == "proxy CONNECT":
        with tinyproxy(workdir, connect_ports=(port,)) as p:
            yield relay_url, via(f"http://127.0.0.1:{p}")
    elif kind == "proxy refuses CONNECT":
        with tinyproxy(workdir, connect_ports=(443,)) as p:
            yield relay_url, via(f"http://127.0.0.1:{p}")
    elif kind == "proxy with Basic auth":
        with tinyproxy(workdir, basic_auth=("ann", "pa55-word")) as p:
            yield relay_url, via(f"http://ann:pa55-word@127.0.0.1:{p}")
    else:
        raise AssertionError(kind)


NETWORKS = (
    "nginx drops Upgrade",
    "proxy CONNECT",
    "proxy refuses CONNECT",
    "proxy with Basic auth",  # CONNECT to port 443 only: polls in absolute form, with a password
)

#: How the editor's one connection must get through each network.
EXPECTED_TRANSPORT = {
    "nginx drops Upgrade": "polling",
    "proxy CONNECT": "websocket",
    "proxy refuses CONNECT": "polling",
    "proxy with Basic auth": "polling",
}


def relay_metrics(relay_url: str) -> dict[str, float]:
    """The relay's /metrics (Prometheus text) as {sample name with labels: value}."""
    import urllib.request

    url = relay_url.replace("ws://", "http://", 1) + "/metrics"
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never via a proxy
    with opener.open(url, timeout=10) as answer:
        text: str = answer.read().decode()
    samples: dict[str, float] = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            name, _, value = line.rpartition(" ")
            samples[name] = float(value)
    return samples


def middlebox_requests(workdir: Path) -> str:
    """The request lines the middlebox logged (nginx's access log, tinyproxy's log)."""
    return "\n".join(
        path.read_text(errors="replace")
        for path in (workdir / "access.log", workdir / "tinyproxy.log")
        if path.exists()
    )


def assert_went_through(kind: str, relay_url: str, workdir: Path, before: dict[str, float]) -> None:
    """The editor's session (coscribe.v2, one per server) went through the middlebox with
    the transport ``kind`` leaves open: the relay counts it, the middlebox logged it."""
    now = relay_metrics(relay_url)
    transport = EXPECTED_TRANSPORT[kind]
    other = "websocket" if transport == "polling" else "polling"
    assert now["coscribe_sessions_opened_total"] > before["coscribe_sessions_opened_total"], now
    assert now[f'coscribe_sessions{{transport="{transport}"}}'] == 1, (kind, now)
    assert now[f'coscribe_sessions{{transport="{other}"}}'] == 0, (kind, now)
    assert now["coscribe_sessions_documents"] == 1, (kind, now)
    port = relay_url.rsplit(":", 1)[1]
    seen = middlebox_requests(workdir)
    if transport == "polling":
        assert now["coscribe_sessions_polls_total"] > before["coscribe_sessions_polls_total"]
        assert "POST " in seen and "/?transport=polling&sid=" in seen, seen[-2000:]
    if kind == "nginx drops Upgrade":
        assert "GET / HTTP/1.1 426" in seen, seen[-2000:]  # the upgrade nginx broke
    elif kind == "proxy CONNECT":
        assert f"CONNECT 127.0.0.1:{port}" in seen, seen[-2000:]
    else:
        assert f"Refused CONNECT method on port {port}" in seen, seen[-2000:]
        assert f"POST http://127.0.0.1:{port}/?transport=polling&sid=" in seen, seen[-2000:]


@pytest.mark.gui
@pytest.mark.asyncio
@pytest.mark.timeout(300)
async def test_real_editor_syncs_through_each_network(tmp_path: Path) -> None:
    from tests.e2e.processes import (
        relay_server,
        require_x_tools,
        start_editor,
        stop,
        wait_for_window,
        window_geometry,
        xdo,
        xvfb,
    )
    from tests.interop.node_client import NodeClient, ensure_node_packages

    require_x_tools()
    require_network_tools()
    node = ensure_node_packages()
    with xvfb("1000x760x24") as display, relay_server(tmp_path / "server") as relay_url:
        for n, kind in enumerate(NETWORKS):
            room = f"net-{n}"
            work = tmp_path / f"net-{n}"
            with network(kind, relay_url, work / "middlebox") as (url, proxy_env):
                before = await asyncio.to_thread(relay_metrics, relay_url)
                stock = await NodeClient.start(node, relay_url, room, work / "node.log")
                data = work / "editor"
                log = work / "editor.log"
                app = start_editor(
                    [f"{url}/{room}", "--data-dir", str(data), "--name", f"N{n}"],
                    display,
                    log,
                    extra_env=proxy_env,
                )
                try:
                    await stock.wait_synced()
                    window = await asyncio.to_thread(wait_for_window, display, "Coscribe", app, log)
                    x, y, w, h = await asyncio.to_thread(window_geometry, display, window)
                    page = (str(x + w // 2), str(y + h // 2))
                    await asyncio.to_thread(xdo, display, "mousemove", *page, "click", "1")
                    typed = f"typed over {kind}"
                    await asyncio.to_thread(xdo, display, "type", "--delay", "10", typed)
                    await stock.wait_text(typed, within=20)
                    await stock.insert(len(typed), " + stock Yjs")
                    await wait_until(
                        lambda d=data, u=f"{url}/{room}": local_copy(d, u).endswith("stock Yjs"),
                        f"{kind}: the stock client's text in the editor",
                        within=20,
                    )
                    await asyncio.to_thread(
                        assert_went_through, kind, relay_url, work / "middlebox", before
                    )
                    await asyncio.to_thread(xdo, display, "key", "ctrl+q")
                    assert await asyncio.to_thread(app.wait, 20) == 0, log.read_text()
                finally:
                    stop(app)
                    await stock.aclose()
