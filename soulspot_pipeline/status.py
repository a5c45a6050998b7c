"""status_sensor: keeps ``library.status`` current and says in each tick what it shows.

A phase's runs live in the Dagster instance, not in the library, so every few minutes the
sensor reads each asset's latest materialization and latest failed step from the instance,
builds its row (domain.status), and writes ``library.phase_status`` only when a row changed;
it also notes the Soulseek search budget in use. Its tick message is the view's verdict.

A sensor rather than an asset: it starts no run, so the health view adds no run every few
minutes to the run list, takes no slot of the duckdb pool, and is never itself held back by
the failure it should report.
"""

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta

import dagster as dg
import duckdb
from dagster._utils.schedules import reverse_cron_string_iterator  # dagster's cron maths; croniter is not installed

from soulspot_pipeline.domain.notify import PHASE_OVERDUE, Event, event_key
from soulspot_pipeline.domain.status import PhaseFacts, StatusRow, phase_row, summary
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.cloud_sources import CLOUD_SOURCES
from soulspot_pipeline.resources.search_budget import SearchBudget
from soulspot_pipeline.run_console import error_text
from soulspot_pipeline.settings import Settings
from soulspot_pipeline.store import notifications
from soulspot_pipeline.store.database import DatabaseLockedError, LibraryDatabase
from soulspot_pipeline.store.sql import transaction

STATUS_EVERY_S = 300
# Failed runs looked at, newest first: a phase that failed longer ago has surely succeeded since.
FAILED_RUNS_LOOKED_AT = 50


def phase_schedules(settings: Settings, cleanup_cron: str) -> dict[str, str]:
    """The cron each scheduled phase is held to. The merge runs with the scan and with the cloud
    sync; it is held to the scan's schedule, which runs it even with no provider set up."""
    return {
        "local_scan": settings.scan_cron,
        "audio_checks": settings.scan_cron,
        "library_entities": settings.scan_cron,
        **{spec.asset_name: settings.cloud_cron for spec in CLOUD_SOURCES},
        "identified_entities": settings.identify_cron,
        "enriched_metadata": settings.enrich_cron,
        "lastfm_metadata": settings.enrich_cron,
        "lyrics": settings.enrich_cron,
        "discography_gaps": settings.discography_cron,
        "images": settings.images_cron,
        "library_cleanup": cleanup_cron,
    }


def cron_interval(cron: str, timezone: str, now: datetime) -> timedelta:
    """The gap between the schedule's two latest ticks before ``now``."""
    ticks = reverse_cron_string_iterator(now.replace(tzinfo=UTC).timestamp(), cron, timezone)
    latest, before = next(ticks), next(ticks)
    return latest - before


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC).replace(tzinfo=None)


def latest_failures(instance: dg.DagsterInstance) -> dict[str, tuple[datetime, str]]:
    """Each step's latest failure in the latest failed runs: when, and the first line of its error."""
    runs = instance.get_run_records(
        filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.FAILURE]), limit=FAILED_RUNS_LOOKED_AT
    )
    failures: dict[str, tuple[datetime, str]] = {}
    for run in runs:  # newest first
        events = instance.get_records_for_run(run.dagster_run.run_id, of_type=dg.DagsterEventType.STEP_FAILURE).records
        for record in reversed(events):
            event = record.event_log_entry.dagster_event
            if event is None or event.step_key is None or event.step_key in failures:
                continue
            message = error_text(event.step_failure_data.error).splitlines() or ["no message"]
            failures[event.step_key] = (_utc(record.event_log_entry.timestamp), message[0])
    return failures


def phase_facts(
    instance: dg.DagsterInstance,
    phases: list[dg.AssetKey],
    schedules: Mapping[str, str],
    timezone: str,
    watched_since: Mapping[str, datetime],
    now: datetime,
) -> list[tuple[PhaseFacts, str | None]]:
    """Each phase's facts from the instance, with the cron it is held to."""
    failures = latest_failures(instance)
    out = []
    for key in phases:
        name = key.to_user_string()
        success = instance.get_latest_materialization_event(key)
        status = (
            success.asset_materialization.metadata.get("status") if success and success.asset_materialization else None
        )
        text = str(getattr(status, "value", status or ""))
        # A phase's step is named after its asset (one asset per op in this project).
        failed_at, message = failures.get(key.path[-1], (None, None))
        cron = schedules.get(name)
        facts = PhaseFacts(
            name=name,
            watched_since=watched_since.get(name, now),
            interval=cron_interval(cron, timezone, now) if cron else None,
            last_success=_utc(success.timestamp) if success else None,
            skipped=text if text.startswith("skipped") else None,
            last_failure=failed_at,
            failure_message=message,
        )
        out.append((facts, cron))
    return out


_PHASE_COLUMNS = "state, detail, since, last_success, last_failure, last_error, schedule"


def write_status(
    conn: duckdb.DuckDBPyConnection,
    instance: dg.DagsterInstance,
    phases: list[dg.AssetKey],
    schedules: Mapping[str, str],
    timezone: str,
    budget: tuple[int, int, float],
    now: datetime,
) -> int:
    """Write the phase rows and the budget in use that changed; returns how many rows were written."""
    stored = {
        r[0]: (r[1:-1], r[-1])
        for r in conn.execute(f"SELECT phase, {_PHASE_COLUMNS}, watched_since FROM library.phase_status").fetchall()
    }
    written = 0
    with transaction(conn):
        for facts, cron in phase_facts(
            instance, phases, schedules, timezone, {name: row[1] for name, row in stored.items()}, now
        ):
            row = phase_row(facts, now)
            if row.state == "problem" and row.detail.startswith("overdue") and row.since is not None:
                # Keyed by the phase and the success it is overdue since: one episode, one event.
                event = Event(
                    event_key(PHASE_OVERDUE, facts.name, row.since.isoformat()),
                    PHASE_OVERDUE,
                    facts.name,
                    row.detail,
                    now,
                )
                notifications.record(conn, [event], now)
            values = (
                row.state,
                row.detail,
                row.since,
                facts.last_success,
                facts.last_failure,
                facts.failure_message,
                cron,
            )
            if facts.name in stored and stored[facts.name][0] == values:
                continue
            conn.execute(
                "INSERT OR REPLACE INTO library.phase_status VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [facts.name, *values, facts.watched_since, now],
            )
            written += 1
        in_use = conn.execute("SELECT searches, max_searches, window_s FROM library.search_budget_use").fetchall()
        if in_use != [budget]:
            conn.execute("DELETE FROM library.search_budget_use")
            conn.execute("INSERT INTO library.search_budget_use VALUES (?, ?, ?, ?)", [*budget, now])
            written += 1
    return written


def read_status(conn: duckdb.DuckDBPyConnection) -> list[StatusRow]:
    return [
        StatusRow(*r)
        for r in conn.execute(
            "SELECT area, name, state, detail, since FROM library.status ORDER BY state <> 'problem', area, name"
        ).fetchall()
    ]


def build_status_sensor(
    settings: Settings, cleanup: dg.ScheduleDefinition, clock: Clock | None = None
) -> dg.SensorDefinition:
    clock = clock or Clock()
    assert isinstance(cleanup.cron_schedule, str)  # build_cleanup_schedule gives one cron string
    schedules = phase_schedules(settings, cleanup.cron_schedule)

    @dg.sensor(
        name="status_sensor",
        minimum_interval_seconds=STATUS_EVERY_S,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Every 5 minutes, notes each phase's last success, last failure and whether it is overdue "
            "(twice its schedule) in library.status, and says what that view shows: is everything healthy?"
        ),
    )
    def status_sensor(context: dg.SensorEvaluationContext, library_db: LibraryDatabase, search_budget: SearchBudget):
        now = _utc(clock.now())
        assert context.repository_def is not None  # the daemon evaluates a sensor within its code location
        phases = sorted(context.repository_def.asset_graph.get_all_asset_keys())
        budget = (search_budget.in_use(clock.now()), search_budget.max_searches, search_budget.window_s)
        try:
            # A short wait: a run writing the library is no reason to hold the sensor daemon.
            with library_db.writer(publish=False, wait_s=5) as conn:
                written = write_status(conn, context.instance, phases, schedules, settings.timezone, budget, now)
                rows = read_status(conn)
                if written:  # notebooks read the snapshot
                    library_db.publish(conn)
        except DatabaseLockedError:
            return dg.SkipReason("the library database is being written; looking again at the next tick")
        what = f"{written} row(s) changed" if written else "nothing changed since the last look"
        return dg.SkipReason(f"{summary(rows)}; {what}")

    return status_sensor
