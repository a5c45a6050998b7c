"""One request rate shared by every process on the machine: runs, sensors, notebooks.

A small file holds the time of the last request; an exclusive lock on it makes the
processes take turns. A caller waits until the interval since the last request has
passed, then records its own and goes.
"""

from __future__ import annotations

import fcntl
import os
import time
from pathlib import Path

# Requests leave a little after the throttle lets them go; the margin keeps the gaps the
# server sees at or above the interval.
MARGIN_S = 0.02


class FileThrottle:
    def __init__(self, path: Path | str, interval_s: float):
        self.path = Path(path)
        self.interval_s = interval_s

    def wait(self) -> float:
        """Block until this process may send the next request; returns the seconds waited."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            raw = os.pread(fd, 64, 0).decode("ascii", "ignore").strip()
            try:
                last = float(raw)
            except ValueError:
                last = 0.0
            waited = max(0.0, last + self.interval_s + MARGIN_S - time.time())
            if waited:
                time.sleep(waited)
            stamp = f"{time.time():.6f}".encode("ascii")
            os.ftruncate(fd, 0)
            os.pwrite(fd, stamp, 0)
            return waited
        finally:
            os.close(fd)  # closing releases the lock
