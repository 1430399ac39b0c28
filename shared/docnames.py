"""Document names: the URL path of a WebSocket is the document's name.

Names are validated here, once, so that no other module ever has to worry about a name
being a path into the file system or an SQL fragment.
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

from .errors import InvalidDocumentName
from .limits import DEFAULT_LIMITS

_NAME_RE = re.compile(r"[A-Za-z0-9._-]+")


def validate_document_name(
    name: str, *, max_length: int = DEFAULT_LIMITS.max_document_name_length
) -> str:
    """Return ``name`` if it is a valid document name, else raise InvalidDocumentName.

    Valid: 1..max_length characters from ``[A-Za-z0-9._-]``, and not ``.`` or ``..``
    (so a name can never be a relative path, even in a storage backend that uses files).
    """
    if not name:
        raise InvalidDocumentName("document name is empty")
    if len(name) > max_length:
        raise InvalidDocumentName(f"document name is longer than {max_length} characters")
    if not _NAME_RE.fullmatch(name):
        raise InvalidDocumentName(
            "document name may only contain letters A-Z a-z, digits, '.', '_' and '-'"
        )
    if name in {".", ".."}:
        raise InvalidDocumentName("document name may not be '.' or '..'")
    return name


def document_name_from_path(
    path: str, *, max_length: int = DEFAULT_LIMITS.max_document_name_length
) -> str:
    """Extract and validate the document name from a request path like ``/notes?token=x``.

    The query string and fragment are ignored for naming; percent-escapes are decoded
    before validation (so ``%2F`` cannot smuggle a slash in).
    """
    parts = urlsplit(path)
    raw = unquote(parts.path)
    if raw.startswith("/"):
        raw = raw[1:]
    return validate_document_name(raw, max_length=max_length)


def document_url(base_url: str, name: str) -> str:
    """Join a server base URL (``ws://host:port`` or with a path prefix) and a document name."""
    validate_document_name(name)
    return base_url.rstrip("/") + "/" + name
