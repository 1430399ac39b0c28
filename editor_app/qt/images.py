"""Images in the ``QTextDocument``: decoding, the inline-object handler, placeholders.

An image embed (``{"image": url}``, :mod:`editor_app.core.images`) is one U+FFFC in Qt
with a ``QTextImageFormat``. The format's name is not the URL but a short key
(``coscribe-image:<hash of the URL>``): a data URL can be megabytes, and Qt hashes and
compares format properties every time a format is used. The document holds two
resources per image, both copied by ``QTextDocument.clone()`` (print, export):

* ``coscribe-image:<key>``: the decoded ``QImage`` (or a placeholder picture), which
  Qt's own image handler draws when a copy is printed or exported to PDF/ODT;
* ``coscribe-source:<key>``: the URL itself, which is what the binding writes back into
  the CRDT when the image is copied, pasted or moved (:func:`source_of`).

Decoding is cached process-wide by that key (:data:`DECODED_CACHE_SIZE` pictures), so a
document holding one picture many times, or several windows on one document, decode it
once. Remote ``http(s)`` images are never fetched; they, and anything that does not
decode, are drawn as a placeholder box saying what they are.

The editor's page uses ``QPlainTextDocumentLayout``, which has no image handler of its
own: :class:`ImageObjectHandler` is registered on it and sizes each picture as Quill
does (its ``width``/``height`` attributes, else its own size, never wider than the
page's text column), scaled with the zoom.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Iterator
from typing import Any

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRect, QRectF, QSizeF, Qt, QUrl
from PySide6.QtGui import (
    QAbstractTextDocumentLayout,
    QColor,
    QFont,
    QImage,
    QImageReader,
    QImageWriter,
    QPainter,
    QPen,
    QPyTextObject,
    QTextBlock,
    QTextCharFormat,
    QTextCursor,
    QTextDocument,
    QTextFormat,
    QTextImageFormat,
)

from editor_app.core import images as core
from editor_app.core.images import Encoding, PreparedImage
from editor_app.qt import walk

IMAGE_SCHEME = "coscribe-image:"
SOURCE_SCHEME = "coscribe-source:"
#: Decoded pictures kept for reuse across documents (each document keeps its own too).
DECODED_CACHE_SIZE = 64
#: Pictures with more pixels than this are not decoded (a hostile PNG can claim
#: 50,000 x 50,000 pixels in a few kilobytes): they are shown as a placeholder.
MAX_DECODE_PIXELS = 40_000_000
#: Scaled copies kept for painting (drawing a 1600 px picture at 650 px on every paint
#: would resample it each time).
SCALED_CACHE_SIZE = 32

_USER = int(QTextFormat.Property.UserProperty.value)
#: Quill's image attributes, verbatim, in user properties of the image format.
IMAGE_PROPS: dict[str, int] = {"width": _USER + 21, "height": _USER + 22, "alt": _USER + 23}
#: The zoom an image was last laid out for (a presentation-only property whose change
#: makes Qt lay the line out again; never sent).
ZOOM_PROP = _USER + 24
#: "Show changes" in version history (presentation only, never sent): what happened to
#: the picture (``"insert"``, ``"delete"`` or ``"format"``) and the changes' colour.
#: Text shows a change with underline, strike-through and background, which a picture
#: drawn over its box would hide; :class:`ImageObjectHandler` draws these instead.
CHANGE_PROP = _USER + 25
CHANGE_COLOR_PROP = _USER + 26
#: How a deleted picture is drawn: this opaque, struck through.
DELETED_OPACITY = 0.35
#: The frame around an inserted picture, in pixels (a reformatted one: one pixel).
CHANGE_FRAME = 3.0
_IMAGE_RESOURCE = QTextDocument.ResourceType.ImageResource
_SOURCE_RESOURCE = QTextDocument.ResourceType.UserResource

_PLACEHOLDER_KEY = "coscribe-placeholder"
_decoded: OrderedDict[str, QImage] = OrderedDict()


# ---------------------------------------------------------------------------- decoding


class QtImageCodec:
    """:class:`editor_app.core.images.ImageCodec` over a ``QImage``."""

    def __init__(self, image: QImage) -> None:
        self._image = image

    @property
    def width(self) -> int:
        return int(self._image.width())

    @property
    def height(self) -> int:
        return int(self._image.height())

    def has_alpha(self) -> bool:
        if not self._image.hasAlphaChannel():
            return False
        alpha = self._image.convertToFormat(QImage.Format.Format_Alpha8)
        bits = bytes(alpha.constBits())
        stride, width = alpha.bytesPerLine(), alpha.width()
        return any(min(bits[y * stride : y * stride + width]) < 255 for y in range(alpha.height()))

    def encode(self, encoding: Encoding, width: int, height: int, quality: int) -> bytes:
        image = self._image
        if (width, height) != (image.width(), image.height()):
            image = image.scaled(
                width,
                height,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
        if encoding == "jpeg":  # no alpha in JPEG: flatten onto white, as a page shows it
            flat = QImage(image.size(), QImage.Format.Format_RGB32)
            flat.fill(QColor("white"))
            painter = QPainter(flat)
            painter.drawImage(0, 0, image)
            painter.end()
            image = flat
        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        writer = QImageWriter(buffer, QByteArray(b"jpeg" if encoding == "jpeg" else b"png"))
        if encoding == "jpeg":
            writer.setQuality(quality)
        ok = writer.write(image)
        buffer.close()
        return bytes(data.data()) if ok else b""


def decode(data: bytes) -> QImage | None:
    """The picture in ``data`` (PNG, JPEG, GIF, WebP, BMP ...), turned upright as its EXIF
    orientation says; None if it does not decode or is unreasonably large."""
    array = QByteArray(data)
    buffer = QBuffer(array)
    buffer.open(QIODevice.OpenModeFlag.ReadOnly)
    reader = QImageReader(buffer)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and size.width() * size.height() > MAX_DECODE_PIXELS:
        return None
    image = reader.read()
    buffer.close()
    return None if image.isNull() else image


def prepare_bytes(data: bytes) -> PreparedImage:
    """A file's or the clipboard's bytes as Coscribe stores them (the size rules of
    :func:`editor_app.core.images.prepare_image`).

    Raises:
        ImageRefused: not a picture Qt can read, or too large even when scaled down.
    """
    image = decode(data)
    if image is None:
        raise core.ImageRefused("This file is not a picture Coscribe can read.")
    return core.prepare_image(QtImageCodec(image))


def prepare_qimage(image: QImage) -> PreparedImage:
    """A ``QImage`` (pasted from the clipboard) as Coscribe stores it.

    Raises:
        ImageRefused: an empty picture, or too large even when scaled down.
    """
    if image.isNull():
        raise core.ImageRefused("The clipboard holds no picture.")
    return core.prepare_image(QtImageCodec(image))


def _decode_source(source: str, key: str) -> QImage:
    """The picture to show for ``source``: decoded, or a placeholder (never fetched)."""
    cached = _decoded.get(key)
    if cached is not None:
        _decoded.move_to_end(key)
        return cached
    kind = core.describe_source(source)
    image: QImage | None = None
    if kind.kind == "data":
        parsed = core.parse_data_url(source)
        image = decode(parsed.data) if parsed is not None else None
        if image is None:
            image = placeholder("Image could not be shown")
    elif kind.kind == "remote":
        image = placeholder(f"Image from {kind.label}", "not downloaded")
    else:
        image = placeholder("Image could not be shown")
    _decoded[key] = image
    while len(_decoded) > DECODED_CACHE_SIZE:
        _decoded.popitem(last=False)
    return image


def is_placeholder(image: QImage | None) -> bool:
    """Whether ``image`` is a :func:`placeholder` (drawn at its own size, whatever
    ``width``/``height`` the missing picture has)."""
    return image is not None and image.text(_PLACEHOLDER_KEY) == "1"


def placeholder(title: str, detail: str = "") -> QImage:
    """A light box with a picture glyph and ``title`` (and ``detail``) in it, drawn in
    place of a picture that is not shown."""
    image = QImage(320, 72, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(QColor("#f1f3f4"))
    painter = QPainter(image)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing)
    painter.setPen(QPen(QColor("#bdc1c6"), 1.0, Qt.PenStyle.DashLine))
    painter.drawRect(QRectF(0.5, 0.5, 319, 71))
    painter.setPen(QPen(QColor("#80868b"), 2.0))
    painter.drawRoundedRect(QRectF(16, 20, 40, 32), 4, 4)
    painter.drawEllipse(QRectF(24, 27, 8, 8))
    painter.drawPolyline([QPointF(18, 48), QPointF(34, 36), QPointF(44, 44), QPointF(54, 34)])
    font = QFont()
    font.setPixelSize(14)
    painter.setFont(font)
    painter.setPen(QColor("#3c4043"))
    text_rect = QRectF(70, 12, 240, 24 if detail else 48)
    flags = Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter
    elided = painter.fontMetrics().elidedText(title, Qt.TextElideMode.ElideMiddle, 240)
    painter.drawText(text_rect, int(flags), elided)
    if detail:
        font.setPixelSize(12)
        painter.setFont(font)
        painter.setPen(QColor("#5f6368"))
        painter.drawText(QRectF(70, 36, 240, 24), int(flags), detail)
    painter.end()
    image.setText(_PLACEHOLDER_KEY, "1")
    return image


# ---------------------------------------------------------------------------- formats


def register(qdoc: QTextDocument, source: str) -> str:
    """Make ``source`` drawable in ``qdoc``; returns the image format name for it."""
    key = core.source_key(source)
    name = IMAGE_SCHEME + key
    url = QUrl(name)
    if not isinstance(qdoc.resource(_IMAGE_RESOURCE, url), QImage):
        qdoc.addResource(_IMAGE_RESOURCE, url, _decode_source(source, key))
        qdoc.addResource(_SOURCE_RESOURCE, QUrl(SOURCE_SCHEME + key), source)
    return name


def image_format(
    qdoc: QTextDocument, source: str, attrs: dict[str, Any] | None, base: QTextCharFormat
) -> QTextImageFormat:
    """The format of one image: ``base`` (its inline formats: a link, say) plus the
    picture ``source`` and Quill's image attributes in ``attrs``."""
    fmt = QTextImageFormat(base)
    fmt.setObjectType(int(QTextFormat.ObjectTypes.ImageObject.value))
    fmt.setName(register(qdoc, source))
    return merge_image_attrs(fmt, {k: (attrs or {}).get(k) for k in core.IMAGE_ATTRS})


def merge_image_attrs(fmt: QTextCharFormat, attrs: dict[str, Any]) -> QTextImageFormat:
    """A copy of image format ``fmt`` with the Quill image keys in ``attrs`` set (None
    removes); Qt's own width/height (what print and export use) follow them."""
    out = QTextImageFormat(fmt)
    for key, value in attrs.items():
        prop = IMAGE_PROPS.get(key)
        if prop is None:
            continue
        if value in (None, ""):
            out.clearProperty(prop)
        else:
            out.setProperty(prop, str(value) if key == "alt" else value)
    for key, set_size, qt_prop in (
        ("width", out.setWidth, QTextFormat.Property.ImageWidth),
        ("height", out.setHeight, QTextFormat.Property.ImageHeight),
    ):
        pixels = core.pixel_attr(out.property(IMAGE_PROPS[key]))
        if pixels is None:
            out.clearProperty(qt_prop)
        else:
            set_size(float(pixels))
    return out


def text_format(fmt: QTextCharFormat) -> QTextCharFormat:
    """``fmt`` without anything of a picture: the format for text typed or pasted next
    to an image (Qt hands a cursor after an image the image's format)."""
    out = QTextCharFormat(fmt)
    for prop in (
        QTextFormat.Property.ObjectType,
        QTextFormat.Property.ImageName,
        QTextFormat.Property.ImageWidth,
        QTextFormat.Property.ImageHeight,
        ZOOM_PROP,
        CHANGE_PROP,
        CHANGE_COLOR_PROP,
        *IMAGE_PROPS.values(),
    ):
        out.clearProperty(prop)
    return out


def change_mark(change: str, color: QColor) -> QTextCharFormat:
    """A format to merge onto the pictures of a "Show changes" page: ``change`` is
    ``"insert"``, ``"delete"`` or ``"format"``; ``color`` the changes' colour. Only
    the picture's drawing looks at it (text ignores these properties)."""
    fmt = QTextCharFormat()
    fmt.setProperty(CHANGE_PROP, change)
    fmt.setProperty(CHANGE_COLOR_PROP, QColor(color))
    return fmt


def change_of(fmt: QTextFormat) -> str | None:
    """The "Show changes" mark of a picture's format (see :func:`change_mark`)."""
    value = fmt.property(CHANGE_PROP) if fmt.hasProperty(CHANGE_PROP) else None
    return value if isinstance(value, str) else None


def picture_of(qdoc: QTextDocument, source: str) -> QImage | None:
    """The decoded picture of image URL ``source`` in ``qdoc``, if it shows one."""
    image = qdoc.resource(_IMAGE_RESOURCE, QUrl(IMAGE_SCHEME + core.source_key(source)))
    return image if isinstance(image, QImage) and not image.isNull() else None


def mark_zoom(qdoc: QTextDocument, block: QTextBlock, percent: int) -> None:
    """Make Qt lay out the images of ``block`` again (the zoom changed their size): a
    presentation-only property change on each, which the binding does not send."""
    change_image_formats(qdoc, block, lambda fmt: fmt.setProperty(ZOOM_PROP, percent))


def change_image_formats(
    qdoc: QTextDocument, block: QTextBlock, change: Callable[[QTextImageFormat], None]
) -> None:
    """Apply ``change`` to the format of every image in ``block`` and set it back (the
    fragments are collected first: setting a format may merge or split them)."""
    pieces: list[tuple[int, int, QTextImageFormat]] = []
    for frag in walk.fragments(block):
        fmt = frag.charFormat()
        if fmt.isImageFormat():
            out = QTextImageFormat(fmt)
            change(out)
            pieces.append((frag.position(), frag.length(), out))
    cursor = QTextCursor(qdoc)
    for pos, length, out in pieces:
        cursor.setPosition(pos)
        cursor.setPosition(pos + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(out)


def image_attrs(fmt: QTextFormat) -> dict[str, Any]:
    """Quill's image attributes kept in an image format (only the ones that are set)."""
    out: dict[str, Any] = {}
    for key, prop in IMAGE_PROPS.items():
        if fmt.hasProperty(prop):
            value = fmt.property(prop)
            if value not in (None, ""):
                out[key] = value
    return out


def source_of(qdoc: QTextDocument, fmt: QTextFormat) -> str | None:
    """The URL of the image an image format shows (None: not an image we can write).

    Our formats name a key whose URL is a resource of the document; an image Qt read
    from an imported Markdown or HTML file names its URL directly (kept when it is a
    data URL or a web address, as Quill would keep it)."""
    if not fmt.isImageFormat():
        return None
    name = QTextImageFormat(fmt).name()
    if name.startswith(IMAGE_SCHEME):
        source = qdoc.resource(_SOURCE_RESOURCE, QUrl(SOURCE_SCHEME + name[len(IMAGE_SCHEME) :]))
        return source if isinstance(source, str) else None
    kind = core.describe_source(name)
    return name if kind.kind != "invalid" else None


def embed_of(qdoc: QTextDocument, fmt: QTextFormat) -> dict[str, str] | None:
    """The Quill embed value for the U+FFFC that has format ``fmt``, or None."""
    source = source_of(qdoc, fmt)
    return {core.IMAGE_KEY: source} if source is not None else None


def picture(qdoc: QTextDocument, fmt: QTextFormat) -> QImage | None:
    """The picture (or placeholder) an image format draws, if the document has it."""
    image = qdoc.resource(_IMAGE_RESOURCE, QUrl(QTextImageFormat(fmt).name()))
    return image if isinstance(image, QImage) and not image.isNull() else None


def display_size(
    natural: QSizeF,
    fmt: QTextFormat,
    max_width: float,
    scale: float = 1.0,
    max_height: float = 0.0,
) -> QSizeF:
    """How large an image is drawn: Quill's ``width``/``height`` if set (one of them
    keeps the aspect ratio), else the picture's own size; times ``scale`` (the zoom);
    then never wider than ``max_width`` nor taller than ``max_height`` (when > 0; the
    aspect kept), as web Quill's ``max-width: 100%``."""
    w0, h0 = max(1.0, natural.width()), max(1.0, natural.height())
    w = (
        core.pixel_attr(fmt.property(IMAGE_PROPS["width"]))
        if fmt.hasProperty(IMAGE_PROPS["width"])
        else None
    )
    h = (
        core.pixel_attr(fmt.property(IMAGE_PROPS["height"]))
        if fmt.hasProperty(IMAGE_PROPS["height"])
        else None
    )
    if w is not None and h is not None:
        width, height = float(w), float(h)
    elif w is not None:
        width, height = float(w), w * h0 / w0
    elif h is not None:
        width, height = h * w0 / h0, float(h)
    else:
        width, height = w0, h0
    width, height = width * scale, height * scale
    if max_width > 0 and width > max_width:
        height = height * max_width / width
        width = max_width
    if max_height > 0 and height > max_height:
        width = width * max_height / height
        height = max_height
    return QSizeF(max(1.0, width), max(1.0, height))


# ---------------------------------------------------------------------------- drawing


class ImageObjectHandler(QPyTextObject):
    """Sizes and draws image objects for a ``QPlainTextDocumentLayout`` (which has no
    image handler of its own). Register it with :meth:`install`."""

    def __init__(self, layout: QAbstractTextDocumentLayout) -> None:
        super().__init__(layout)
        self._layout = layout
        #: The zoom (1.0 = 100 %) and the tallest a picture is drawn at 100 % (0: any).
        self.scale = 1.0
        self.max_height = 0.0
        #: The page's text column, asked at each layout (Qt lays every line out again
        #: when the view's width changes; a cached width would be the old one then).
        self.width_source: Callable[[], float] = lambda: 0.0
        self._natural: dict[str, tuple[QSizeF, bool]] = {}
        self._scaled: OrderedDict[tuple[str, int, int], QImage] = OrderedDict()

    @classmethod
    def install(cls, layout: QAbstractTextDocumentLayout) -> ImageObjectHandler:
        handler = cls(layout)
        layout.registerHandler(int(QTextFormat.ObjectTypes.ImageObject.value), handler)
        return handler

    def intrinsicSize(self, doc: QTextDocument, _pos: int, fmt: QTextFormat) -> QSizeF:  # noqa: N802
        name = QTextImageFormat(fmt).name()
        known = self._natural.get(name)
        if known is None:  # Qt asks many times per layout: look the picture up once
            image = picture(doc, fmt)
            size = QSizeF(image.size()) if image is not None else QSizeF(16, 16)
            known = self._natural[name] = (size, is_placeholder(image))
        natural, stand_in = known
        if stand_in:  # a placeholder keeps its own size (the picture's is unknown)
            return display_size(natural, QTextFormat(), self.width_source())
        height = self.max_height * self.scale
        return display_size(natural, fmt, self.width_source(), self.scale, height)

    def drawObject(  # noqa: N802
        self,
        painter: QPainter,
        rect: QRectF | QRect,
        doc: QTextDocument,
        _pos: int,
        fmt: QTextFormat,
    ) -> None:
        rect = QRectF(rect)
        change = change_of(fmt)
        if change is None:
            self._draw_picture(painter, rect, doc, fmt)
            return
        # "Show changes": a deleted picture faded and struck through, an inserted one
        # framed in the changes' colour, a reformatted one with a thin frame.
        color = fmt.property(CHANGE_COLOR_PROP)
        color = QColor(color) if isinstance(color, QColor) else QColor("#5f6368")
        painter.save()
        if change == "delete":
            painter.setOpacity(DELETED_OPACITY)
        self._draw_picture(painter, rect, doc, fmt)
        painter.setOpacity(1.0)
        if change == "delete":
            painter.setPen(QPen(color, 2.0))
            painter.drawLine(rect.bottomLeft(), rect.topRight())
        else:
            width = CHANGE_FRAME if change == "insert" else 1.0
            painter.setPen(QPen(color, width))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRect(rect.adjusted(width / 2, width / 2, -width / 2, -width / 2))
        painter.restore()

    def _draw_picture(
        self, painter: QPainter, rect: QRectF, doc: QTextDocument, fmt: QTextFormat
    ) -> None:
        image = picture(doc, fmt)
        if image is None:
            painter.fillRect(rect, QColor("#f1f3f4"))
            return
        ratio = painter.device().devicePixelRatioF() if painter.device() is not None else 1.0
        w, h = round(rect.width() * ratio), round(rect.height() * ratio)
        if (w, h) == (image.width(), image.height()):
            painter.drawImage(rect, image)
            return
        key = (QTextImageFormat(fmt).name(), w, h)
        scaled = self._scaled.get(key)
        if scaled is None:
            scaled = image.scaled(
                w,
                h,
                Qt.AspectRatioMode.IgnoreAspectRatio,
                Qt.TransformationMode.SmoothTransformation,
            )
            self._scaled[key] = scaled
            while len(self._scaled) > SCALED_CACHE_SIZE:
                self._scaled.popitem(last=False)
        else:
            self._scaled.move_to_end(key)
        painter.drawImage(rect, scaled)


def image_fragments(qdoc: QTextDocument) -> Iterator[tuple[int, int, QTextImageFormat]]:
    """Every picture of ``qdoc``: (position, length, its image format), in order. Callers
    collect what to change first: changing formats while walking moves the fragments."""
    for block in walk.blocks(qdoc):
        for frag in walk.fragments(block):
            fmt = frag.charFormat()
            if fmt.isImageFormat():
                yield frag.position(), frag.length(), QTextImageFormat(fmt)


def relabel_for_export(
    qdoc: QTextDocument, max_width: float, sources: QTextDocument | None = None
) -> None:
    """Name every image of ``qdoc`` (a copy) by its own URL instead of its key, and give
    it the size it is shown at (at most ``max_width``), so that ``toHtml()`` writes
    ``<img src="data:..." width=...>`` that a browser shows as the page does.
    ``sources``: the document whose resources hold the pictures (default ``qdoc``; a
    copied fragment has none of its own)."""
    sources = qdoc if sources is None else sources
    cursor = QTextCursor(qdoc)
    changes: list[tuple[int, int, QTextImageFormat]] = []
    for pos, length, fmt in image_fragments(qdoc):
        source = source_of(sources, fmt)
        if source is not None:
            out = QTextImageFormat(fmt)
            out.setName(source)
            image = picture(sources, fmt)
            if image is not None:
                size = display_size(QSizeF(image.size()), fmt, max_width)
                out.setWidth(round(size.width()))
                out.setHeight(round(size.height()))
            changes.append((pos, length, out))
    for pos, length, out in changes:
        cursor.setPosition(pos)
        cursor.setPosition(pos + length, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(out)


def restyle_images(qdoc: QTextDocument, start: int, end: int, attrs: dict[str, Any]) -> None:
    """Set Quill image attributes (``width``/``height``/``alt``; None removes) on the
    images in ``[start, end)``; text there is left alone."""
    cursor = QTextCursor(qdoc)
    block = qdoc.findBlock(start)
    pieces: list[tuple[int, int, QTextImageFormat]] = []
    while block.isValid() and block.position() < end:
        for frag in walk.fragments(block):
            s, e = max(frag.position(), start), min(frag.position() + frag.length(), end)
            if s < e and frag.charFormat().isImageFormat():
                pieces.append((s, e, merge_image_attrs(frag.charFormat(), attrs)))
        block = block.next()
    for s, e, fmt in pieces:
        cursor.setPosition(s)
        cursor.setPosition(e, QTextCursor.MoveMode.KeepAnchor)
        cursor.setCharFormat(fmt)
