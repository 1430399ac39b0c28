"""Protocol-level limits shared by client and server, in one frozen object.

Server-only limits (queues, rooms, rates) live in ``sync_server.config.ServerConfig``,
which embeds one of these.
"""

from __future__ import annotations

from dataclasses import dataclass

#: The WebSocket subprotocol that turns on Coscribe's extensions (see docs/protocol.md).
SUBPROTOCOL = "coscribe.v1"

#: One session per server: documents multiplexed over one reliable link, carried by a
#: WebSocket or by HTTP long polls (``shared.reliable``, ``shared.mux``, docs/protocol.md).
SUBPROTOCOL_V2 = "coscribe.v2"

#: Largest value a varUint may carry. Yjs encodes in JavaScript numbers, so anything
#: above 2**53 cannot come from a well-behaved peer.
MAX_VAR_UINT = 2**53 - 1


@dataclass(frozen=True, slots=True)
class ProtocolLimits:
    """Sizes that bound what one message may carry."""

    #: Largest WebSocket message accepted. A full-document sync of a multi-MB document
    #: has to fit, so the default is generous; larger messages close with 1009.
    max_message_size: int = 64 * 1024 * 1024
    #: Largest JSON state one client may publish in an awareness update.
    max_awareness_state_size: int = 64 * 1024
    #: Largest number of client entries in one awareness update.
    max_awareness_entries: int = 1024
    #: Longest document name.
    max_document_name_length: int = 128
    #: Updates a server session holds back because what they build on has not arrived
    #: yet (see ``shared.update_gate.MissingDependencies``), and their total size. Over
    #: either, the update is refused and the connection closed (1007).
    max_held_updates: int = 32
    max_held_bytes: int = 1024 * 1024


DEFAULT_LIMITS = ProtocolLimits()
