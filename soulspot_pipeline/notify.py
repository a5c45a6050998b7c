"""Notifications: notifications_sensor sends the events of ``library.notifications``; run_failed_sensor
records failed runs there.

The phases record each event in the transaction of the change it reports (an import, a failed
download, a new release, a broken file; status_sensor an overdue phase), keyed so that it is
recorded once. Every minute notifications_sensor sends what is due, one digest per kind and
run, once that run has ended (so one run's events are never split over two messages), and
marks the events sent in the same write: a restart finds them sent and sends nothing again.
A notifier that fails is retried at once with backoff, then at later ticks (1, 5, 15, 60
minutes), then given up; each failure is recorded in the ledger, never fatal to anything.

Sensors rather than assets, as status_sensor: they start no run and take no pool slot.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb

from soulspot_pipeline.domain.notify import (
    RUN_FAILED,
    Digest,
    Event,
    digests,
    event_key,
    next_attempt,
    one_line,
    stale,
)
from soulspot_pipeline.resources.notifier import Notifier
from soulspot_pipeline.run_console import error_text
from soulspot_pipeline.store import notifications as store
from soulspot_pipeline.store.database import DatabaseLockedError, LibraryDatabase
from soulspot_pipeline.store.sql import transaction, utc_now

NOTIFY_EVERY_S = 60
# Failed runs of the last day looked at on every tick, in case run_failed_sensor missed one
# (the database was busy, the daemon was down): each is recorded once all the same.
FAILED_RUNS_LOOKED_AT = 50
# Digests sent per tick, so that a tick stays well within the daemon's time for it; the rest go next minute.
DIGESTS_PER_TICK = 20
# Events still `sending` this long after their tick claimed them: that tick was cut off mid-send.
# They are given up rather than sent again, so that nothing can arrive twice.
CLAIM_TIMEOUT = timedelta(minutes=10)
CLAIM_LOST = "the sending was cut off (the daemon stopped mid-tick): not sent again, so it cannot arrive twice"
OFF = "notifications are off: SOULSPOT_NOTIFY_URLS is not set (events are still recorded in library.notifications)"


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def run_failed_event(instance: dg.DagsterInstance, run: dg.DagsterRun, at: datetime) -> Event:
    """A failed run as one event: its job, its id, and each failed step with the first line of its error."""
    steps = []
    for record in instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records:
        event = record.event_log_entry.dagster_event
        if event is not None and event.step_key is not None:
            steps.append(f"step {event.step_key} failed: {one_line(error_text(event.step_failure_data.error))}")
    if not steps:  # the run failed outside its steps (launch, a killed process)
        failures = instance.get_records_for_run(run.run_id, of_type=dg.DagsterEventType.RUN_FAILURE).records
        message = failures[-1].event_log_entry.message if failures else ""
        steps.append(one_line(message) or "failed before any step ran")
    return Event(
        key=event_key(RUN_FAILED, run.run_id),
        kind=RUN_FAILED,
        subject=f"{run.job_name}, run {run.run_id}",
        detail="; ".join(steps),
        happened_at=at,
        run_id=run.run_id,
    )


def record_failed_runs(conn: duckdb.DuckDBPyConnection, instance: dg.DagsterInstance, now: datetime) -> int:
    """Record the last day's failed runs not in the ledger yet; returns how many."""
    records = instance.get_run_records(
        filters=dg.RunsFilter(
            statuses=[dg.DagsterRunStatus.FAILURE],
            # Aware: Dagster reads a naive time as local time.
            updated_after=now.replace(tzinfo=UTC) - timedelta(days=1),
        ),
        limit=FAILED_RUNS_LOOKED_AT,
    )
    keys = [event_key(RUN_FAILED, r.dagster_run.run_id) for r in records]
    known = {
        k
        for (k,) in conn.execute(
            "SELECT event_key FROM library.notifications WHERE list_contains(?, event_key)", [keys]
        ).fetchall()
    }
    events = [
        run_failed_event(instance, r.dagster_run, _ended_at(r))
        for r, key in zip(records, keys, strict=True)
        if key not in known
    ]
    return store.record(conn, events, now)


def _ended_at(record: dg.RunRecord) -> datetime:
    return _utc(record.end_time) if record.end_time else record.update_timestamp.astimezone(UTC).replace(tzinfo=None)


def _run_ended(instance: dg.DagsterInstance, run_id: str) -> bool:
    run = instance.get_run_by_id(run_id)
    return run is None or run.is_finished  # a deleted run has nothing more to add


@dataclass(frozen=True)
class Claim:
    """A digest claimed for sending: its events are ``sending`` until its outcome is written."""

    digest: Digest
    attempts: int  # the most any of its events has had
    have: frozenset[int]  # notifiers that already have every one of its events


@dataclass(frozen=True)
class Outcome:
    """What sending one digest did, as the ledger records it (kept in the sensor's cursor while
    the library cannot be written)."""

    keys: tuple[str, ...]
    title: str
    delivered: tuple[int, ...]
    error: str | None = None  # None: sent
    retry_at: datetime | None = None  # a failure tried again then; None: given up

    def to_json(self) -> dict:
        retry_at = self.retry_at.isoformat() if self.retry_at else None
        return {**asdict(self), "retry_at": retry_at}

    @classmethod
    def from_json(cls, value: dict) -> Outcome:
        retry_at = datetime.fromisoformat(value["retry_at"]) if value["retry_at"] else None
        return cls(tuple(value["keys"]), value["title"], tuple(value["delivered"]), value["error"], retry_at)


def claim(
    conn: duckdb.DuckDBPyConnection, instance: dg.DagsterInstance, notifier: Notifier, now: datetime
) -> tuple[list[Claim], dict[str, int]]:
    """The digests to send now, their events marked ``sending``; the events that wait or are
    skipped are counted (and skipped ones recorded so)."""
    queued = store.due(conn, now)
    out = {"waiting": 0, "not_selected": 0, "stale": 0}
    not_selected = [q.event.key for q in queued if q.event.kind not in notifier.events]
    store.skip(conn, not_selected, "not sent: its kind is not in SOULSPOT_NOTIFY_EVENTS")
    out["not_selected"] = len(not_selected)
    selected = [q for q in queued if q.event.kind in notifier.events]
    too_old = {
        q.event.key for q in selected if q.attempts == 0 and q.event.happened_at and stale(q.event.happened_at, now)
    }
    store.skip(conn, sorted(too_old), "not sent: over a day old when it could first go out")
    out["stale"] = len(too_old)
    ended: dict[str, bool] = {}
    ready = []
    for q in selected:
        if q.event.key in too_old:
            continue
        run_id = q.event.run_id
        if run_id is not None and not ended.setdefault(run_id, _run_ended(instance, run_id)):
            out["waiting"] += 1
            continue
        ready.append(q)
    by_key = {q.event.key: q for q in ready}
    claims = []
    for digest in digests([q.event for q in ready])[:DIGESTS_PER_TICK]:
        group = [by_key[k] for k in digest.keys]
        # Notifiers that already have it (an earlier attempt reached them) are not sent it again.
        have = frozenset(set.intersection(*(set(q.delivered_to) for q in group)))
        claims.append(Claim(digest, max(q.attempts for q in group), have))
    store.mark_sending(conn, [key for c in claims for key in c.digest.keys], now)
    return claims, out


def send(claims: list[Claim], notifier: Notifier, now: datetime) -> list[Outcome]:
    """Send each claimed digest (the library is not held meanwhile); what each sending did."""
    # A notifier that failed this tick is not tried again until the next one: a dead hook costs one
    # round of retries per minute, not one per digest.
    down: dict[int, str] = {}
    outcomes = []
    for c in claims:
        delivery = notifier.send(c.digest.title, c.digest.body, c.digest.notify_type, skip=c.have | set(down))
        for number, error in down.items():
            if number not in c.have:
                delivery.delivered.discard(number)
                delivery.failed[number] = error
        down.update(delivery.failed)
        delivered = tuple(sorted(delivery.delivered | c.have))
        if delivery.ok:
            outcomes.append(Outcome(c.digest.keys, c.digest.title, delivered))
            continue
        retry_at = next_attempt(c.attempts + 1, now)
        outcomes.append(Outcome(c.digest.keys, c.digest.title, delivered, delivery.error(), retry_at))
        dg.get_dagster_logger("soulspot").warning(f"notification {c.digest.title!r} not delivered: {delivery.error()}")
    return outcomes


def record_outcomes(conn: duckdb.DuckDBPyConnection, outcomes: list[Outcome], now: datetime) -> dict[str, int]:
    out = {"sent": 0, "events_sent": 0, "failed": 0, "given_up": 0}
    for o in outcomes:
        if o.error is None:
            store.mark_sent(conn, o.keys, o.title, o.delivered, now)
            out["sent"] += 1
            out["events_sent"] += len(o.keys)
        else:
            store.mark_failed(conn, o.keys, o.error, o.delivered, o.retry_at)
            out["failed" if o.retry_at else "given_up"] += 1
    return out


def _cursor_outcomes(cursor: str | None) -> list[Outcome]:
    return [Outcome.from_json(v) for v in json.loads(cursor)] if cursor else []


def _cursor(outcomes: list[Outcome]) -> str | None:
    return json.dumps([o.to_json() for o in outcomes]) if outcomes else None


def _say(counts: dict[str, int]) -> str:
    parts = [f"{counts['sent']} message(s) sent ({counts['events_sent']} event(s))"]
    if counts["failed"]:
        parts.append(f"{counts['failed']} not delivered, tried again later (library.notifications.last_error)")
    if counts["given_up"]:
        parts.append(f"{counts['given_up']} given up after the last attempt")
    if counts["waiting"]:
        parts.append(f"{counts['waiting']} event(s) wait for their run to end")
    if counts["not_selected"]:
        parts.append(f"{counts['not_selected']} of kinds not in SOULSPOT_NOTIFY_EVENTS skipped")
    if counts["stale"]:
        parts.append(f"{counts['stale']} over a day old skipped")
    return "; ".join(parts)


def build_notifications_sensor() -> dg.SensorDefinition:
    @dg.sensor(
        name="notifications_sensor",
        minimum_interval_seconds=NOTIFY_EVERY_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Every minute, sends the events of library.notifications through Apprise (SOULSPOT_NOTIFY_URLS): "
            "one digest per kind and run, once the run has ended; each event once."
        ),
    )
    def notifications_sensor(context: dg.SensorEvaluationContext, library_db: LibraryDatabase, notifier: Notifier):
        if not notifier.configured:
            return dg.SkipReason(OFF)
        now = _utc(notifier.clock.now())
        # Outcomes of the last tick that could not be written then (the library was busy).
        unwritten = _cursor_outcomes(context.cursor)
        try:
            # Short holds of the library: the sending itself happens between them, unlocked.
            with library_db.writer(publish=False, wait_s=5) as conn, transaction(conn):
                counts = record_outcomes(conn, unwritten, now)
                unwritten = []
                recorded = record_failed_runs(conn, context.instance, now)
                expired = store.expire_claims(conn, now - CLAIM_TIMEOUT, CLAIM_LOST)
                claims, waits = claim(conn, context.instance, notifier, now)
        except DatabaseLockedError:
            context.update_cursor(_cursor(unwritten))
            return dg.SkipReason("the library database is being written; looking again at the next tick")
        outcomes = send(claims, notifier, now)
        try:
            with library_db.writer(publish=False, wait_s=60) as conn, transaction(conn):
                for name, n in record_outcomes(conn, outcomes, now).items():
                    counts[name] += n
            context.update_cursor(None)
        except DatabaseLockedError:
            # Sent, not yet written: the cursor keeps what became of them, written at the next tick.
            context.update_cursor(_cursor(outcomes))
            return dg.SkipReason(
                f"{len(outcomes)} message(s) handled; the library database is being written, so what became "
                "of them is recorded at the next tick"
            )
        found = f"; {recorded} failed run(s) recorded" if recorded else ""
        lost = f"; {expired} event(s) whose sending was cut off given up (not sent twice)" if expired else ""
        return dg.SkipReason(f"{_say({**counts, **waits})}{found}{lost}")

    return notifications_sensor


def build_run_failed_sensor() -> dg.SensorDefinition:
    @dg.run_failure_sensor(
        name="run_failed_sensor",
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Records each failed run, its job and failed steps, in library.notifications (notifications_sensor sends it).",
    )
    def run_failed_sensor(context: dg.RunFailureSensorContext, library_db: LibraryDatabase):
        run = context.dagster_run
        record = context.instance.get_run_record_by_id(run.run_id)
        at = _ended_at(record) if record else utc_now()
        # Longer than notifications_sensor's wait: this sensor sees each failure once (notifications_sensor
        # also looks at the last day's failed runs, so a failure missed here is recorded there).
        with library_db.writer(publish=False, wait_s=30) as conn, transaction(conn):
            new = store.record(conn, [run_failed_event(context.instance, run, at)], utc_now())
        return dg.SkipReason(f"run {run.run_id} of {run.job_name} failed: {'recorded' if new else 'already recorded'}")

    return run_failed_sensor
