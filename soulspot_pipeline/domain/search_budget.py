"""How long to wait before the next Soulseek search, so the searches of every run and
sensor together stay within the server's limit (a client searching more than about 34
times in 220 s is banned for half an hour)."""

from __future__ import annotations

from collections.abc import Iterable

MAX_SEARCHES, WINDOW_S = 34, 220.0


def wait_before_search(
    starts: Iterable[float], now: float, max_searches: int = MAX_SEARCHES, window_s: float = WINDOW_S
) -> float:
    """Seconds until a new search keeps every ``window_s`` window at ``max_searches`` or fewer
    (``starts``: when earlier searches started, in seconds)."""
    recent = sorted(s for s in starts if s > now - window_s)
    if len(recent) < max_searches:
        return 0.0
    # The oldest search that must leave the window for one more to fit.
    return max(0.0, recent[len(recent) - max_searches] + window_s - now)
