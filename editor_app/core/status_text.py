"""The words the user sees for each connection status, in one place.

The status bar, the tests and the user guide (docs/editor.md) agree on this vocabulary;
"All changes saved" is only ever shown when the sync client says the server acknowledged
every local update. Qt-free: :class:`~editor_app.qt.connection_model.ConnectionModel`
turns these into signals.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .sync_client import ClientStatus

# Exact texts the user sees (the user guide quotes them; tests assert them).
TEXT_CONNECTING = "Connecting…"
TEXT_OFFLINE = "Can't reach the server — changes saved on this computer"
TEXT_BLOCKED = "A proxy or firewall blocks the connection — changes saved on this computer"
TEXT_PROXY_AUTH = "The proxy needs a password — enter it in File › Preferences… (Proxy)"
TEXT_REVOKED = "This link was revoked — ask the document's owner for a new link"
TEXT_EXPIRED = "Access link expired — ask for a new link, then use File › Open link…"
#: Shown next to the status while the connection uses HTTP long polling.
TEXT_COMPATIBILITY = "A proxy or firewall blocks live connections — using compatibility mode"
TEXT_SAVING = "Saving…"
TEXT_SAVED = "All changes saved"
TEXT_SYNCED = "Connected — this server does not confirm saves"
TEXT_CLOSED = "Closed"


def status_text(status: ClientStatus) -> tuple[str, str]:
    """Map a sync-client status to ``(text, kind)``; ``kind`` is the lower-case status name
    (``connecting``, ``offline``, ``saving``, ``saved``, ``synced``, ``denied``,
    ``proxy_auth``, ``conflict``, ``closed``), which the badge uses for its color.

    Only the server's own refusals are "Access denied": a 426 or a 502 from something in
    between is OFFLINE with ``problem`` "blocked" or "unreachable" (see ``SyncClient``).
    DENIED with ``problem`` "revoked" (close code 4410, or a 403 the server marks
    ``revoked``) is "This link was revoked"; "expired" (4408, or the server's ``expired``)
    is "Access link expired"."""
    kind = status.status.name.lower()
    detail = status.detail.strip()
    if kind == "connecting":
        return TEXT_CONNECTING, kind
    if kind == "offline":
        return (TEXT_BLOCKED if status.problem == "blocked" else TEXT_OFFLINE), kind
    if kind == "proxy_auth":
        return TEXT_PROXY_AUTH, kind
    if kind == "saving":
        return TEXT_SAVING, kind
    if kind == "saved":
        return TEXT_SAVED, kind
    if kind == "synced":  # a plain y-websocket server: in sync, but no durable-save acks
        return TEXT_SYNCED, kind
    if kind == "denied":
        # ``problem`` is set from the close code (4410, 4408) or the server's refusal kind
        # (``X-Coscribe-Refusal: revoked`` with its 403); the detail words are the fallback
        # for servers that send neither.
        if status.problem == "revoked" or (not status.problem and "revoked" in detail.lower()):
            return TEXT_REVOKED, kind
        if status.problem == "expired" or (not status.problem and "expired" in detail.lower()):
            return TEXT_EXPIRED, kind
        return (f"Access denied — {detail}" if detail else "Access denied"), kind
    if kind == "conflict":
        text = "Conflict — the server's copy of this document was re-created"
        return (f"{text} ({detail})" if detail else text), kind
    if kind == "closed":
        return TEXT_CLOSED, kind
    return (f"{status.status.name.title()} — {detail}" if detail else status.status.name), kind
