"""Quill-style runs -> Markdown, with emphasis that always nests properly.

Input is the shape :func:`editor_app.qt.formats.document_delta` gives: ``[(text, attrs)]``
where every ``"\\n"`` is its own run carrying the block attributes of the line it ends
(Quill), text runs carry inline attributes, and the last line may have no ``"\\n"``.

Markup (read back by Qt's Markdown reader, md4c, GitHub dialect, and by most others):

============  ===================================
bold          ``**text**``
italic        ``*text*``
underline     ``<u>text</u>`` (Markdown has none; ``_`` means italic elsewhere)
strike        ``~~text~~``
link          ``[text](url)``
header n      ``#`` x n
list          ``- `` / ``1. `` (numbered on), one line each, no blank line between items
image         ``![alt](url)``, ``![ ](url)`` without alt (the URL as stored: a
              ``data:`` URL keeps the picture in the file; Qt's reader reads it back)
============  ===================================

An image is a run of U+FFFC whose attributes hold ``"image"`` (the URL) and Quill's
``alt``, as :func:`editor_app.qt.formats.document_delta` gives it; each U+FFFC of such a
run is one picture. A U+FFFC without an image (an embed Coscribe does not know) is left out.

Nesting: markers are kept on a stack; at a run boundary the markers no longer active are
closed in reverse order of opening (and any opened after them are closed and reopened),
so the output never interleaves like ``*_x*_`` (what Qt's own writer produced, issue 13).
Emphasis cannot start or end with a space in Markdown, so edge spaces of a run are moved
outside its markers.
"""

from __future__ import annotations

import html
import re
from typing import Any

from .images import IMAGE_KEY
from .offsets import EMBED_CHAR

Attrs = dict[str, Any]
Run = tuple[str, Attrs]

#: Inline attributes in the order their markers are opened (outermost first): the ones
#: written as punctuation or tags go outside, so ``*``-emphasis sits next to letters.
_ORDER = ("link", "underline", "bold", "italic", "strike")
_ESCAPE = re.compile(r"([\\`*_\[\]<>~#|])")
_MARK = {"bold": "**", "italic": "*", "strike": "~~"}
_TAG = {"bold": "strong", "italic": "em", "strike": "del", "underline": "u"}
_PUNCT = re.compile(r"[^\w\s]")


def _escape(text: str) -> str:
    return _ESCAPE.sub(r"\\\1", text)


def _url(value: Any) -> str:
    return str(value).replace(" ", "%20").replace("(", "%28").replace(")", "%29")


def _body(text: str, attrs: Attrs) -> str:
    """A run's text as Markdown: escaped, each image as ``![alt](url)``."""
    source = attrs.get(IMAGE_KEY)
    if isinstance(source, str) and source:
        # An empty alt is written as one space: Qt's reader drops ``![](url)`` entirely.
        alt = _escape(str(attrs.get("alt") or "").replace("\n", " ").strip()) or " "
        picture = f"![{alt}]({_url(source)})"
        return _escape(text).replace(EMBED_CHAR, picture)
    return _escape(text.replace(EMBED_CHAR, ""))


def _inline(runs: list[Run]) -> str:
    """One line's runs as Markdown with properly nested markers.

    ``**``/``*``/``~~`` are used only where CommonMark cannot misread them: for the
    innermost marker of a single run whose text starts and ends with a letter or digit,
    after a space or a letter. Everything else (a format spanning several
    runs, outer markers) is written as the HTML tag, which every reader understands (Qt's
    included), so the output always nests and always reads back the same.
    """
    out: list[str] = []
    stack: list[tuple[str, Any, str]] = []  # (key, value, closing text)

    def close_to(depth: int) -> None:
        while len(stack) > depth:
            out.append(stack.pop()[2])

    def last_char() -> str:
        for piece in reversed(out):
            if piece:
                return piece[-1]
        return " "

    wanted_by_run = [
        [(k, attrs[k]) for k in _ORDER if attrs.get(k) not in (None, False)] for _, attrs in runs
    ]
    for i, (text, attrs) in enumerate(runs):
        if not text:
            continue
        wanted = wanted_by_run[i]
        following = wanted_by_run[i + 1] if i + 1 < len(runs) else []
        keep = 0
        while keep < min(len(stack), len(wanted)) and stack[keep][:2] == wanted[keep]:
            keep += 1
        close_to(keep)
        core = text.strip(" ")
        if not core:
            out.append(text)
            continue
        lead = text[: len(text) - len(text.lstrip(" "))]
        trail = text[len(text.rstrip(" ")) :]
        out.append(lead)
        new = wanted[len(stack) :]
        for j, (key, value) in enumerate(new):
            if key == "link" and any(k == "underline" for k, _ in new):
                # Qt's reader drops a Markdown link whose text holds a tag: the HTML link.
                opening, closing = f'<a href="{html.escape(str(value))}">', "</a>"
            elif key == "link":
                opening, closing = "[", f"]({_url(value)})"
            else:
                simple = (
                    key in _MARK
                    and j == len(new) - 1
                    and (trail or (key, value) not in following)
                    and (core[0].isalnum() and core[-1].isalnum())
                    and (last_char().isspace() or last_char().isalnum() or last_char() == "[")
                )
                if simple:
                    opening = closing = _MARK[key]
                else:
                    opening, closing = f"<{_TAG[key]}>", f"</{_TAG[key]}>"
            stack.append((key, value, closing))
            out.append(opening)
        out.append(_body(core, attrs))
        if trail:
            close_to(0)
            out.append(trail)
    close_to(0)
    return "".join(out)


def to_markdown(runs: list[Run]) -> str:
    """The document ``runs`` as Markdown text (ends with one newline)."""
    lines: list[tuple[list[Run], Attrs]] = []
    current: list[Run] = []
    for text, attrs in runs:
        if text == "\n":
            lines.append((current, attrs))
            current = []
        else:
            current.append((text, attrs))
    if current:
        lines.append((current, {}))
    out: list[str] = []
    number = 0
    previous_list: str | None = None
    for line_runs, block in lines:
        body = _inline(line_runs)
        kind = block.get("list")
        header = block.get("header")
        if kind in ("bullet", "ordered", "checked", "unchecked"):
            number = number + 1 if previous_list == kind else 1
            if kind == "ordered":
                prefix = f"{number}. "
            elif kind == "checked":
                prefix = "- [x] "
            elif kind == "unchecked":
                prefix = "- [ ] "
            else:
                prefix = "- "
            if previous_list is not None and previous_list != kind:
                out.append("")
            out.append(prefix + body)
            previous_list = kind
            continue
        if previous_list is not None:
            out.append("")
        previous_list = None
        if not body.strip():
            continue  # Markdown has no empty paragraphs
        if header:
            out.append("#" * max(1, min(6, int(header))) + " " + body)
        else:
            out.append(_escape_line_start(body))
        out.append("")
    while out and out[-1] == "":
        out.pop()
    return "\n".join(out) + "\n"


def _escape_line_start(line: str) -> str:
    """A paragraph that would read as a list item or a rule is escaped."""
    match = re.match(r"^(\s*)(\d+)([.)])", line)
    if match:
        return f"{match.group(1)}{match.group(2)}\\{match.group(3)}{line[match.end() :]}"
    if re.match(r"^\s*[-+=]", line):
        stripped = line.lstrip()
        return line[: len(line) - len(stripped)] + "\\" + stripped
    return line
