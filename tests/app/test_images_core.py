"""The image rules of editor_app.core.images, without Qt: sizes, data URLs, what is shown
for a source, Quill's size attributes, and the refusal of what is too large.

``prepare_image`` is driven here by a pure-Python codec (a real one: it stores raw RGB
bytes, uncompressed), so the size cap is exercised exactly; the Qt codec and real
pictures are in tests/gui/test_image_policy.py."""

from __future__ import annotations

import base64

import pytest

from editor_app.core import images
from editor_app.core.images import (
    MAX_DATA_URL_BYTES,
    MAX_SIDE,
    ImageRefused,
    describe_source,
    parse_data_url,
    pixel_attr,
    prepare_image,
    source_key,
    target_size,
)


@pytest.mark.parametrize(
    ("size", "expected"),
    [
        ((800, 600), (800, 600)),  # small enough: never enlarged
        ((MAX_SIDE, 10), (MAX_SIDE, 10)),
        ((3200, 2400), (1600, 1200)),  # the longest side to 1600, aspect kept
        ((1000, 4000), (400, 1600)),  # portrait: the height is the longest side
        ((100_000, 1), (1600, 1)),  # never below one pixel
    ],
)
def test_target_size_caps_the_longest_side_and_keeps_the_aspect(
    size: tuple[int, int], expected: tuple[int, int]
) -> None:
    assert target_size(*size) == expected


def test_an_empty_picture_is_refused() -> None:
    with pytest.raises(ImageRefused):
        target_size(0, 10)


def test_data_urls_are_parsed_and_anything_else_is_none() -> None:
    png = b"\x89PNG\r\n\x1a\nrest"
    url = "data:image/png;base64," + base64.b64encode(png).decode()
    parsed = parse_data_url(url)
    assert parsed is not None and parsed.mime == "image/png" and parsed.data == png
    assert parse_data_url("data:image/jpg;base64,AAAA") == images.DataUrl("image/jpeg", b"\0\0\0")
    for bad in (
        "data:text/html;base64,PGI+",  # not a picture
        "data:image/png,rawtext",  # not base64
        "data:image/png;base64,",  # nothing in it
        "data:image/svg+xml;base64,PHN2Zy8+",  # a type Coscribe does not decode
        "https://example.com/a.png",
        "",
    ):
        assert parse_data_url(bad) is None, bad


def test_sources_are_described_without_fetching() -> None:
    assert describe_source("data:image/png;base64,AAAA").kind == "data"
    remote = describe_source("https://images.example.org/cat.png?x=1")
    assert (remote.kind, remote.label) == ("remote", "images.example.org")
    assert describe_source("HTTP://Example.COM/a").kind == "remote"
    for other in ("file:///etc/passwd", "javascript:alert(1)", "cat.png", "https://", "::"):
        assert describe_source(other).kind == "invalid", other


def test_quill_size_attributes_in_pixels() -> None:
    assert pixel_attr("200") == 200
    assert pixel_attr(" 200px ") == 200
    assert pixel_attr(150.4) == 150
    assert pixel_attr(64) == 64
    for bad in (None, True, "50%", "auto", "", "0", "-3", "1e9"):
        assert pixel_attr(bad) is None, bad


def test_the_key_of_a_source_is_stable_and_short() -> None:
    a = source_key("data:image/png;base64,AAAA")
    assert a == source_key("data:image/png;base64,AAAA") and len(a) == 32
    assert a != source_key("data:image/png;base64,AAAB")


class RawCodec:
    """Encodes a flat colour picture as raw RGB bytes (no compression at all), so the
    encoded size is exactly width x height x 3: a codec whose sizes are known."""

    def __init__(self, width: int, height: int, *, alpha: bool = False) -> None:
        self.width, self.height, self._alpha = width, height, alpha
        self.asked: list[tuple[str, int, int, int]] = []

    def has_alpha(self) -> bool:
        return self._alpha

    def encode(self, encoding: images.Encoding, width: int, height: int, quality: int) -> bytes:
        self.asked.append((encoding, width, height, quality))
        return bytes(width * height * (3 if encoding == "jpeg" else 4))


def test_prepare_scales_encodes_and_picks_the_smaller_encoding() -> None:
    codec = RawCodec(400, 300)
    prepared = prepare_image(codec)
    # Opaque: JPEG (quality 85) and PNG are tried at the stored size; the smaller wins.
    assert codec.asked == [("jpeg", 400, 300, 85), ("png", 400, 300, 85)]
    assert prepared.mime == "image/jpeg" and (prepared.width, prepared.height) == (400, 300)
    assert prepared.embed == {"image": prepared.data_url}
    assert prepared.data_url.startswith("data:image/jpeg;base64,")
    assert len(base64.b64decode(prepared.data_url.split(",", 1)[1])) == 400 * 300 * 3


def test_transparency_is_kept_as_png() -> None:
    codec = RawCodec(200, 100, alpha=True)
    prepared = prepare_image(codec)
    assert [a[0] for a in codec.asked] == ["png"]
    assert prepared.mime == "image/png"


def test_a_large_picture_is_scaled_before_encoding() -> None:
    codec = RawCodec(6000, 4000)
    with pytest.raises(ImageRefused):  # 1600 x 1067 raw RGB is 5 MB: over the cap
        prepare_image(codec)
    assert {(w, h) for _, w, h, _ in codec.asked} == {(1600, 1067)}


def test_what_is_still_too_large_is_refused_in_words() -> None:
    # 400 x 400 raw RGB = 480,000 bytes = 640,000 characters of base64: over a 600,000 cap.
    with pytest.raises(ImageRefused) as refused:
        prepare_image(RawCodec(400, 400), max_bytes=600_000)
    message = str(refused.value)
    assert "too large" in message and "0.6 MB" in message and "400 × 400" in message
    assert prepare_image(RawCodec(400, 400), max_bytes=700_000).mime == "image/jpeg"
    assert MAX_DATA_URL_BYTES == 1_500_000  # the documented limit (docs/schema.md §2.4)


def test_a_codec_that_cannot_encode_is_refused() -> None:
    class Broken(RawCodec):
        def encode(self, encoding: images.Encoding, width: int, height: int, q: int) -> bytes:
            return b""

    with pytest.raises(ImageRefused, match="could not be read"):
        prepare_image(Broken(10, 10))
