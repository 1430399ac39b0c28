"""Transaction origins, so that nothing a component applied comes back to it as an echo.

Every write to a document happens inside ``doc.transaction(origin=...)``. Observers skip
changes whose origin is their own (the Qt text binding skips LOCAL_EDIT, the local store
skips STORE_LOAD, the sync client only sends LOCAL_EDIT/LOCAL_UNDO changes).

Note (pycrdt 0.14): Text/Map/Array events expose ``event.transaction.origin`` as the
object given here, while ``Doc.observe`` TransactionEvents expose
``event.transaction.origin()`` as ``hash(origin)``; :func:`origin_matches` handles both.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Any


class Origin(StrEnum):
    LOCAL_EDIT = "coscribe.local-edit"  # the user typed in this process
    LOCAL_UNDO = "coscribe.local-undo"  # the UndoManager reverted a local edit
    REMOTE = "coscribe.remote"  # arrived from the network
    STORE_LOAD = "coscribe.store-load"  # loaded from a local or server store


def origin_matches(value: Any, origin: Origin) -> bool:
    """True if ``value`` (an origin object or its hash) designates ``origin``."""
    return value is origin or value == origin or value == hash(origin)
