"""Headless editors: one document of the editor with its real SyncClient, and no window."""

from __future__ import annotations

from typing import Any

import pycrdt

from editor_app.core.schema import content
from editor_app.core.sync_client import Status, SyncClient
from shared import Origin


class HeadlessEditor:
    """A document, its text and awareness, and the editor's ``SyncClient`` on ``url``.

    ``user`` names the person in the awareness state; ``client_options`` go to the client
    (``connection=`` a shared ``ServerConnection``, ``token=``, ``backoff=``, ...).
    """

    def __init__(self, url: str, *, user: str | None = None, **client_options: Any) -> None:
        self.doc: pycrdt.Doc[Any] = pycrdt.Doc()
        self.text = content(self.doc)
        self.awareness = pycrdt.Awareness(self.doc)
        if user is not None:
            self.awareness.set_local_state({"user": {"name": user}})
        self.client = SyncClient(url, self.doc, self.awareness, **client_options)

    @property
    def status(self) -> Status:
        return self.client.status.status

    def type(self, s: str) -> None:
        """Type ``s`` at the end of the text, as the editor does."""
        with self.doc.transaction(origin=Origin.LOCAL_EDIT):
            self.text.insert(len(str(self.text).encode()), s)
