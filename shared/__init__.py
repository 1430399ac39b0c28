"""Coscribe's shared core: wire protocol, sans-I/O sync session, document schema.

Pure Python over pycrdt: nothing here imports asyncio, websockets or Qt.
"""

from .access import Role
from .docnames import document_name_from_path, document_url, validate_document_name
from .errors import (
    AwarenessRejected,
    CloseCode,
    CollabError,
    DecodeError,
    InvalidDocumentName,
    InvalidState,
    InvalidUpdate,
    LocalError,
    PermissionDenied,
    ProtocolError,
    RemoteError,
    StorageError,
    UnknownMessageType,
)
from .limits import DEFAULT_LIMITS, SUBPROTOCOL, ProtocolLimits
from .origins import Origin, origin_matches
from .session import SyncSession
from .states import SessionState, Side

__all__ = [
    "DEFAULT_LIMITS",
    "SUBPROTOCOL",
    "AwarenessRejected",
    "CloseCode",
    "CollabError",
    "DecodeError",
    "InvalidDocumentName",
    "InvalidState",
    "InvalidUpdate",
    "LocalError",
    "Origin",
    "PermissionDenied",
    "ProtocolError",
    "RemoteError",
    "ProtocolLimits",
    "Role",
    "SessionState",
    "Side",
    "StorageError",
    "SyncSession",
    "UnknownMessageType",
    "document_name_from_path",
    "document_url",
    "origin_matches",
    "validate_document_name",
]
