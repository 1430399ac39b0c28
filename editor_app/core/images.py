"""Images in documents: what is stored, and the size rules for what Coscribe writes.

Storage (docs/schema.md §2.4). An image is what Quill 2 and y-quill store: one embed
``{"image": "<url>"}`` in the ``content`` Y.Text (one CRDT unit), with Quill's optional
image attributes ``width``, ``height`` (pixels, as strings) and ``alt`` on it. Coscribe
writes inline ``data:`` URLs, as web Quill itself does on paste, so a web Quill on the same
document shows the same picture, offline editing works (the bytes travel with the text)
and version history keeps them. There is no blob store on the server to keep in step.

The price is message size: an image is sent (and stored) once in the update that inserts
it. So, before inserting, :func:`prepare_image` scales the picture down to at most
:data:`MAX_SIDE` px on its longest side (never up), re-encodes it (JPEG at
:data:`JPEG_QUALITY` for opaque pictures unless PNG is smaller, PNG when it has
transparency; re-encoding also drops metadata such as a photo's GPS position) and refuses
it with :class:`ImageRefused` when the data URL would still be longer than
:data:`MAX_DATA_URL_BYTES`. The relay accepts messages of up to 64 MB, far above that.

Images written by other clients may have ``http(s)`` URLs: Coscribe never fetches them
(that would tell a third party who reads the document, and when) and shows a placeholder
with the host instead (:func:`describe_source`).

Qt-free: decoding and encoding pixels is the Qt layer's (:class:`ImageCodec`,
implemented in ``editor_app.qt.images``); the rules and the numbers are here.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass
from typing import Any, Literal, Protocol
from urllib.parse import urlsplit

from shared.errors import CollabError

#: Longest side, in pixels, of an image Coscribe writes (a full-width picture on a
#: high-density screen; a page's text column is about 650 px at 100 %).
MAX_SIDE = 1600
#: Longest ``data:`` URL Coscribe writes (characters = bytes on the wire): about 1.1 MB
#: of JPEG or PNG. The relay's message limit is 64 MB; this keeps a document that holds
#: a few dozen photos quick to open and to sync.
MAX_DATA_URL_BYTES = 1_500_000
#: JPEG quality for opaque pictures (photos): visually lossless at a fraction of PNG.
JPEG_QUALITY = 85
#: Quill's image attributes (Quill 2 ``Image.formats``: alt, height, width).
IMAGE_ATTRS = frozenset({"alt", "height", "width"})
#: What an image embed's value is keyed by (Quill's ``image`` blot).
IMAGE_KEY = "image"
#: Picture types a data URL may carry that Coscribe decodes.
DATA_MIME_TYPES = frozenset(
    {"image/png", "image/jpeg", "image/jpg", "image/gif", "image/webp", "image/bmp"}
)

Encoding = Literal["png", "jpeg"]
_MIME: dict[Encoding, str] = {"png": "image/png", "jpeg": "image/jpeg"}
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?((?:;[\w.+-]+=[^;,]*)*)(;base64)?,", re.I)


class ImageRefused(CollabError, ValueError):
    """An image that cannot be inserted; the message says why, for the user."""


class ImageCodec(Protocol):
    """One decoded picture, as the Qt layer holds it (``editor_app.qt.images``)."""

    @property
    def width(self) -> int: ...

    @property
    def height(self) -> int: ...

    def has_alpha(self) -> bool:
        """Whether any pixel is not fully opaque."""
        ...

    def encode(self, encoding: Encoding, width: int, height: int, quality: int) -> bytes:
        """The picture scaled to ``width`` x ``height`` and encoded; b"" on failure."""
        ...


@dataclass(frozen=True, slots=True)
class PreparedImage:
    """What goes into the document: the data URL and the size of the picture in it."""

    data_url: str
    width: int
    height: int
    mime: str

    @property
    def embed(self) -> dict[str, str]:
        """The Quill embed value to insert."""
        return {IMAGE_KEY: self.data_url}


@dataclass(frozen=True, slots=True)
class DataUrl:
    """A decoded ``data:`` URL."""

    mime: str
    data: bytes


def target_size(width: int, height: int, max_side: int = MAX_SIDE) -> tuple[int, int]:
    """The size to store a ``width`` x ``height`` picture at: the longest side at most
    ``max_side``, the aspect ratio kept, never enlarged, never below 1 px."""
    if width <= 0 or height <= 0:
        raise ImageRefused("The image is empty.")
    longest = max(width, height)
    if longest <= max_side:
        return width, height
    scale = max_side / longest
    return max(1, round(width * scale)), max(1, round(height * scale))


def to_data_url(mime: str, data: bytes) -> str:
    return f"data:{mime};base64,{base64.b64encode(data).decode('ascii')}"


def parse_data_url(url: str) -> DataUrl | None:
    """The picture bytes of a base64 ``data:image/...`` URL, or None for anything else
    (another scheme, another media type, broken base64): the caller shows a placeholder."""
    match = _DATA_URL.match(url)
    if match is None or not match.group(3):
        return None
    mime = (match.group(1) or "").lower()
    if mime not in DATA_MIME_TYPES:
        return None
    payload = url[match.end() :].strip()
    try:
        data = base64.b64decode(payload, validate=False)
    except (binascii.Error, ValueError):
        return None
    return DataUrl("image/jpeg" if mime == "image/jpg" else mime, data) if data else None


def prepare_image(codec: ImageCodec, max_bytes: int = MAX_DATA_URL_BYTES) -> PreparedImage:
    """The picture ``codec`` holds as Coscribe stores it (see the module docstring).

    Raises:
        ImageRefused: empty, not encodable, or still larger than ``max_bytes`` as a data
            URL once scaled and re-encoded (the message says so in words).
    """
    width, height = target_size(codec.width, codec.height)
    encodings: list[Encoding] = ["png"] if codec.has_alpha() else ["jpeg", "png"]
    best: tuple[int, str] | None = None
    for encoding in encodings:
        data = codec.encode(encoding, width, height, JPEG_QUALITY)
        if data and (best is None or len(data) < best[0]):
            best = (len(data), to_data_url(_MIME[encoding], data))
    if best is None:
        raise ImageRefused("This image could not be read.")
    url = best[1]
    if len(url) > max_bytes:
        raise ImageRefused(
            f"This image is too large to insert: even at {width} × {height} pixels it takes "
            f"{_megabytes(len(url))}, and images in a document are limited to "
            f"{_megabytes(max_bytes)}. Try a smaller or simpler picture (a photo rather "
            "than a detailed screenshot, or a cropped one)."
        )
    return PreparedImage(url, width, height, url[5 : url.index(";")])


def _megabytes(n: int) -> str:
    return f"{n / 1_000_000:.1f} MB"


def image_source(embed: Any) -> str | None:
    """The URL of a Quill image embed ``{"image": url}``, or None for any other value."""
    if isinstance(embed, dict):
        url = embed.get(IMAGE_KEY)
        if isinstance(url, str):
            return url
    return None


def source_key(source: str) -> str:
    """A short stable name for an image source (a hash of the URL, so a document holding
    the same picture twice, or two documents, decode it once)."""
    return hashlib.blake2b(source.encode("utf-8", "surrogatepass"), digest_size=16).hexdigest()


@dataclass(frozen=True, slots=True)
class SourceKind:
    """How a source is shown: decoded (``data``), or a placeholder with a ``label``."""

    kind: Literal["data", "remote", "invalid"]
    label: str


def describe_source(source: str) -> SourceKind:
    """What to show for an image source without fetching anything.

    ``data:`` URLs are decoded locally; ``http(s)`` URLs become a placeholder naming the
    host (never fetched: privacy); anything else (``file:``, ``javascript:``, a relative
    path, a broken data URL) is a placeholder saying it cannot be shown.
    """
    if source[:5].lower() == "data:":
        return SourceKind("data", "")
    try:
        parts = urlsplit(source.strip())
    except ValueError:
        return SourceKind("invalid", "")
    if parts.scheme.lower() in ("http", "https") and parts.hostname:
        return SourceKind("remote", parts.hostname)
    return SourceKind("invalid", "")


def pixel_attr(value: Any) -> int | None:
    """A Quill ``width``/``height`` value (``"200"``, ``200``, ``"200px"``) in whole
    pixels, or None when it is not a usable size (absent, a percentage, nonsense)."""
    if isinstance(value, bool) or value is None:
        return None
    if isinstance(value, int | float):
        number = float(value)
    else:
        match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*(?:px)?\s*", str(value))
        if match is None:
            return None
        number = float(match.group(1))
    if not 1 <= number <= 100_000:
        return None
    return round(number)
