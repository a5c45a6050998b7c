"""Calling a provider under a retry policy: waits for 429s, backs off on 5xx and timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from soulspot_pipeline.domain.cloud import EndpointUnavailable, LoginRequired, ProviderError
from soulspot_pipeline.domain.resilience import RetryPolicy, retry_delay

T = TypeVar("T")


class HttpFailure(Exception):
    """One failed call, as the retry loop needs to see it."""

    def __init__(self, status: int | None, message: str, retry_after: float | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after


@dataclass
class CallStats:
    """What calling a provider cost: requests, retries and time spent waiting."""

    requests: int = 0
    retries: int = 0
    rate_limited: int = 0
    waited_s: float = 0.0
    statuses: dict[str, int] = field(default_factory=dict)

    def as_metadata(self) -> dict[str, float | int]:
        return {
            "requests": self.requests,
            "retries": self.retries,
            "rate_limited": self.rate_limited,
            "waited_s": round(self.waited_s, 1),
        }


def call_with_retries(
    call: Callable[[], T],
    *,
    endpoint: str,
    policy: RetryPolicy,
    stats: CallStats,
    login_hint: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
) -> T:
    """Run ``call`` (which raises ``HttpFailure``) until it succeeds or the policy gives up.

    401 means the login is gone (``LoginRequired`` with ``login_hint``); 403 and 404
    mean the provider does not offer this endpoint (``EndpointUnavailable``); what
    still fails after the retries is a ``ProviderError``.
    """
    attempt = 0
    while True:
        attempt += 1
        stats.requests += 1
        try:
            return call()
        except HttpFailure as failure:
            key = str(failure.status or "timeout")
            stats.statuses[key] = stats.statuses.get(key, 0) + 1
            if failure.status == 401:
                raise LoginRequired(
                    f"{endpoint}: the provider refused the login ({failure.message}). {login_hint or ''}".strip()
                ) from None
            if failure.status in (403, 404):
                raise EndpointUnavailable(endpoint, failure.status, failure.message) from None
            delay = retry_delay(policy, attempt, failure.status, failure.retry_after)
            if delay is None:
                raise ProviderError(
                    f"{endpoint} failed after {attempt} attempt(s): {failure.status or 'no answer'} {failure.message}"
                ) from None
            stats.retries += 1
            if failure.status == 429:
                stats.rate_limited += 1
            stats.waited_s += delay
            sleep(delay)
