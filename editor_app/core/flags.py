"""Collaborators' name flags, as Google Docs shows them (Qt-free logic).

A flag (the coloured name tag on a collaborator's caret) is shown while that person is
active (moves their caret, types) and while the mouse hovers over their caret; it stays
:data:`SHOW_SECONDS` after the last activity, then fades out over :data:`FADE_SECONDS`.
So a flag never hides the text under it for long. Flags of carets close together are
stacked (:func:`stack`) instead of drawn over each other.

Times are plain floats from the caller's monotonic clock, so tests drive it directly.
"""

from __future__ import annotations

from dataclasses import dataclass

SHOW_SECONDS = 3.0
FADE_SECONDS = 0.6


class FlagClock:
    """When each collaborator was last active, and how visible their flag is now."""

    def __init__(
        self, *, show_seconds: float = SHOW_SECONDS, fade_seconds: float = FADE_SECONDS
    ) -> None:
        self.show_seconds = show_seconds
        self.fade_seconds = fade_seconds
        self._active: dict[int, float] = {}
        self._heads: dict[int, tuple[int | None, int | None]] = {}

    def touch(self, client_id: int, now: float) -> None:
        """``client_id`` did something (typed, moved): show their flag afresh."""
        self._active[client_id] = now

    def observe(self, client_id: int, anchor: int | None, head: int | None, now: float) -> bool:
        """Record a collaborator's selection; a change counts as activity (returns True).
        The first sighting counts too: someone who just arrived is shown."""
        key = (anchor, head)
        if self._heads.get(client_id) == key:
            return False
        self._heads[client_id] = key
        self.touch(client_id, now)
        return True

    def forget_except(self, present: set[int]) -> None:
        for cid in [c for c in self._heads if c not in present]:
            del self._heads[cid]
            self._active.pop(cid, None)

    def opacity(self, client_id: int, now: float, *, hovered: bool = False) -> float:
        """1.0 while shown, falling to 0.0 over the fade, 0.0 after it."""
        if hovered:
            return 1.0
        since = now - self._active.get(client_id, float("-inf"))
        if since <= self.show_seconds:
            return 1.0
        if since >= self.show_seconds + self.fade_seconds:
            return 0.0
        return 1.0 - (since - self.show_seconds) / self.fade_seconds

    def fading(self, now: float) -> bool:
        """Whether some flag is in its fade now (the view repaints it smoothly)."""
        end = self.show_seconds + self.fade_seconds
        return any(self.show_seconds < now - t < end for t in self._active.values())

    def next_change(self, now: float) -> float | None:
        """Seconds until some shown flag starts fading or finishes (None: nothing shown)."""
        waits = []
        for t in self._active.values():
            since = now - t
            if since < self.show_seconds:
                waits.append(self.show_seconds - since)
            elif since < self.show_seconds + self.fade_seconds:
                waits.append(self.show_seconds + self.fade_seconds - since)
        return min(waits) if waits else None


@dataclass(frozen=True)
class Box:
    x: float
    y: float
    width: float
    height: float

    def overlaps(self, other: Box) -> bool:
        return (
            self.x < other.x + other.width
            and other.x < self.x + self.width
            and self.y < other.y + other.height
            and other.y < self.y + self.height
        )


def stack(carets: list[tuple[float, float, float, float]], *, top_limit: float = 0.0) -> list[Box]:
    """Place one flag per caret ``(x, caret_top, width, height)``: just above the caret,
    moved further up (or, at the top of the view, below the caret line) until it overlaps
    no flag placed before it. Returns the boxes in the order given."""
    placed: list[Box] = []
    for x, top, width, height in carets:
        ups = [top - height * (k + 1) for k in range(len(placed) + 1)]
        downs = [top + height * k for k in range(len(placed) + 1)]
        candidates = [y for y in ups if y >= top_limit] + downs
        box = next(
            (
                Box(x, y, width, height)
                for y in candidates
                if not any(p.overlaps(Box(x, y, width, height)) for p in placed)
            ),
            Box(x, candidates[0], width, height),
        )
        placed.append(box)
    return placed
