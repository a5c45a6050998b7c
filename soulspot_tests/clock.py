"""A clock for tests: time moves only when someone waits, so nothing sleeps for real."""

from __future__ import annotations

import threading

from soulspot_pipeline.resources.clock import Clock


class VirtualClock(Clock):
    """Starts at ``start`` (seconds since the epoch) and advances exactly by what is slept."""

    def __init__(self, start: float = 1_800_000_000.0):
        self._now = start
        self._lock = threading.Lock()
        self.sleeps: list[float] = []

    def now(self) -> float:
        with self._lock:
            return self._now

    @property
    def slept(self) -> float:
        return sum(self.sleeps)

    def sleep(self, seconds: float) -> None:
        with self._lock:
            self._now += max(0.0, seconds)
            self.sleeps.append(seconds)
