"""The sans-I/O parts of version history: labels, the snapshot codec, when automatic
versions fall due, and which ones retention drops (sync_server/versions.py)."""

from __future__ import annotations

import pycrdt
import pytest

from shared.errors import InvalidUpdate
from sync_server.versions import (
    MAX_LABEL,
    AutoVersions,
    VersionInfo,
    VersionPolicy,
    check_label,
    decode_snapshot,
    encode_snapshot,
    to_purge,
)

DAY = 86400.0


def _updates(texts: list[str]) -> list[bytes]:
    doc: pycrdt.Doc = pycrdt.Doc()
    text = doc.get("content", type=pycrdt.Text)
    out: list[bytes] = []
    subscription = doc.observe(lambda e: out.append(e.update))
    for t in texts:
        text += t
    del text[0:1]
    doc.unobserve(subscription)
    return out


def test_snapshot_round_trip_replays_the_log() -> None:
    stored = encode_snapshot(_updates(["x한국어 ", "e\u0301moji 🎉"]))
    doc: pycrdt.Doc = pycrdt.Doc()
    doc.apply_update(decode_snapshot(stored))
    assert str(doc.get("content", type=pycrdt.Text)) == "한국어 e\u0301moji 🎉"


def test_snapshot_refuses_garbage() -> None:
    with pytest.raises(InvalidUpdate):
        decode_snapshot(b"not zlib")
    with pytest.raises(InvalidUpdate):
        encode_snapshot([b"\x01\x02\x03"])


@pytest.mark.parametrize(
    ("label", "error"),
    [(3, "string"), ("   ", "empty"), ("x" * (MAX_LABEL + 1), "longer"), ("a\x00b", "control")],
)
def test_bad_labels_say_what_is_wrong(label: object, error: str) -> None:
    with pytest.raises(ValueError, match=error):
        check_label(label)


def test_label_is_trimmed() -> None:
    assert check_label("  Draft 2 — 초안  ") == "Draft 2 — 초안"


def test_automatic_version_due_after_a_stretch_of_editing() -> None:
    auto = AutoVersions(VersionPolicy(every=300))
    assert not auto.edited("d", 1000.0, ["Ann"])
    assert not auto.edited("d", 1299.0, ["Bo"])
    assert auto.edited("d", 1300.0)
    assert auto.taken("d") == ("Ann", "Bo")
    assert not auto.pending("d")
    assert not auto.edited("d", 1301.0)  # the clock restarts with the next edit


def test_leaving_makes_a_version_only_of_unversioned_edits() -> None:
    auto = AutoVersions(VersionPolicy())
    assert not auto.left("d")
    auto.edited("d", 5.0, ["Ann"])
    assert auto.left("d")
    auto.forget("d")
    assert not auto.left("d")


def _auto(i: int, created_at: float) -> VersionInfo:
    return VersionInfo(i, created_at, None, True, (), 10)


def test_retention_keeps_named_and_recent_and_thins_the_old() -> None:
    now = 100 * DAY + 1800  # half past an hour: the buckets below are unambiguous
    policy = VersionPolicy(keep_recent=2, daily_after=30 * DAY, max_automatic=100)
    versions = [
        VersionInfo(1, now - 90 * DAY, "release", False, ("Ann",), 10),  # named: kept
        _auto(2, now - 60),
        _auto(3, now - 120),
        _auto(4, now - 2 * DAY),  # older than a day: one per hour
        _auto(5, now - 2 * DAY - 60),  # same hour as 4: dropped
        _auto(6, now - 40 * DAY),  # older than 30 days: one per day
        _auto(7, now - 40 * DAY - 1200),  # same day as 6 (an hour earlier): dropped
    ]
    assert set(to_purge(versions, now, policy)) == {5, 7}


def test_retention_caps_the_automatic_versions() -> None:
    policy = VersionPolicy(keep_recent=1, max_automatic=3)
    versions = [_auto(i, 1000.0 - i) for i in range(10)]
    assert sorted(to_purge(versions, 1000.0, policy)) == [3, 4, 5, 6, 7, 8, 9]


def test_policy_refuses_nonsense() -> None:
    with pytest.raises(ValueError):
        VersionPolicy(every=0)
    with pytest.raises(ValueError):
        VersionPolicy(keep_recent=10, max_automatic=5)
