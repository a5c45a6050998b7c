"""What to do about a download slskd is carrying: wait, note its progress, import it, or
give it up and try the next candidate.

A transfer queued at the peer for too long, or stalled mid-way, is cancelled and the next
candidate tried; so is one that failed. After ``max_attempts`` a track is failed.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from soulspot_pipeline.domain.slskd_states import transfer_outcome

WAIT, PROGRESS, IMPORT, RETRY, FAIL = "wait", "progress", "import", "retry", "fail"
MAX_ATTEMPTS = 3
STALL_AFTER = timedelta(minutes=15)
QUEUED_AFTER = timedelta(hours=2)
# slskd may list a transfer a moment after taking it.
LISTING_GRACE = timedelta(minutes=2)


@dataclass(frozen=True, slots=True)
class Tracked:
    """A download as the library knows it."""

    track_id: str
    attempts: int
    percent_complete: float
    enqueued_at: datetime
    progress_at: datetime


@dataclass(frozen=True, slots=True)
class Verdict:
    action: str
    reason: str | None = None
    percent: float | None = None


def _minutes(delta: timedelta) -> str:
    minutes = round(delta.total_seconds() / 60)
    return f"{minutes} min" if minutes < 120 else f"{minutes / 60:.0f} h"


def judge_transfer(
    tracked: Tracked,
    state: frozenset[str] | None,
    percent: float | None,
    exception: str | None,
    now: datetime,
    *,
    max_attempts: int = MAX_ATTEMPTS,
    stall_after: timedelta = STALL_AFTER,
    queued_after: timedelta = QUEUED_AFTER,
) -> Verdict:
    """The verdict on one transfer; ``state`` None means slskd does not list it."""
    give_up = RETRY if tracked.attempts < max_attempts else FAIL
    if state is None:
        if now - tracked.enqueued_at < LISTING_GRACE:
            return Verdict(WAIT)
        return Verdict(give_up, "slskd no longer lists the transfer")
    outcome = transfer_outcome(state)
    if outcome.status == "succeeded":
        return Verdict(IMPORT, percent=100.0)
    if outcome.status == "failed":
        detail = f": {exception}" if exception else ""
        return Verdict(give_up, f"transfer {outcome.reason}{detail}")
    if outcome.status in ("queued_remotely", "requested", "queued_locally"):
        waited = now - tracked.enqueued_at
        if waited > queued_after:
            return Verdict(give_up, f"queued at the peer for {_minutes(waited)}")
        return Verdict(WAIT)
    # Initializing or in progress: moving, or stalled.
    if percent is not None and percent > tracked.percent_complete:
        return Verdict(PROGRESS, percent=percent)
    still = now - tracked.progress_at
    if still > stall_after:
        return Verdict(give_up, f"stalled at {tracked.percent_complete:.0f}% for {_minutes(still)}")
    return Verdict(WAIT)
