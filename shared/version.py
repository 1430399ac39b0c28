"""The installed Coscribe version, for both programs' ``--version`` and the server banner."""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version


def package_version() -> str:
    """The installed coscribe version (package metadata), or "unknown" outside an install."""
    try:
        return version("coscribe")
    except PackageNotFoundError:
        return "unknown"
