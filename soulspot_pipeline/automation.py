"""Jobs, schedules and sensors: when the phases run."""

import hashlib
from collections.abc import Mapping

import dagster as dg
import duckdb
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition  # not exported
from dagster._record import copy as copy_record

from soulspot_pipeline.assets.cleanup import library_cleanup
from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.downloads import download_transfers, downloads
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.run_retry import (
    Requested,
    RunDecision,
    RunSeen,
    RunState,
    Why,
    clock_time,
    cursor_text,
    decide,
    read_cursor,
    skip_message,
    summarize,
)
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.slskd import SlskdResource
from soulspot_pipeline.run_recovery import recover_abandoned_runs
from soulspot_pipeline.settings import Settings
from soulspot_pipeline.store.database import DatabaseLockedError, LibraryDatabase

# Files modified this recently may still be being copied in; a scan waits for them.
SETTLE_SECONDS = 30

Job = dg.JobDefinition | UnresolvedAssetJobDefinition

library_refresh = dg.define_asset_job(
    "library_refresh",
    selection=dg.AssetSelection.all(),
    description="A full library refresh: every phase, in lineage order.",
)

music_folder_scan = dg.define_asset_job(
    "music_folder_scan",
    selection=dg.AssetSelection.assets(local_scan, dg.AssetKey("audio_checks"), library_entities),
    description="Scan the music folder, decode what is new or changed, and merge it into the library.",
)


cloud_sync = dg.define_asset_job(
    "cloud_sync",
    selection=dg.AssetSelection.assets(*cloud_assets, library_entities),
    description="Sync likes, saves, follows and playlists from every configured provider into the library.",
)


download_wanted = dg.define_asset_job(
    "download_wanted",
    selection=dg.AssetSelection.assets(downloads),
    description="Search Soulseek for the pending tracks, choose the best files and hand them to slskd.",
)


follow_downloads = dg.define_asset_job(
    "follow_downloads",
    selection=dg.AssetSelection.assets(download_transfers),
    description="Follow slskd's transfers: note progress, retry stalled or failed ones, import finished files.",
)

cleanup = dg.define_asset_job(
    "cleanup",
    selection=dg.AssetSelection.assets(library_cleanup),
    description="Give up downloads failed for a week and remove leftovers of interrupted imports.",
)


def with_run_tags(job: Job, tags: Mapping[str, str]) -> Job:
    """``job``, every run of it also tagged with ``tags`` (SOULSPOT_RUN_TAGS: the demo's soulspot/mode=DEMO).

    They join the job's tags as well as its run tags: a run launched from the UI takes the
    former, one started by a sensor, a schedule or ``dagster job execute`` the latter.
    """
    if not tags:
        return job
    if isinstance(job, UnresolvedAssetJobDefinition):
        return copy_record(job, tags={**(job.tags or {}), **tags}, run_tags={**(job.run_tags or {}), **tags})
    separate = {**job.run_tags, **tags} if job.has_separately_defined_run_tags else None
    return job._copy(tags={**job.tags, **tags}, run_tags=separate)  # no public way to copy a job with new tags


def _tags_of_runs(job: Job) -> dict[str, str]:
    # Dagster adds them to the run itself; a request that names them shows, in its tick and in
    # tests, every tag its run will carry.
    return dict(job.run_tags or {})


def build_cleanup_schedule(job: Job = cleanup) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name="cleanup_schedule",
        job=job,
        cron_schedule="30 4 * * *",
        tags=_tags_of_runs(job),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description="Cleans up every night at 04:30.",
    )


def _schedule(name: str, job: Job, cron: str, settings: Settings, what: str, variable: str) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone=settings.timezone,
        tags=_tags_of_runs(job),
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{what} on '{cron}' ({variable}).",
    )


def build_cloud_schedule(settings: Settings, job: Job = cloud_sync) -> dg.ScheduleDefinition:
    return _schedule(
        "cloud_sync_schedule",
        job,
        settings.cloud_cron,
        settings,
        "Syncs the cloud providers",
        "SOULSPOT_CLOUD_CRON",
    )


def build_music_folder_schedule(settings: Settings, job: Job = music_folder_scan) -> dg.ScheduleDefinition:
    return _schedule(
        "music_folder_scan_schedule",
        job,
        settings.scan_cron,
        settings,
        "Scans the music folder",
        "SOULSPOT_SCAN_CRON",
    )


def on_cron(asset: dg.AssetsDefinition, cron: str, settings: Settings) -> dg.AssetsDefinition:
    """The asset, materialized after each cron tick once everything it depends on has
    been updated since that tick: a failed upstream phase holds it back."""
    condition = dg.AutomationCondition.on_cron(cron, settings.timezone)
    return asset.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=condition))


def build_automation_sensor(
    settings: Settings, targets: list[dg.AssetsDefinition]
) -> dg.AutomationConditionSensorDefinition:
    return dg.AutomationConditionSensorDefinition(
        "phase_automation",
        target=targets,
        run_tags=settings.run_tags,
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        description=(
            f"Identifies on '{settings.identify_cron}' (SOULSPOT_IDENTIFY_CRON), enriches on "
            f"'{settings.enrich_cron}' (SOULSPOT_ENRICH_CRON), compares discographies on "
            f"'{settings.discography_cron}' (SOULSPOT_DISCOGRAPHY_CRON) and fetches images on "
            f"'{settings.images_cron}' (SOULSPOT_IMAGES_CRON), each only after its upstream phases succeeded."
        ),
    )


def build_music_folder_sensor(
    settings: Settings, clock: Clock | None = None, *, job: Job = music_folder_scan
) -> dg.SensorDefinition:
    clock = clock or Clock()

    @dg.sensor(
        name="music_folder_sensor",
        job=job,
        minimum_interval_seconds=settings.music_sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a scan when audio files in the music folder are added, changed or removed.",
    )
    def music_folder_sensor(context: dg.SensorEvaluationContext, music_folder: MusicFolder):
        if not music_folder.exists():
            return dg.SkipReason(f"the music folder {music_folder.music_dir} does not exist")
        fingerprint = music_folder.fingerprint()
        now = clock.now()
        cursor = read_cursor(context.cursor)
        if cursor is not None and cursor.seen == fingerprint.digest:
            work = cursor.work  # no change since the last request: that request's scan is the work
        else:
            age = now - fingerprint.newest_mtime_ns / 1e9
            if age < SETTLE_SECONDS:
                return dg.SkipReason(f"files are still changing (newest {age:.0f} s old); waiting for them to settle")
            # The work is the change (before -> after): a folder that returns to an earlier
            # state is still scanned.
            work = f"music-folder:{cursor.seen if cursor else 'first'}->{fingerprint.digest}"
        decision = _decide(context, work, now)
        if decision.why is Why.DONE:
            return dg.SkipReason(
                f"no change in {fingerprint.files} audio files since the last scan, "
                f"which succeeded at {clock_time(decision.since)}"
            )
        if not decision.request:
            return dg.SkipReason(skip_message(decision, f"the scan of the change to {fingerprint.files} audio files"))
        return _request(
            context,
            job,
            work,
            decision,
            now,
            {"soulspot/trigger": "music_folder_sensor", "soulspot/files": str(fingerprint.files)},
            seen=fingerprint.digest,
        )

    return music_folder_sensor


@dg.sensor(
    name="abandoned_runs_sensor",
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Marks runs whose process died as failed, so they do not hold the duckdb pool forever.",
)
def abandoned_runs_sensor(context: dg.SensorEvaluationContext):
    recovered = recover_abandoned_runs(context.instance)
    if recovered:
        context.log.warning(f"recovered abandoned runs: {', '.join(recovered)}")
        return dg.SkipReason(
            f"marked {len(recovered)} abandoned run(s) failed and freed their slots: {', '.join(recovered)}"
        )
    return dg.SkipReason("no abandoned runs")


def _downloads_query(library_db: LibraryDatabase, slskd: SlskdResource, sql: str) -> list[tuple] | dg.SkipReason:
    """What a download sensor reads from the library, or why it cannot look now."""
    if not slskd.configured:
        return dg.SkipReason("slskd is not configured (SLSKD_URL, SLSKD_API_KEY)")
    try:
        with library_db.get_connection(read_only=True, wait_s=2) as conn:
            return conn.execute(sql).fetchall()
    except DatabaseLockedError:
        return dg.SkipReason("the library database is being written; looking again at the next tick")
    except (duckdb.IOException, duckdb.CatalogException) as exc:  # not created, or not yet upgraded, by a run
        return dg.SkipReason(f"the library cannot be read yet ({type(exc).__name__}); a run creates it")


_PENDING = """
SELECT t.track_id FROM library.tracks t LEFT JOIN library.downloads d USING (track_id)
WHERE t.download_state = 'pending' AND d.track_id IS NULL ORDER BY 1
"""


_PAUSED = "SELECT changed_at FROM library.download_control WHERE key = 'paused' AND value = 'true'"


def build_pending_downloads_sensor(clock: Clock | None = None, *, job: Job = download_wanted) -> dg.SensorDefinition:
    clock = clock or Clock()

    @dg.sensor(
        name="pending_downloads_sensor",
        job=job,
        minimum_interval_seconds=120,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Starts a download run when tracks become pending that no download has been tried for.",
    )
    def pending_downloads_sensor(
        context: dg.SensorEvaluationContext, library_db: LibraryDatabase, slskd: SlskdResource
    ):
        rows = _downloads_query(library_db, slskd, _PENDING)
        if isinstance(rows, dg.SkipReason):
            return rows
        pending = [row[0] for row in rows]
        if not pending:
            return dg.SkipReason("no new pending tracks")
        paused = _downloads_query(library_db, slskd, _PAUSED)
        if isinstance(paused, list) and paused:  # a database not yet upgraded has no switch: not paused
            return dg.SkipReason(
                f"{len(pending)} pending tracks wait: downloads are paused since {paused[0][0]:%Y-%m-%d %H:%M} UTC "
                "(pause_downloads); resume_downloads starts them again"
            )
        # The work is the set of new pending tracks: its success is never repeated, its failure retried.
        work = f"pending:{_digest(pending)}"
        now = clock.now()
        decision = _decide(context, work, now)
        if not decision.request:
            return dg.SkipReason(skip_message(decision, f"the download run for these {len(pending)} pending tracks"))
        tags = {"soulspot/trigger": "pending_downloads_sensor", "soulspot/pending": str(len(pending))}
        return _request(context, job, work, decision, now, tags)

    return pending_downloads_sensor


pending_downloads_sensor = build_pending_downloads_sensor()


_ACTIVE = "SELECT username, remote_filename FROM library.downloads WHERE state = 'downloading' ORDER BY 1, 2"
# While downloads are active a successful look is repeated this long after it, so stalls are noticed.
FOLLOW_EVERY_S = 600


def build_transfer_monitor_sensor(clock: Clock | None = None, *, job: Job = follow_downloads) -> dg.SensorDefinition:
    clock = clock or Clock()

    @dg.sensor(
        name="transfer_monitor_sensor",
        job=job,
        minimum_interval_seconds=60,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description=(
            "Watches slskd's transfers of the library's downloads and starts follow_downloads when they move or finish."
        ),
    )
    def transfer_monitor_sensor(context: dg.SensorEvaluationContext, library_db: LibraryDatabase, slskd: SlskdResource):
        rows = _downloads_query(library_db, slskd, _ACTIVE)
        if isinstance(rows, dg.SkipReason):
            return rows
        active = set(rows)
        if not active:
            return dg.SkipReason("no downloads in progress")
        try:
            transfers = slskd.downloads()
        except ProviderError as exc:
            return dg.SkipReason(f"slskd cannot be asked now: {exc}")
        seen = sorted(
            f"{t.username}|{t.filename}|{','.join(sorted(t.state))}|{int(t.percent_complete // 10)}"
            for t in transfers
            if (t.username, t.filename) in active
        )
        work = f"transfers:{_digest([*seen, str(len(active))])}"
        now = clock.now()
        decision = _decide(context, work, now, repeat_after_s=FOLLOW_EVERY_S)
        if decision.why is Why.DONE:
            return dg.SkipReason(
                f"{len(active)} downloads in progress, no change since the last look "
                f"(at {clock_time(decision.since)}); next look at {clock_time(decision.due_at)}"
            )
        if not decision.request:
            return dg.SkipReason(skip_message(decision, f"the follow run for {len(active)} downloads in progress"))
        tags = {"soulspot/trigger": "transfer_monitor_sensor", "soulspot/active": str(len(active))}
        return _request(context, job, work, decision, now, tags)

    return transfer_monitor_sensor


transfer_monitor_sensor = build_transfer_monitor_sensor()


# -- runs keyed by the work a sensor sees ---------------------------------------------------
# Each run a sensor starts carries the work it is for and its attempt number (the run key is
# both): the run records then say whether the work succeeded, runs, or failed and when.

WORK_TAG = "soulspot/work"
ATTEMPT_TAG = "soulspot/attempt"
# Enough runs of one work to find its highest attempt and its failures in a row.
RUNS_LOOKED_AT = 20

_RUN_STATES = {
    dg.DagsterRunStatus.SUCCESS: RunState.SUCCEEDED,
    dg.DagsterRunStatus.FAILURE: RunState.FAILED,
    dg.DagsterRunStatus.CANCELED: RunState.FAILED,
}


def _digest(lines: list[str]) -> str:
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()[:16]


def _runs_of(instance: dg.DagsterInstance, work: str) -> list[RunSeen]:
    """The runs of ``work``, newest first."""
    seen = []
    for record in instance.get_run_records(filters=dg.RunsFilter(tags={WORK_TAG: work}), limit=RUNS_LOOKED_AT):
        run = record.dagster_run
        state = _RUN_STATES.get(run.status, RunState.RUNNING)
        ended = record.end_time
        if ended is None and state is not RunState.RUNNING:  # ended before it started (canceled while queued)
            ended = record.update_timestamp.timestamp()
        try:
            attempt = int(run.tags.get(ATTEMPT_TAG, "1"))
        except ValueError:
            attempt = 1
        seen.append(RunSeen(attempt, state, ended))
    return seen


def _decide(
    context: dg.SensorEvaluationContext, work: str, now: float, *, repeat_after_s: float | None = None
) -> RunDecision:
    cursor = read_cursor(context.cursor)
    requested = cursor if cursor is not None and cursor.work == work else None
    last = summarize(_runs_of(context.instance, work))
    return decide(last, requested, now, repeat_after_s=repeat_after_s)


def _request(
    context: dg.SensorEvaluationContext,
    job: Job,
    work: str,
    decision: RunDecision,
    now: float,
    tags: dict[str, str],
    *,
    seen: str | None = None,
) -> dg.RunRequest:
    if decision.why is not Why.NEW:
        context.log.info(f"{work}: requesting attempt {decision.attempt} ({decision.why})")
    context.update_cursor(cursor_text(Requested(work, decision.attempt, now, seen)))
    return dg.RunRequest(
        run_key=f"{work}:{decision.attempt}",
        tags={**_tags_of_runs(job), **tags, WORK_TAG: work, ATTEMPT_TAG: str(decision.attempt)},
    )
