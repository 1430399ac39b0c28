"""The orchestrator's handle on one load-generator process (bench/loadgen.py)."""

from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path
from typing import Any

from servers import BENCH_DIR


class WorkerError(RuntimeError):
    """A worker died, timed out, or said something unexpected."""


class Worker:
    """One ``loadgen.py ROLE`` process, talked to line by line; always reaped by ``stop``."""

    def __init__(self, role: str, cfg: dict[str, Any], work_dir: Path, tag: str) -> None:
        self.role = role
        self.tag = tag
        self._cfg_path = work_dir / f"{tag}.json"
        self._log_path = work_dir / f"{tag}.log"
        cfg = dict(cfg, out=str(work_dir / f"{tag}.result.json"))
        self._cfg_path.write_text(json.dumps(cfg))
        self._proc: asyncio.subprocess.Process | None = None

    async def start(self) -> None:
        log = self._log_path.open("wb")
        try:
            self._proc = await asyncio.create_subprocess_exec(
                sys.executable,
                str(BENCH_DIR / "loadgen.py"),
                self.role,
                str(self._cfg_path),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                stderr=log,
                cwd=BENCH_DIR,
            )
        finally:
            log.close()

    async def expect(self, word: str, limit_s: float) -> str:
        """Wait for a line starting with ``word``; return the rest of it."""
        assert self._proc is not None and self._proc.stdout is not None
        try:
            async with asyncio.timeout(limit_s):
                while True:
                    raw = await self._proc.stdout.readline()
                    if not raw:
                        raise WorkerError(f"{self.tag} exited early: {self.log_tail()}")
                    line = raw.decode().strip()
                    if line.startswith(word):
                        return line[len(word) :].strip()
        except TimeoutError:
            raise WorkerError(f"{self.tag}: no {word} within {limit_s:.0f} s") from None

    def send(self, line: str) -> None:
        assert self._proc is not None and self._proc.stdin is not None
        if self._proc.returncode is None:
            self._proc.stdin.write((line + "\n").encode())

    async def result(self, limit_s: float) -> dict[str, Any]:
        path = await self.expect("RESULT", limit_s)
        data: dict[str, Any] = json.loads(await asyncio.to_thread(Path(path).read_text))
        return data

    def log_tail(self) -> str:
        return self._log_path.read_text(errors="replace")[-3000:] if self._log_path.exists() else ""

    async def stop(self) -> None:
        """Close stdin (the worker treats EOF as "stop"), then kill it if it lingers."""
        proc = self._proc
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            async with asyncio.timeout(30):
                await proc.wait()
        except TimeoutError:
            proc.kill()
            await proc.wait()
