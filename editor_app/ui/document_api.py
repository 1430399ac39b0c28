"""The document's HTTP API (versions, links) for a window's connection.

The dialogs that call the API (Version history, Share) reach the server the way the
window's WebSocket does: the same proxy choice and TLS context, taken from the shared
:class:`~editor_app.core.server_connection.ServerConnection` when there is one.
"""

from __future__ import annotations

from editor_app.core.api_client import HistoryClient
from editor_app.qt.connection_model import ConnectionModel


def document_api(connection: ConnectionModel) -> HistoryClient:
    """A :class:`HistoryClient` for ``connection``'s document (the caller closes it)."""
    shared = connection.connection
    return HistoryClient(
        connection.link.url,
        proxy=shared.proxy_resolver if shared is not None else None,
        ssl=shared.ssl if shared is not None else None,
    )
