"""The shared document schema (docs/schema.md has the long version).

* ``content``: a root ``Y.Text`` holding the text with Quill-compatible attributes:
  Quill 2's formats, stored exactly as Quill and y-quill store them: inline ``bold``,
  ``italic``, ``underline``, ``strike``, ``code`` (True), ``link`` (URL), ``font``,
  ``size``, ``color``, ``background``, ``script`` on runs; block ``header`` (1-6),
  ``list``, ``align``, ``indent`` (1-8), ``blockquote``, ``code-block``, ``direction``
  (``"rtl"``) on the ``"\\n"``
  that ends the line (Quill's convention, so a web Quill/Yjs editor shows the same).
* ``meta``: a root ``Y.Map`` with ``title`` (str).

Accessing roots through these helpers keeps the names in one place.
"""

from __future__ import annotations

from typing import Any

import pycrdt

CONTENT = "content"
META = "meta"
TITLE = "title"

BLOCK_ATTRS = frozenset(
    {"header", "list", "align", "indent", "blockquote", "code-block", "direction"}
)
INLINE_ATTRS = frozenset(
    {
        "bold",
        "italic",
        "underline",
        "strike",
        "link",
        "font",
        "size",
        "color",
        "background",
        "script",
        "code",
    }
)
HEADER_LEVELS = frozenset({1, 2, 3, 4, 5, 6})
LIST_KINDS = frozenset({"bullet", "ordered", "checked", "unchecked"})
#: Quill 2's default whitelists (a web Quill shows exactly these).
FONTS = ("serif", "monospace")  # absent = the default sans-serif
SIZES = ("small", "large", "huge")  # absent = normal
ALIGNS = ("center", "right", "justify")  # absent = left
DIRECTIONS = ("rtl",)  # absent = left to right
SCRIPTS = ("super", "sub")
MAX_INDENT = 8


def content(doc: pycrdt.Doc[Any]) -> pycrdt.Text:
    """The document's text (created empty if the doc does not have it yet)."""
    text: pycrdt.Text = doc.get(CONTENT, type=pycrdt.Text)
    return text


def meta(doc: pycrdt.Doc[Any]) -> pycrdt.Map[Any]:
    """The document's metadata map (``title``)."""
    root: pycrdt.Map[Any] = doc.get(META, type=pycrdt.Map)
    return root


def title(doc: pycrdt.Doc[Any]) -> str:
    """The document title, or "" when none was set (or a peer stored a non-string)."""
    value = meta(doc).get(TITLE)
    return value if isinstance(value, str) else ""
