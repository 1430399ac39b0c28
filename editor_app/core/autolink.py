"""Web addresses typed into the text become links, as Google Docs does ("Automatically
detect links"): ``https://…``, ``http://…`` or ``www.…`` followed by a space or Enter.

Qt-free: which text is an address is decided here; the editor widget links it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

#: The last word of the text before the caret, if it starts like an address (after the
#: start of the line, a space or an opening bracket or quote).
_LAST_WORD = re.compile(r"""(?:^|(?<=[\s(\[<{"'“‘«]))((?:https?://|www\.)\S+)$""", re.IGNORECASE)
#: A host after the scheme (``https://x``) or a dotted name after ``www.``.
_HOST = re.compile(r"^(?:https?://[^\s/?#.][^\s/?#]*|www\.[^\s/?#.]+\.[^\s/?#]+)", re.IGNORECASE)
#: Punctuation that ends a sentence rather than the address ("see https://x.org.").
_TRAILING = frozenset(".,;:!?'\"”’»>")
_PAIRS = {")": "(", "]": "[", "}": "{"}


@dataclass(frozen=True)
class TypedAddress:
    """An address at the end of some text: ``text`` as typed (without the punctuation
    after it), the ``href`` it links to, and how many characters follow it."""

    text: str
    href: str
    after: int


def address_at_end(text: str) -> TypedAddress | None:
    """The web address ``text`` ends with (the word before a space just typed), if any."""
    match = _LAST_WORD.search(text)
    if match is None:
        return None
    word = match.group(1)
    end = len(word)
    while end:
        last = word[end - 1]
        opening = _PAIRS.get(last)
        if last in _TRAILING or (
            opening is not None and word[:end].count(opening) < word[:end].count(last)
        ):
            end -= 1  # a closing bracket is the address's only if it opened one
            continue
        break
    address = word[:end]
    if _HOST.match(address) is None:
        return None
    href = address if "://" in address else f"https://{address}"
    return TypedAddress(address, href, len(word) - end)


def addresses_in(text: str) -> list[tuple[int, int, str]]:
    """Every web address in ``text`` (pasted text): ``(start, end, href)`` in code points,
    each a whitespace-separated word's address as :func:`address_at_end` finds it."""
    found = []
    for word in re.finditer(r"\S+", text):
        typed = address_at_end(word.group())
        if typed is not None:
            end = word.end() - typed.after
            found.append((end - len(typed.text), end, typed.href))
    return found


#: The links the editor opens (in the browser, the mail or phone program): Quill 2's own
#: whitelist (its link format shows any other as ``about:blank``). A collaborator can put
#: any address in a link; ``file:``, ``javascript:``, ``smb:`` or an app's own scheme
#: could read files or start programs, so those are shown but never opened, and exports
#: write them as :data:`DEFUSED_LINK`.
OPENABLE_SCHEMES = frozenset({"http", "https", "mailto", "tel", "sms"})
_HOSTLESS = frozenset({"mailto", "tel", "sms"})
DEFUSED_LINK = "about:blank"


def openable(href: str) -> bool:
    """Whether the link ``href`` may be opened: a web address with a host, or a mail,
    phone or text-message address."""
    try:
        parts = urlsplit(href.strip())
    except ValueError:
        return False
    scheme = parts.scheme.lower()
    if scheme not in OPENABLE_SCHEMES:
        return False
    return scheme in _HOSTLESS or bool(parts.netloc)
