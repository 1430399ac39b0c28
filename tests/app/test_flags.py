"""Name flags: shown while active or hovered, fade, stack (issue 13, bug 2)."""

from __future__ import annotations

import itertools

from editor_app.core.flags import FlagClock, stack


def test_a_flag_shows_after_activity_then_fades_out() -> None:
    clock = FlagClock(show_seconds=3.0, fade_seconds=0.5)
    assert clock.opacity(1, 0.0) == 0.0  # never active
    assert clock.observe(1, 4, 4, now=10.0)  # arrives: shown
    assert not clock.observe(1, 4, 4, now=11.0)  # same place: no new activity
    assert clock.opacity(1, 12.9) == 1.0
    assert 0.0 < clock.opacity(1, 13.25) < 1.0 and clock.fading(13.25)
    assert clock.opacity(1, 13.6) == 0.0 and not clock.fading(13.6)
    assert clock.opacity(1, 13.6, hovered=True) == 1.0
    assert clock.next_change(12.0) == 1.0
    assert clock.next_change(14.0) is None
    assert clock.observe(1, 4, 5, now=20.0)  # moved: shown again
    assert clock.opacity(1, 20.5) == 1.0
    clock.forget_except(set())
    assert clock.opacity(1, 20.5) == 0.0


def test_flags_at_one_spot_stack_without_overlapping() -> None:
    carets = [(100.0, 50.0, 60.0, 14.0)] * 3 + [(130.0, 50.0, 60.0, 14.0)]
    boxes = stack(carets)
    for a, b in itertools.combinations(boxes, 2):
        assert not a.overlaps(b)
    assert boxes[0].y == 36.0  # just above the caret
    assert all(b.y >= 0 for b in boxes)


def test_flags_at_the_top_go_below_instead_of_off_screen() -> None:
    boxes = stack([(10.0, 2.0, 50.0, 14.0), (10.0, 2.0, 50.0, 14.0)])
    assert boxes[0].y == 2.0
    assert boxes[1].y == 16.0
    assert not boxes[0].overlaps(boxes[1])
