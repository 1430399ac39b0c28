"""The roots of a Coscribe document and what each may hold (docs/schema.md has the long
version; the editor's accessors are in ``editor_app/core/schema.py``).

The server uses this to refuse updates that would put content where the editors cannot
show it (``shared.update_gate``) and to scope what a commenter may write. Roots that are
not listed here are left to whoever writes them (a stock Yjs app may add its own).
"""

from __future__ import annotations

from enum import Enum


class RootKind(Enum):
    TEXT = "text"  # a Y.Text: strings, embeds, formatting markers, embedded types
    MAP = "map"  # a Y.Map: one value per key
    ARRAY = "array"  # a Y.Array: values and types


#: The text of the document, with Quill attributes.
CONTENT = "content"
#: Document metadata (``title``).
META = "meta"
#: Comment threads (anchored with relative positions).
COMMENTS = "comments"

ROOTS: dict[str, RootKind] = {
    CONTENT: RootKind.TEXT,
    META: RootKind.MAP,
    COMMENTS: RootKind.MAP,
}

#: What a commenter may change: only the comment threads.
COMMENTER_ROOTS = frozenset({COMMENTS})
