"""Time and waiting, as the resources see them: tests give them a clock they control."""

import time


class Clock:
    """Wall-clock time and sleeping. Every wait a resource makes (a server's Retry-After, a
    backoff, the Soulseek budget) goes through one, so a test can pass a clock that moves
    only when something waits, and no test sleeps for real to prove a wait happened."""

    def now(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)
