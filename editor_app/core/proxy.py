"""Which HTTP proxy (if any) leads to a server: environment, platform, or the user's choice.

A :class:`ProxyResolver` maps a server URL to a :class:`Proxy` or None (direct). Three
sources, chosen in Preferences (:class:`ProxyMode`):

* ``AUTO`` (default): the standard environment first (``HTTPS_PROXY`` for ``wss://``,
  ``HTTP_PROXY`` for ``ws://``, then ``ALL_PROXY``; each also lower case, which wins;
  ``NO_PROXY`` lists hosts, domain suffixes, ``host:port``, IP addresses and CIDR blocks
  that go direct, ``*`` for all), then the platform's settings where Qt reports them (the
  Qt layer passes its ``QNetworkProxyFactory.systemProxyForQuery`` in as ``system``);
* ``MANUAL``: the host, port, user and password from Preferences, for every server;
* ``NONE``: always direct.

Only HTTP proxies are spoken (``CONNECT`` for tunnels, absolute-URI requests for plain
HTTP polls); a ``socks5://`` setting is reported and ignored. Qt-free.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import Enum
from urllib.parse import unquote, urlsplit

log = logging.getLogger(__name__)


class ProxyMode(Enum):
    AUTO = "auto"
    MANUAL = "manual"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class Proxy:
    """An HTTP proxy; ``source`` says where the setting came from (for the details view)."""

    host: str
    port: int
    username: str | None = None
    password: str | None = None
    source: str = ""

    @property
    def has_credentials(self) -> bool:
        return bool(self.username)

    def authorization(self) -> str | None:
        """The ``Proxy-Authorization`` value (Basic), or None without credentials."""
        if not self.username:
            return None
        raw = f"{self.username}:{self.password or ''}".encode()
        return "Basic " + base64.b64encode(raw).decode("ascii")

    def describe(self) -> str:
        where = f"{self.host}:{self.port}"
        if self.username:
            where = f"{self.username}@{where}"
        return f"{where} ({self.source})" if self.source else where


#: server URL (``ws://``, ``wss://``, ``http://``, ``https://``) -> the proxy to use, or None.
ProxyResolver = Callable[[str], Proxy | None]


def direct(url: str) -> Proxy | None:
    return None


def parse_proxy_url(value: str, source: str = "") -> Proxy | None:
    """``http://user:pass@host:port`` (or ``host:port``) -> Proxy; None if unusable."""
    value = value.strip()
    if not value:
        return None
    if "://" not in value:
        value = "http://" + value
    parts = urlsplit(value)
    if parts.scheme.lower() not in ("http", "https"):
        log.warning("ignoring proxy %s from %s: only HTTP proxies are supported", value, source)
        return None
    try:
        port = parts.port or (443 if parts.scheme.lower() == "https" else 80)
    except ValueError:
        log.warning("ignoring proxy from %s: bad port", source)
        return None
    if not parts.hostname:
        return None
    user = unquote(parts.username) if parts.username else None
    password = unquote(parts.password) if parts.password else None
    return Proxy(parts.hostname, port, user, password, source)


def _env(environ: Mapping[str, str], name: str) -> tuple[str, str] | None:
    for key in (name.lower(), name.upper()):
        value = environ.get(key)
        if value:
            return key, value
    return None


def bypasses(no_proxy: str, host: str, port: int) -> bool:
    """Whether ``NO_PROXY`` sends ``host:port`` direct (curl's rules, plus CIDR blocks)."""
    host = host.strip("[]").lower().rstrip(".")
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    for raw in no_proxy.split(","):
        entry = raw.strip().lower()
        if not entry:
            continue
        if entry == "*":
            return True
        entry_host, entry_port = entry, None
        if entry.count(":") == 1 or (entry.startswith("[") and "]:" in entry):
            entry_host, _, p = entry.rpartition(":")
            entry_port = int(p) if p.isdigit() else None
        entry_host = entry_host.strip("[]").rstrip(".")
        if entry_port is not None and entry_port != port:
            continue
        if address is not None:
            try:
                if address in ipaddress.ip_network(entry_host, strict=False):
                    return True
            except ValueError:
                pass
            continue
        suffix = entry_host.lstrip("*").lstrip(".")
        if host == suffix or host.endswith("." + suffix):
            return True
    return False


def proxy_from_environment(url: str, environ: Mapping[str, str] | None = None) -> Proxy | None:
    """The proxy the standard environment variables give for ``url`` (None: direct)."""
    env = os.environ if environ is None else environ
    parts = urlsplit(url)
    secure = parts.scheme in ("wss", "https")
    host = parts.hostname or ""
    port = parts.port or (443 if secure else 80)
    no_proxy = _env(env, "NO_PROXY")
    if no_proxy is not None and bypasses(no_proxy[1], host, port):
        return None
    found = _env(env, "HTTPS_PROXY" if secure else "HTTP_PROXY") or _env(env, "ALL_PROXY")
    if found is None:
        return None
    return parse_proxy_url(found[1], found[0])


def make_resolver(
    mode: ProxyMode,
    *,
    manual: Proxy | None = None,
    system: ProxyResolver | None = None,
    environ: Mapping[str, str] | None = None,
) -> ProxyResolver:
    """The resolver for a Preferences choice (see module docstring)."""
    if mode is ProxyMode.NONE:
        return direct
    if mode is ProxyMode.MANUAL:
        chosen = manual

        def manual_proxy(url: str) -> Proxy | None:
            return chosen

        return manual_proxy

    def auto(url: str) -> Proxy | None:
        env = os.environ if environ is None else environ
        found = proxy_from_environment(url, env)
        if found is not None:
            return found
        if any(_env(env, n) for n in ("HTTPS_PROXY", "HTTP_PROXY", "ALL_PROXY", "NO_PROXY")):
            return None  # the environment decided: direct
        return system(url) if system is not None else None

    return auto
