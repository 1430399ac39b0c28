"""Drive a stock JavaScript Yjs client (``node/client.mjs``) from Python.

The Node process runs yjs + y-websocket's ``WebsocketProvider`` exactly as a browser editor
would, and obeys JSON-line commands on stdin (see the header of ``client.mjs``). Text
indexes and lengths given to it are UTF-16 code units, as Yjs counts them.

Its stderr goes to a file, never a pipe: a pipe nobody reads could fill up and stall the
client, and the file can be read at any moment to check that y-websocket logged nothing
(it logs ``Unable to compute message`` when a server sends an unknown message type).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import shutil
import signal
import subprocess
from pathlib import Path
from typing import Any

from tests.support.waiting import DEADLINE

NODE_DIR = Path(__file__).resolve().parent / "node"
CLIENT_SCRIPT = NODE_DIR / "client.mjs"
REFERENCE_SERVER_SCRIPT = NODE_DIR / "reference-server.mjs"

#: The packages client.mjs and reference-server.mjs import; if any is missing, `npm ci`.
REQUIRED_PACKAGES = ("yjs", "y-websocket", "ws", "y-protocols", "@y/websocket-server")


class NodeUnavailable(RuntimeError):
    """Node.js or the pinned npm packages cannot be made available."""


def ensure_node_packages(npm_timeout: float = 180.0) -> str:
    """Return the path of ``node``, installing the pinned npm packages first if needed.

    ``npm ci`` installs exactly what ``node/package-lock.json`` records, so every run of the
    interop suite talks to the same yjs/y-websocket versions.

    Raises:
        NodeUnavailable: node or npm is not on PATH, or ``npm ci`` failed.
    """
    node = shutil.which("node")
    if node is None:
        raise NodeUnavailable(
            "the interop tests need Node.js (>= 18) on PATH to run stock Yjs clients; "
            "install it (e.g. `apt-get install nodejs npm`) or deselect with `-m 'not interop'`"
        )
    modules = NODE_DIR / "node_modules"
    if all((modules / name / "package.json").is_file() for name in REQUIRED_PACKAGES):
        return node
    npm = shutil.which("npm")
    if npm is None:
        raise NodeUnavailable(f"node is at {node} but npm is not on PATH; cannot run `npm ci`")
    try:
        done = subprocess.run(
            [npm, "ci", "--no-audit", "--no-fund"],
            cwd=NODE_DIR,
            capture_output=True,
            text=True,
            timeout=npm_timeout,
            check=False,
        )
    except subprocess.TimeoutExpired as exc:
        raise NodeUnavailable(f"`npm ci` in {NODE_DIR} did not finish in {npm_timeout} s") from exc
    if done.returncode != 0:
        raise NodeUnavailable(
            f"`npm ci` in {NODE_DIR} failed ({done.returncode}):\n{done.stdout}\n{done.stderr}"
        )
    return node


class NodeClientError(AssertionError):
    """The Node client answered a command with an error, died, or did not answer in time."""


class NodeClient:
    """One running ``client.mjs`` process: a stock Yjs peer on one document.

    Create with :meth:`start`; always :meth:`aclose` (the ``node_clients`` fixture does).
    """

    def __init__(self, process: asyncio.subprocess.Process, stderr_path: Path) -> None:
        self._process = process
        self._stderr_path = stderr_path
        self._next_id = 0
        # Commands are strictly request/reply; the lock keeps two coroutines from
        # interleaving their lines on one pipe.
        self._lock = asyncio.Lock()

    @classmethod
    async def start(cls, node: str, server_url: str, room: str, stderr_path: Path) -> NodeClient:
        with stderr_path.open("wb") as stderr:
            process = await asyncio.create_subprocess_exec(
                node,
                str(CLIENT_SCRIPT),
                server_url,
                room,
                cwd=NODE_DIR,
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=stderr,
                env=node_env(),
                limit=2**22,
            )
        return cls(process, stderr_path)

    # ------------------------------------------------------------------ plumbing

    @property
    def running(self) -> bool:
        return self._process.returncode is None

    def stderr_text(self) -> str:
        """Everything the Node process wrote to stderr so far."""
        return self._stderr_path.read_text(encoding="utf-8", errors="replace")

    async def call(self, cmd: str, *, within: float = DEADLINE, **args: Any) -> Any:
        """Send one command and return its result.

        Raises:
            NodeClientError: the command failed, the process died, or no reply in time.
        """
        async with self._lock:
            self._next_id += 1
            request_id = self._next_id
            stdin, stdout = self._process.stdin, self._process.stdout
            assert stdin is not None and stdout is not None
            line = json.dumps({"id": request_id, "cmd": cmd, **args}, ensure_ascii=False)
            try:
                stdin.write(line.encode("utf-8") + b"\n")
                await stdin.drain()
                raw = await asyncio.wait_for(stdout.readline(), within)
            except TimeoutError:
                raise NodeClientError(
                    f"node client did not answer {cmd!r} in {within} s; "
                    f"stderr: {self.stderr_text()!r}"
                ) from None
            except (BrokenPipeError, ConnectionResetError):
                raw = b""
            if not raw:
                raise NodeClientError(
                    f"node client exited ({self._process.returncode}) during {cmd!r}; "
                    f"stderr: {self.stderr_text()!r}"
                )
            reply = json.loads(raw)
            if reply.get("id") != request_id:
                raise NodeClientError(f"reply {reply!r} does not answer request {request_id}")
            if not reply["ok"]:
                raise NodeClientError(f"node client: {cmd!r} failed: {reply['error']}")
            return reply["result"]

    # ------------------------------------------------------------------ commands

    async def client_id(self) -> int:
        return int(await self.call("client_id"))

    async def wait_synced(self, within: float = DEADLINE) -> None:
        """Wait until the provider received the server's sync step 2."""
        await self.call("wait_synced", within=within + 1, ms=int(within * 1000))

    async def insert(self, index: int, text: str, attrs: dict[str, Any] | None = None) -> None:
        """Insert at a UTF-16 index."""
        await self.call("insert", index=index, text=text, attrs=attrs)

    async def delete(self, index: int, length: int) -> None:
        """Delete ``length`` UTF-16 code units at ``index``."""
        await self.call("delete", index=index, length=length)

    async def insert_cp(self, cp: int, text: str) -> None:
        """Insert at code point ``cp`` of the text as it is when Node runs the command.

        For concurrent tests: an index computed from an earlier ``text()`` may be stale
        by then and fall inside a surrogate pair.
        """
        await self.call("insert_cp", cp=cp, text=text)

    async def delete_cp(self, cp: int, count: int) -> None:
        """Delete ``count`` code points at code point ``cp`` (resolved in Node, see insert_cp)."""
        await self.call("delete_cp", cp=cp, count=count)

    async def code_points(self) -> int:
        return int(await self.call("code_points"))

    async def format(self, index: int, length: int, attrs: dict[str, Any]) -> None:
        """Apply Quill-style attributes to a UTF-16 range."""
        await self.call("format", index=index, length=length, attrs=attrs)

    async def text(self) -> str:
        return str(await self.call("text"))

    async def length(self) -> int:
        """Length in UTF-16 code units (Yjs' ``Y.Text.length``)."""
        return int(await self.call("length"))

    async def delta(self) -> list[dict[str, Any]]:
        """``Y.Text.toDelta()``: ``[{"insert": str, "attributes"?: {...}}, ...]``."""
        result: list[dict[str, Any]] = await self.call("delta")
        return result

    async def wait_text(self, expected: str, within: float = DEADLINE) -> None:
        """Wait (event-driven, in Node) until the document text equals ``expected``."""
        await self.call("wait_text", within=within + 1, text=expected, ms=int(within * 1000))

    async def set_presence(self, state: dict[str, Any] | None) -> int:
        """Set the local awareness state; returns the awareness client id."""
        return int(await self.call("set_awareness", state=state))

    async def awareness_states(self) -> dict[int, dict[str, Any]]:
        """``awareness.getStates()`` keyed by client id."""
        states: dict[str, dict[str, Any]] = await self.call("awareness_states")
        return {int(k): v for k, v in states.items()}

    async def received_types(self) -> dict[int, int]:
        """How many messages of each top-level type the server sent this client."""
        counts: dict[str, int] = await self.call("received_types")
        return {int(k): v for k, v in counts.items()}

    async def disconnect(self) -> None:
        """``provider.disconnect()``: close the WebSocket without a goodbye message."""
        await self.call("disconnect")

    # ------------------------------------------------------------------ lifecycle

    async def kill(self) -> None:
        """SIGKILL: the connection drops with no goodbye at all (a crashed tab)."""
        if self.running:
            self._process.send_signal(signal.SIGKILL)
        await asyncio.wait_for(self._process.wait(), DEADLINE)

    async def aclose(self) -> None:
        """Quit politely; kill if the process does not exit in time. Idempotent."""
        if self.running:
            stdin = self._process.stdin
            assert stdin is not None
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                stdin.close()  # client.mjs exits when stdin closes
            try:
                await asyncio.wait_for(self._process.wait(), DEADLINE)
            except TimeoutError:
                self._process.kill()
                await self._process.wait()
        else:
            await self._process.wait()


def reference_server_command(node: str) -> list[str]:
    """argv of the y-websocket reference server (prints its URL when ready)."""
    return [node, str(REFERENCE_SERVER_SCRIPT), "127.0.0.1"]


def node_env() -> dict[str, str]:
    """Environment for Node subprocesses: ours, minus anything that would make Node chatty."""
    env = dict(os.environ)
    env.pop("NODE_OPTIONS", None)
    return env
