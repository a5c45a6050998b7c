"""Calling a provider under a retry policy: waits for 429s, backs off on 5xx and timeouts."""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

import dagster as dg

from soulspot_pipeline.domain.cloud import EndpointUnavailable, LoginRequired, ProviderError
from soulspot_pipeline.domain.resilience import RetryPolicy, retry_delay

T = TypeVar("T")


class HttpFailure(Exception):
    """One failed call, as the retry loop needs to see it.

    ``server`` names the host that failed when it is not the one the loop was given
    (a login server). ``answered`` is the status the server actually sent when the
    failure is treated as another (a 200 whose body is no answer counts as a 502).
    """

    def __init__(
        self,
        status: int | None,
        message: str,
        retry_after: float | None = None,
        server: str | None = None,
        answered: str | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.message = message
        self.retry_after = retry_after
        self.server = server
        self.answered = answered


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


def space_request(
    last: float | None, rate: float, now: Callable[[], float], sleep: Callable[[float], None], stats: CallStats
) -> float:
    """Wait until ``1/rate`` s after ``last`` (the previous request's start, on ``now``'s clock),
    counting the wait in ``stats``; returns this request's start. For a rate kept in one process
    (``FileThrottle`` keeps one across processes)."""
    if last is not None and rate > 0:
        wait = last + 1.0 / rate - now()
        if wait > 0:
            stats.waited_s += wait
            sleep(wait)
    return now()


def _status_text(failure: HttpFailure) -> str:
    if failure.answered is not None:
        return f"HTTP {failure.answered}"
    return f"HTTP {failure.status}" if failure.status else "no answer"


def _what_to_do(failure: HttpFailure, setting: str | None) -> str:
    where = f" and {setting}" if setting else ""
    if failure.status is None:
        return f"Check the network{where}; the next sync tries again."
    if failure.status == 429:
        wait = f" (it asked to wait {failure.retry_after:.0f} s)" if failure.retry_after is not None else ""
        return f"The rate limit is spent for now{wait}; the next sync tries again."
    if failure.status >= 500:
        return "The server kept failing; the next sync tries again."
    target = f"; check that {setting} points at the provider's API" if setting else ""
    return f"The server refused the request{target}."


def give_up_message(endpoint: str, attempts: int, failure: HttpFailure, server: str, setting: str | None) -> str:
    """What failed, at which server, with which status, and what to do about it."""
    at = failure.server or server
    return (
        f"{endpoint} failed after {attempts} attempt(s): {_status_text(failure)} {failure.message} from {at}. "
        f"{_what_to_do(failure, setting)}"
    )


def call_with_retries(
    call: Callable[[], T],
    *,
    endpoint: str,
    policy: RetryPolicy,
    stats: CallStats,
    login_hint: str | None = None,
    sleep: Callable[[float], None] = time.sleep,
    server: str | None = None,
    setting: str | None = None,
) -> T:
    """Run ``call`` (which raises ``HttpFailure``) until it succeeds or the policy gives up.

    401 means the login is gone (``LoginRequired`` with ``login_hint``); 403 and 404
    mean the provider does not offer this endpoint (``EndpointUnavailable``); what
    still fails after the retries is a ``ProviderError``. Given the ``server`` called
    (and the ``setting`` that names it), the messages say where it failed and what to do.
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
                who = failure.server or server or "the provider"
                raise LoginRequired(
                    f"{endpoint}: {who} refused the login ({failure.message}). {login_hint or ''}".strip()
                ) from None
            if failure.status in (403, 404):
                raise EndpointUnavailable(endpoint, failure.status, failure.message) from None
            delay = retry_delay(policy, attempt, failure.status, failure.retry_after)
            if delay is None:
                if server is not None:
                    raise ProviderError(give_up_message(endpoint, attempt, failure, server, setting)) from None
                raise ProviderError(
                    f"{endpoint} failed after {attempt} attempt(s): {failure.status or 'no answer'} {failure.message}"
                ) from None
            stats.retries += 1
            dg.get_dagster_logger("soulspot").warning(
                f"{endpoint}: {_status_text(failure)} {failure.message}; "
                f"retrying in {delay:.0f} s ({attempt + 1} of {policy.max_attempts})"
            )
            if failure.status == 429:
                stats.rate_limited += 1
            stats.waited_s += delay
            sleep(delay)
