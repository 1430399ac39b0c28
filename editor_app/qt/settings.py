"""User preferences (display name, color, default server, proxy), remembered between runs.

Stored with QSettings in INI format at a path INSIDE the data dir, never in the platform's
default location: ``--data-dir``/``COSCRIBE_DATA_DIR`` must move *all* local state, so that
tests and a second instance on one machine never read or overwrite the user's real settings.
"""

from __future__ import annotations

import contextlib
import getpass
import os
import re
import secrets
from pathlib import Path

from PySide6.QtCore import QSettings

from editor_app.core.errors import InvalidColor
from editor_app.core.links import DEFAULT_SERVER
from editor_app.core.proxy import Proxy, ProxyMode, ProxyResolver, make_resolver

SETTINGS_FILE = "settings.ini"

# Readable, distinct colors for cursors and avatars: a new user's color is picked from these.
FALLBACK_PALETTE = (
    "#1a73e8",
    "#d93025",
    "#188038",
    "#e37400",
    "#9334e6",
    "#c5221f",
    "#007b83",
    "#b80672",
)
_COLOR_RE = re.compile(r"#[0-9a-fA-F]{6}")


def _default_name() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no passwd entry / no login name (containers)
        return "Anonymous"
    return user.capitalize() if user and user != "root" else "Anonymous"


def os_account_name() -> str:
    """The OS account's full name (GECOS), else its login name capitalised, else ""."""
    try:
        import pwd

        entry = pwd.getpwuid(os.getuid())
        full = entry.pw_gecos.split(",")[0].strip()
        login = entry.pw_name
    except (ImportError, KeyError, OSError, AttributeError):  # Windows, no passwd entry
        full, login = "", os.environ.get("USERNAME", "")
    return full or login.capitalize()


class Settings:
    """Typed access to the preferences file. Values are written through immediately."""

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / SETTINGS_FILE
        self._qs = QSettings(str(self.path), QSettings.Format.IniFormat)

    @property
    def display_name(self) -> str:
        value = self._qs.value("user/name", "")
        return str(value) if value else _default_name()

    @display_name.setter
    def display_name(self, name: str) -> None:
        self._qs.setValue("user/name", name.strip() or _default_name())
        self._qs.sync()

    @property
    def has_display_name(self) -> bool:
        """Whether the user ever chose a name (the first start asks for one)."""
        return bool(self._qs.value("user/name", ""))

    @property
    def color(self) -> str:
        """The user's cursor color; picked once at random and then remembered, so that
        collaborators see the same person in the same color every day."""
        value = str(self._qs.value("user/color", ""))
        if _COLOR_RE.fullmatch(value):
            return value
        color = secrets.choice(FALLBACK_PALETTE)
        self.color = color
        return color

    @color.setter
    def color(self, color: str) -> None:
        if not _COLOR_RE.fullmatch(color):
            raise InvalidColor(f"not a #rrggbb color: {color!r}")
        self._qs.setValue("user/color", color)
        self._qs.sync()

    @property
    def default_server(self) -> str:
        value = self._qs.value("server/default", "")
        return str(value) if value else DEFAULT_SERVER

    @default_server.setter
    def default_server(self, url: str) -> None:
        self._qs.setValue("server/default", url.strip().rstrip("/") or DEFAULT_SERVER)
        self._qs.sync()

    @property
    def spell_check(self) -> bool:
        """Whether misspelled words are underlined (View ▸ Spell check); on by default."""
        return str(self._qs.value("editor/spell_check", "true")).lower() not in ("false", "0")

    @spell_check.setter
    def spell_check(self, on: bool) -> None:
        self._qs.setValue("editor/spell_check", "true" if on else "false")
        self._qs.sync()

    @property
    def pageless(self) -> bool:
        """Whether the document is one continuous sheet (View ▸ Pageless); off by default."""
        return str(self._qs.value("editor/pageless", "false")).lower() in ("true", "1")

    @pageless.setter
    def pageless(self, on: bool) -> None:
        self._qs.setValue("editor/pageless", "true" if on else "false")
        self._qs.sync()

    # -- network -------------------------------------------------------------------------
    @property
    def proxy_mode(self) -> ProxyMode:
        """AUTO (environment, then the platform), MANUAL (below) or NONE."""
        try:
            return ProxyMode(str(self._qs.value("network/proxy_mode", ProxyMode.AUTO.value)))
        except ValueError:
            return ProxyMode.AUTO

    @property
    def manual_proxy(self) -> Proxy | None:
        """The proxy typed in Preferences (None if no host)."""
        host = str(self._qs.value("network/proxy_host", "")).strip()
        if not host:
            return None
        try:
            port = int(str(self._qs.value("network/proxy_port", "8080")))
        except ValueError:
            port = 8080
        user = str(self._qs.value("network/proxy_user", "")) or None
        password = str(self._qs.value("network/proxy_password", "")) or None
        return Proxy(host, port, user, password, "Preferences")

    def set_proxy(self, mode: ProxyMode, manual: Proxy | None) -> None:
        """Store the proxy choice. The password is kept in the settings file, which only
        the user can read (mode 0600)."""
        self._qs.setValue("network/proxy_mode", mode.value)
        self._qs.setValue("network/proxy_host", manual.host if manual else "")
        self._qs.setValue("network/proxy_port", str(manual.port) if manual else "")
        self._qs.setValue("network/proxy_user", (manual.username or "") if manual else "")
        self._qs.setValue("network/proxy_password", (manual.password or "") if manual else "")
        self._qs.sync()
        with contextlib.suppress(OSError):
            self.path.chmod(0o600)

    def websocket_blocked(self, server: str) -> bool:
        """Whether the WebSocket to ``server`` was blocked last time (NetworkMemory)."""
        return server in self._blocked_servers()

    def set_websocket_blocked(self, server: str, blocked: bool) -> None:
        servers = self._blocked_servers()
        if (server in servers) == blocked:
            return
        servers = servers | {server} if blocked else servers - {server}
        self._qs.setValue("network/websocket_blocked", "\n".join(sorted(servers)))
        self._qs.sync()

    def _blocked_servers(self) -> set[str]:
        value = str(self._qs.value("network/websocket_blocked", "") or "")
        return {line for line in value.split("\n") if line}

    def proxy_resolver(self, system: ProxyResolver | None = None) -> ProxyResolver:
        """The resolver for the stored choice; ``system`` is the platform's (Qt's)."""
        return make_resolver(self.proxy_mode, manual=self.manual_proxy, system=system)
