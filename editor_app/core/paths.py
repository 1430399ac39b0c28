"""Where the editor keeps its local state (document copies, recent list, settings).

Precedence: ``--data-dir`` on the command line, then ``COSCRIBE_DATA_DIR``, then the
platform's per-user data directory ("Coscribe"). Tests and a second instance on one
machine set one of the first two so they never touch the user's real data.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from platformdirs import user_data_dir

ENV_VAR = "COSCRIBE_DATA_DIR"
APP_NAME = "Coscribe"
#: The data directory the application resolved (:func:`resolve_data_dir`), for state that
#: belongs to the whole process rather than to one window (the personal word list).
_resolved: Path | None = None


def data_dir(
    cli_value: str | os.PathLike[str] | None = None, environ: Mapping[str, str] | None = None
) -> Path:
    """Resolve (and create) the data directory.

    Args:
        cli_value: the ``--data-dir`` argument, if given.
        environ: the environment to read (``os.environ`` by default; injectable for tests).
    """
    env = os.environ if environ is None else environ
    if cli_value:
        path = Path(cli_value)
    elif env.get(ENV_VAR):
        path = Path(env[ENV_VAR])
    else:
        path = Path(user_data_dir(APP_NAME, appauthor=False))
    path = path.expanduser()
    path.mkdir(parents=True, exist_ok=True)
    return path


def resolve_data_dir(cli_value: Path | None) -> Path:
    """Where local state lives: ``--data-dir`` wins, then ``COSCRIBE_DATA_DIR``, then the
    platform's per-user data directory (:func:`data_dir`; created), as an absolute path."""
    global _resolved
    _resolved = data_dir(cli_value).resolve()
    return _resolved


def active_data_dir() -> Path:
    """The data directory the application resolved last, else the default one
    (``COSCRIBE_DATA_DIR`` or the per-user directory; created)."""
    return _resolved if _resolved is not None else data_dir()
