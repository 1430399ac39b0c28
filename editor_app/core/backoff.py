"""Reconnect delays: exponential backoff with full jitter.

``delay = uniform(0, min(cap, base * 2**attempt))`` (AWS "full jitter"): when a server
restarts, every client that lost it spreads its reconnects over the whole window instead
of arriving in synchronized waves. The caller resets the schedule once a connection has
stayed healthy, so one brief outage after hours online starts again from ``base``.
"""

from __future__ import annotations

import random


class Backoff:
    """The delay schedule of one reconnect loop.

    Args:
        base: the ceiling of the first delay, seconds.
        cap: the largest ceiling, seconds.
        rng: the random source (inject a seeded ``random.Random`` for reproducible tests).
    """

    def __init__(
        self, base: float = 0.5, cap: float = 30.0, *, rng: random.Random | None = None
    ) -> None:
        if base <= 0 or cap < base:
            raise ValueError(f"need 0 < base <= cap, got base={base} cap={cap}")
        self.base = base
        self.cap = cap
        self.attempt = 0
        self._rng = rng or random.Random()

    def ceiling(self) -> float:
        """The upper bound of the next delay."""
        # min() before the power would overflow float after ~1000 failed attempts.
        return min(self.cap, self.base * 2.0 ** min(self.attempt, 64))

    def next_delay(self) -> float:
        """The next delay to wait, in seconds; advances the schedule."""
        delay = self._rng.uniform(0, self.ceiling())
        self.attempt += 1
        return delay

    def reset(self) -> None:
        """Start again from ``base`` (after a connection stayed healthy)."""
        self.attempt = 0
