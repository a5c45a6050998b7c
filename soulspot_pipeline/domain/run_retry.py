"""When a sensor starts a run for the work it sees, and when it tries a failed one again.

A sensor names the work it saw (a set of pending tracks, a change of the music folder, the
state of the transfers) and numbers each run it starts for it: the run key is the work and
the attempt. A success is never repeated, a run in progress is never doubled, and a failed
or canceled run is tried again after a growing backoff, so a failure never blocks the work
for ever. Pure decisions over plain numbers: the sensors read the run records and the
cursor, these functions say what to do.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum

# Waits after the 1st, 2nd and 3rd failure in a row; every later one waits the last.
BACKOFF_S: tuple[float, ...] = (5 * 60, 15 * 60, 60 * 60)
# A requested run is normally in the run records by the next tick; one still missing after
# this long was lost (the daemon stopped before creating it) and is requested again.
START_GRACE_S = 10 * 60


def backoff_s(failures: int) -> float:
    """Seconds to wait after ``failures`` failed runs in a row before trying again."""
    if failures < 1:
        return 0.0
    return BACKOFF_S[min(failures, len(BACKOFF_S)) - 1]


class RunState(StrEnum):
    SUCCEEDED = "succeeded"
    FAILED = "failed"  # failed or canceled: worth another try
    RUNNING = "running"  # queued, starting, running or canceling


@dataclass(frozen=True, slots=True)
class RunSeen:
    """One run of the work, as the run records tell it."""

    attempt: int
    state: RunState
    ended_at: float | None  # None while it runs


@dataclass(frozen=True, slots=True)
class LastRun:
    """What the runs of one piece of work add up to."""

    attempt: int  # the highest attempt number used so far
    state: RunState  # of the newest run
    ended_at: float | None
    failures: int  # failed runs in a row, newest first


def summarize(runs: Sequence[RunSeen]) -> LastRun | None:
    """The runs of one work, newest first, as one ``LastRun`` (None: never run)."""
    if not runs:
        return None
    failures = 0
    for run in runs:
        if run.state is not RunState.FAILED:
            break
        failures += 1
    newest = runs[0]
    return LastRun(max(r.attempt for r in runs), newest.state, newest.ended_at, failures)


@dataclass(frozen=True, slots=True)
class Requested:
    """The sensor's cursor: the last run it requested, and for which work."""

    work: str
    attempt: int
    at: float
    seen: str | None = None  # what the sensor last saw, when the work's name does not say it


def cursor_text(requested: Requested) -> str:
    fields: dict[str, object] = {"work": requested.work, "attempt": requested.attempt, "at": round(requested.at, 3)}
    if requested.seen is not None:
        fields["seen"] = requested.seen
    return json.dumps(fields, separators=(",", ":"))


def read_cursor(text: str | None) -> Requested | None:
    """The cursor, or None when there is none or it is not ours (an older sensor's digest)."""
    if not text:
        return None
    try:
        fields = json.loads(text)
        seen = fields.get("seen")
        return Requested(
            work=str(fields["work"]),
            attempt=int(fields["attempt"]),
            at=float(fields["at"]),
            seen=None if seen is None else str(seen),
        )
    except (ValueError, TypeError, KeyError, AttributeError):
        return None


class Why(StrEnum):
    NEW = "new"  # never run: request attempt 1
    RETRY = "retry"  # the last run failed and its backoff is over
    REPEAT = "repeat"  # the last run succeeded long enough ago to look again
    LOST = "lost"  # requested, never created: request the same attempt (same run key) again
    DONE = "done"  # the last run succeeded
    RUNNING = "running"  # the last run is queued or running
    STARTING = "starting"  # requested, not yet in the run records
    BACKOFF = "backoff"  # the last run failed; waiting before the next try


@dataclass(frozen=True, slots=True)
class RunDecision:
    request: bool
    why: Why
    attempt: int  # the attempt requested now, the one waited for, or the next one due
    since: float | None = None  # when the run being waited for was requested, or when the last run ended
    due_at: float | None = None  # when the next run may start
    failures: int = 0


def decide(
    last: LastRun | None, requested: Requested | None, now: float, *, repeat_after_s: float | None = None
) -> RunDecision:
    """Whether to start a run for one work now.

    ``last`` sums up the work's runs (``summarize``); ``requested`` is the sensor's cursor
    when it names this work; ``repeat_after_s`` makes a success worth repeating after that
    long (a periodic look), where otherwise a success is final.
    """
    if requested is not None and (last is None or requested.attempt > last.attempt):
        if now < requested.at + START_GRACE_S:
            return RunDecision(False, Why.STARTING, requested.attempt, since=requested.at)
        return RunDecision(True, Why.LOST, requested.attempt)
    if last is None:
        return RunDecision(True, Why.NEW, 1)
    ended = last.ended_at if last.ended_at is not None else now
    if last.state is RunState.RUNNING:
        return RunDecision(False, Why.RUNNING, last.attempt)
    if last.state is RunState.SUCCEEDED:
        if repeat_after_s is None:
            return RunDecision(False, Why.DONE, last.attempt, since=ended)
        due = ended + repeat_after_s
        if now >= due:
            return RunDecision(True, Why.REPEAT, last.attempt + 1)
        return RunDecision(False, Why.DONE, last.attempt, since=ended, due_at=due)
    due = ended + backoff_s(last.failures)
    if now >= due:
        return RunDecision(True, Why.RETRY, last.attempt + 1, failures=last.failures)
    return RunDecision(False, Why.BACKOFF, last.attempt + 1, since=ended, due_at=due, failures=last.failures)


def clock_time(timestamp: float | None) -> str:
    if timestamp is None:
        return "an unknown time"
    return datetime.fromtimestamp(timestamp, UTC).strftime("%H:%M:%S UTC")


def skip_message(decision: RunDecision, what: str) -> str:
    """Why no run is started, naming the work as ``what`` ("the download run for these 2 pending tracks")."""
    match decision.why:
        case Why.STARTING:
            return (
                f"{what} was already requested at {clock_time(decision.since)} (attempt {decision.attempt}); "
                "waiting for it to start"
            )
        case Why.RUNNING:
            return f"{what} is already running (attempt {decision.attempt})"
        case Why.DONE:
            text = f"{what} already succeeded"
            if decision.since is not None:
                text += f" at {clock_time(decision.since)}"
            if decision.due_at is not None:
                text += f"; next look at {clock_time(decision.due_at)}"
            return text
        case Why.BACKOFF:
            failed = "failed" if decision.failures <= 1 else f"failed {decision.failures} times in a row, last"
            return (
                f"{what} {failed} at {clock_time(decision.since)}; "
                f"next try at {clock_time(decision.due_at)} (attempt {decision.attempt})"
            )
    raise ValueError(f"{decision.why} starts a run; there is no skip to explain")
