"""The platform's proxy settings, as Qt reports them (Windows, macOS; on Linux and other
Unix systems Qt reads the same environment variables the core already honours).

``system_proxy`` is the ``system`` resolver of :func:`editor_app.core.proxy.make_resolver`:
QtNetwork stays in this layer, the core decides what to do with the answer.
"""

from __future__ import annotations

from urllib.parse import urlsplit, urlunsplit

from PySide6.QtCore import QUrl
from PySide6.QtNetwork import QNetworkProxy, QNetworkProxyFactory, QNetworkProxyQuery

from editor_app.core.proxy import Proxy


def system_proxy(url: str) -> Proxy | None:
    """The HTTP proxy the platform names for ``url`` (ws/wss are asked as http/https)."""
    parts = urlsplit(url)
    scheme = {"ws": "http", "wss": "https"}.get(parts.scheme, parts.scheme)
    query = QNetworkProxyQuery(QUrl(urlunsplit((scheme, parts.netloc, parts.path or "/", "", ""))))
    for proxy in QNetworkProxyFactory.systemProxyForQuery(query):
        kind = proxy.type()
        if kind == QNetworkProxy.ProxyType.NoProxy:
            return None
        if kind in (QNetworkProxy.ProxyType.HttpProxy, QNetworkProxy.ProxyType.HttpCachingProxy):
            return Proxy(
                proxy.hostName(),
                proxy.port() or 8080,
                proxy.user() or None,
                proxy.password() or None,
                "system settings",
            )
    return None
