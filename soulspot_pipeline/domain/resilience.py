"""When to retry a provider call, and when to stop calling a provider for a while.

Pure decisions over plain numbers: the HTTP clients apply them, tests check them
without a network.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    max_attempts: int = 5
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    # A Retry-After longer than this is a quota for the day, not a pause: give up.
    max_retry_after_s: float = 300.0


def retry_delay(policy: RetryPolicy, attempt: int, status: int | None, retry_after: float | None) -> float | None:
    """Seconds to wait before attempt ``attempt + 1``, or None to give up.

    ``status`` None means a timeout or a dropped connection. 429 waits what the
    provider asked for; 5xx and timeouts back off exponentially; anything else is not
    worth repeating.
    """
    if attempt >= policy.max_attempts:
        return None
    backoff = min(policy.max_delay_s, policy.base_delay_s * 2 ** (attempt - 1))
    if status == 429:
        wait = retry_after if retry_after is not None else backoff
        return wait if wait <= policy.max_retry_after_s else None
    if status is None or status >= 500:
        return backoff
    return None


def parse_retry_after(value: str | None) -> float | None:
    """Retry-After in seconds (the providers send delta-seconds)."""
    if value is None:
        return None
    try:
        return max(0.0, float(value.strip()))
    except ValueError:
        return None


@dataclass(frozen=True, slots=True)
class Breaker:
    """A provider's health: consecutive failed syncs and until when it is left alone."""

    failures: int = 0
    open_until: datetime | None = None
    last_error: str | None = None


BREAKER_THRESHOLD = 3
BREAKER_COOLDOWN = timedelta(minutes=30)
BREAKER_MAX_COOLDOWN = timedelta(hours=24)


def breaker_allows(breaker: Breaker, now: datetime) -> bool:
    return breaker.open_until is None or now >= breaker.open_until


def breaker_after_failure(breaker: Breaker, now: datetime, error: str) -> Breaker:
    """Count the failure; from the threshold on, rest the provider, twice as long each time."""
    failures = breaker.failures + 1
    open_until = None
    if failures >= BREAKER_THRESHOLD:
        doublings = min(failures - BREAKER_THRESHOLD, 16)  # past the cap anyway; keeps the number small
        cooldown = min(BREAKER_MAX_COOLDOWN, BREAKER_COOLDOWN * 2**doublings)
        open_until = now + cooldown
    return replace(breaker, failures=failures, open_until=open_until, last_error=error)


def breaker_after_success(breaker: Breaker) -> Breaker:
    return Breaker()
