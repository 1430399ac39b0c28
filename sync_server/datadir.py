"""The server's data directory: created if missing, checked writable, locked while in use.

The lock (an ``flock`` on ``server.lock``) stops two servers, or a ``delete`` command and a
running server, from using one directory at once.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from shared.errors import CollabError, StorageError


class DataDirLocked(CollabError):
    """Another process holds the data directory."""


def prepare_data_dir(path: Path) -> Path:
    """Create ``path`` if needed and prove it is writable; raise StorageError otherwise."""
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path, prefix=".probe-"):
            pass
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise StorageError(f"cannot write data directory {path}: {reason}") from None
    return path.resolve()


class DataDirLock:
    def __init__(self, data_dir: Path) -> None:
        self._path = data_dir / "server.lock"
        self._fd: int | None = None

    def acquire(self) -> None:
        try:
            import fcntl
        except ImportError:  # Windows: no advisory lock; SQLite still serialises writers
            return
        fd = os.open(self._path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 32).decode(errors="replace").strip() or "?"
            os.close(fd)
            raise DataDirLocked(
                f"data directory {self._path.parent} is in use by another coscribe-server "
                f"(pid {holder})"
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, str(os.getpid()).encode())
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
