"""Is everything healthy? Each phase's row of ``library.status``, from what Dagster recorded of it.

A phase is a problem when its latest run failed (a failure newer than its last success) or when
it is overdue: no success within twice its schedule's interval. A phase that was never seen
succeeding is measured from when the status sensor first watched it, so a fresh install is not
all red. A phase whose last materialization says ``skipped: …`` (not configured, turned off) is
``off``.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

STATES = ("ok", "problem", "off")
# How many schedule intervals a phase may go without a success before it is overdue.
OVERDUE_INTERVALS = 2


@dataclass(frozen=True)
class PhaseFacts:
    """What the Dagster instance knows of one phase (asset)."""

    name: str
    watched_since: datetime
    interval: timedelta | None = None  # None: started by a sensor or by its upstream, never due on its own
    last_success: datetime | None = None
    skipped: str | None = None  # the last materialization's "skipped: …" status, if it skipped
    last_failure: datetime | None = None
    failure_message: str | None = None


@dataclass(frozen=True)
class StatusRow:
    area: str
    name: str
    state: str
    detail: str
    since: datetime | None


def overdue(facts: PhaseFacts, now: datetime) -> bool:
    """No success within twice the schedule's interval (counted from the first look if none yet)."""
    if facts.interval is None:
        return False
    return now - (facts.last_success or facts.watched_since) > OVERDUE_INTERVALS * facts.interval


def _span(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    if minutes < 120:
        return f"{minutes} min"
    if minutes < 48 * 60:
        return f"{minutes // 60} h"
    return f"{minutes // (24 * 60)} days"


def _at(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%d %H:%M")


def phase_row(facts: PhaseFacts, now: datetime) -> StatusRow:
    def row(state: str, detail: str, since: datetime | None) -> StatusRow:
        return StatusRow("phase", facts.name, state, detail, since)

    failing = facts.last_failure is not None and (facts.last_success is None or facts.last_failure > facts.last_success)
    if failing:
        assert facts.last_failure is not None
        return row("problem", f"failed: {facts.failure_message or 'no message'}", facts.last_failure)
    if overdue(facts, now):
        assert facts.interval is not None
        due = f"due every {_span(facts.interval)}"
        if facts.last_success is None:
            return row("problem", f"overdue: never succeeded ({due})", facts.watched_since)
        # No "… ago": the row changes only when the phase does, so the sensor rewrites it only then.
        return row("problem", f"overdue: last success at {_at(facts.last_success)} ({due})", facts.last_success)
    if facts.last_success is None:
        return row("off", "not run yet", None)
    if facts.skipped:
        return row("off", facts.skipped, facts.last_success)
    return row("ok", f"last success at {_at(facts.last_success)}", facts.last_success)


def summary(rows: list[StatusRow], limit: int = 5) -> str:
    """One line for the sensor's tick: the problems by name (``limit`` at most), or that all is well."""
    problems = [r for r in rows if r.state == "problem"]
    counts = f"{sum(r.state == 'ok' for r in rows)} ok, {sum(r.state == 'off' for r in rows)} off"
    if not problems:
        return f"everything is healthy ({counts})"
    named = "; ".join(f"{r.area} {r.name}: {r.detail}" for r in problems[:limit])
    more = f"; and {len(problems) - limit} more" if len(problems) > limit else ""
    return f"{len(problems)} problem(s): {named}{more} ({counts}; SELECT * FROM library.status)"
