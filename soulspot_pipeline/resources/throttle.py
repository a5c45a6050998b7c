"""One request rate shared by every process on the machine: runs, sensors, notebooks.

A small file holds the time the last request was sent; an exclusive lock on it makes the
processes take turns. A caller holds the lock for its whole request: it waits until the
interval since the last request's start has passed, notes its own start, sends, and lets go
when its answer came. So requests never overlap, and their starts are never closer than the
interval: the rate is the interval's whether the server answers in 1 ms or in 15 (spacing
from the last answer instead would cap a mirror allowing 50 requests/s at 1/(20 ms + the
answer's time)). MusicBrainz and Last.fm count requests per second on average, so the few
milliseconds by which a request may reach the server later than it left are within what they
allow.
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

# The server's clock and ours may tick at slightly different rates; a small margin keeps
# the gaps it measures at or above the interval. Clocks drift in proportion to the time
# measured, so the margin is a share of the interval: 20 ms at MusicBrainz's 1 request/s,
# but not another whole interval at a mirror's 50/s (where 20 ms would halve the rate).
MARGIN = 0.02
MARGIN_S = 0.02  # the most it adds


class FileThrottle:
    def __init__(
        self,
        path: Path | str,
        interval_s: float,
        *,
        now: Callable[[], float] = time.time,
        sleep: Callable[[float], None] = time.sleep,
    ):
        self.path = Path(path)
        self.interval_s = interval_s
        self._now = now
        self._sleep = sleep

    @contextmanager
    def turn(self) -> Iterator[float]:
        """Hold this machine's turn for one request; yields the seconds waited for it."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 64, 0).decode("ascii", "ignore").strip()
            try:
                last = float(raw)
            except ValueError:
                last = 0.0
            margin = min(MARGIN_S, MARGIN * self.interval_s)
            waited = max(0.0, last + self.interval_s + margin - self._now())
            if waited:
                self._sleep(waited)
            # Noted before sending: a request that fails counts too, the server may have seen it.
            os.ftruncate(fd, 0)
            os.pwrite(fd, f"{self._now():.6f}".encode("ascii"), 0)
            yield waited
        finally:
            os.close(fd)  # closing releases the lock
