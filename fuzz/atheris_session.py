"""Coverage-guided fuzz targets (atheris/libFuzzer) for the sans-I/O sync core.

Targets (the first argument picks one; the rest goes to libFuzzer):

* ``decode``: :func:`shared.messages.decode_message` on arbitrary bytes, with and without
  the coscribe.v1 extensions. It may only return a message or raise a
  :class:`shared.errors.ProtocolError`; anything else (IndexError, RuntimeError, a pyo3
  PanicException, a hang) is a crash.
* ``session``: a server-role :class:`shared.session.SyncSession` (editor or viewer) fed a
  sequence of frames cut from the input. Besides "only ProtocolError", a frame that raises
  must leave the document exactly as it was (the relay then closes that peer), and a
  viewer's frames must never change it at all.

Not part of the test suite (tests/server/test_fuzz_server.py is the Hypothesis version
that runs there). See fuzz/README.md::

    pip install atheris
    python fuzz/atheris_session.py decode -max_total_time=60 fuzz/corpus/decode
    python fuzz/atheris_session.py session -max_total_time=300 fuzz/corpus/session
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import atheris

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout

with atheris.instrument_imports():
    import pycrdt

    from shared import messages as m
    from shared.errors import ProtocolError
    from shared.session import SyncSession
    from shared.states import Side


def fuzz_decode(data: bytes) -> None:
    if not data:
        return
    try:
        m.decode_message(data[1:], extensions=bool(data[0] & 1))
    except ProtocolError:
        pass  # the documented way to refuse bytes


def _snapshot(doc: pycrdt.Doc[Any]) -> tuple[bytes, str]:
    return doc.get_state(), str(doc.get("content", type=pycrdt.Text))


def fuzz_session(data: bytes) -> None:
    fdp = atheris.FuzzedDataProvider(data)
    flags = fdp.ConsumeInt(1)
    writable = not flags & 2
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, "seed")
    session = SyncSession(
        doc,
        Side.SERVER,
        extensions=bool(flags & 1),
        incarnation="fuzz",
        writable=writable,
        origin="peer",
    )
    session.start()
    initial = _snapshot(doc)
    while fdp.remaining_bytes():
        frame = fdp.ConsumeBytes(fdp.ConsumeIntInRange(0, 512))
        before = _snapshot(doc)
        try:
            session.receive_data(frame)
        except ProtocolError:
            if _snapshot(doc) != before:
                raise AssertionError("a rejected frame changed the document") from None
            return  # the relay closes the peer here
        session.events_received()
        session.data_to_send()
    if not writable and _snapshot(doc) != initial:
        raise AssertionError("a viewer changed the document")


TARGETS = {"decode": fuzz_decode, "session": fuzz_session}


def write_corpus(directory: Path) -> None:
    """Seed inputs: one valid message of each kind (libFuzzer mutates from there)."""
    doc: pycrdt.Doc[Any] = pycrdt.Doc()
    doc.get("content", type=pycrdt.Text).insert(0, "hello")
    entry = m.AwarenessEntry(7, 1, '{"user":{"name":"a"}}')
    messages = [
        m.SyncStep1(doc.get_state()).encode(),
        m.SyncStep2(doc.get_update()).encode(),
        m.SyncUpdate(doc.get_update()).encode(),
        m.AwarenessUpdate.from_entries((entry,)).encode(),
        m.QueryAwareness().encode(),
    ]
    for target in TARGETS:
        (directory / target).mkdir(parents=True, exist_ok=True)
    for i, msg in enumerate(messages):
        (directory / "decode" / f"seed{i}").write_bytes(b"\x01" + msg)
        # session: flags byte, then ConsumeIntInRange's length bytes, then the frame.
        (directory / "session" / f"seed{i}").write_bytes(bytes([0, 0, len(msg) % 256]) + msg)


def main() -> None:
    if len(sys.argv) >= 3 and sys.argv[1] == "corpus":
        write_corpus(Path(sys.argv[2]))
        return
    if len(sys.argv) < 2 or sys.argv[1] not in TARGETS:
        sys.exit(f"usage: {sys.argv[0]} decode|session [libFuzzer options] [corpus dirs]")
    target = TARGETS[sys.argv.pop(1)]
    atheris.Setup(sys.argv, target)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
