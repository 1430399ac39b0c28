"""coscribe.v2 multiplexing: payload framing and the two channel messages."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.errors import DecodeError
from shared.messages import SyncStep1, decode_message
from shared.mux import (
    CloseDocument,
    OpenDocument,
    decode_control,
    decode_payload,
    encode_payload,
    name_prefix,
)


def test_payload_names_its_document_like_hocuspocus() -> None:
    message = SyncStep1(b"\x00").encode()
    payload = encode_payload("team-notes", message)
    assert payload == b"\x0ateam-notes" + message
    assert payload.startswith(name_prefix("team-notes"))
    assert decode_payload(payload) == ("team-notes", message)
    assert decode_control(message) is None
    assert decode_message(decode_payload(payload)[1]) == SyncStep1(b"\x00")


@pytest.mark.parametrize(
    "control", [OpenDocument(""), OpenDocument("v1.abc.def"), CloseDocument(4410, "revoked — 취소")]
)
def test_channel_messages_round_trip(control: OpenDocument | CloseDocument) -> None:
    assert decode_control(control.encode()) == control
    assert control.encode()[0] in (110, 111)


@pytest.mark.parametrize(
    "payload",
    [b"", b"\x00", b"\x02..\x00", b"\x03a/b\x00", b"\x04name", b"\x05abc"],
)
def test_bad_payloads(payload: bytes) -> None:
    with pytest.raises(DecodeError):
        decode_payload(payload)


def test_truncated_channel_messages() -> None:
    for bad in (b"\x6e", b"\x6e\x05ab", b"\x6f", b"\x6f\x01", b"\x6e\x00\x00"):
        with pytest.raises(DecodeError):
            decode_control(bad)


@given(st.binary(max_size=40))
def test_decoding_garbage_raises_only_decode_error(data: bytes) -> None:
    try:
        _, message = decode_payload(data)
        decode_control(message)
    except DecodeError:
        pass
