"""Jobs, schedules and sensors: when the phases run."""

import hashlib
import time

import dagster as dg
import duckdb
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition  # not exported

from soulspot_pipeline.assets.cleanup import library_cleanup
from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.downloads import download_transfers, downloads
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.slskd import SlskdResource
from soulspot_pipeline.run_recovery import recover_abandoned_runs
from soulspot_pipeline.settings import Settings
from soulspot_pipeline.store.database import DatabaseLockedError, LibraryDatabase

# Files modified this recently may still be being copied in; a scan waits for them.
SETTLE_SECONDS = 30

library_refresh = dg.define_asset_job(
    "library_refresh",
    selection=dg.AssetSelection.all(),
    description="A full library refresh: every phase, in lineage order.",
)

music_folder_scan = dg.define_asset_job(
    "music_folder_scan",
    selection=dg.AssetSelection.assets(local_scan, library_entities),
    description="Scan the music folder and merge what changed into the library.",
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

cleanup_schedule = dg.ScheduleDefinition(
    name="cleanup_schedule",
    job=cleanup,
    cron_schedule="30 4 * * *",
    default_status=dg.DefaultScheduleStatus.RUNNING,
    description="Cleans up every night at 04:30.",
)


def _schedule(
    name: str,
    job: dg.JobDefinition | UnresolvedAssetJobDefinition,
    cron: str,
    settings: Settings,
    what: str,
    variable: str,
) -> dg.ScheduleDefinition:
    return dg.ScheduleDefinition(
        name=name,
        job=job,
        cron_schedule=cron,
        execution_timezone=settings.timezone,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"{what} on '{cron}' ({variable}).",
    )


def build_cloud_schedule(settings: Settings) -> dg.ScheduleDefinition:
    return _schedule(
        "cloud_sync_schedule",
        cloud_sync,
        settings.cloud_cron,
        settings,
        "Syncs the cloud providers",
        "SOULSPOT_CLOUD_CRON",
    )


def build_music_folder_schedule(settings: Settings) -> dg.ScheduleDefinition:
    return _schedule(
        "music_folder_scan_schedule",
        music_folder_scan,
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
        default_status=dg.DefaultSensorStatus.RUNNING,
        minimum_interval_seconds=60,
        description=(
            f"Identifies on '{settings.identify_cron}' (SOULSPOT_IDENTIFY_CRON), enriches on "
            f"'{settings.enrich_cron}' (SOULSPOT_ENRICH_CRON), compares discographies on "
            f"'{settings.discography_cron}' (SOULSPOT_DISCOGRAPHY_CRON) and fetches images on "
            f"'{settings.images_cron}' (SOULSPOT_IMAGES_CRON), each only after its upstream phases succeeded."
        ),
    )


def build_music_folder_sensor(settings: Settings) -> dg.SensorDefinition:
    @dg.sensor(
        name="music_folder_sensor",
        job=music_folder_scan,
        minimum_interval_seconds=settings.music_sensor_interval_s,
        default_status=dg.DefaultSensorStatus.RUNNING,
        description="Requests a scan when audio files in the music folder are added, changed or removed.",
    )
    def music_folder_sensor(context: dg.SensorEvaluationContext, music_folder: MusicFolder):
        if not music_folder.exists():
            return dg.SkipReason(f"the music folder {music_folder.music_dir} does not exist")
        fingerprint = music_folder.fingerprint()
        if fingerprint.digest == context.cursor:
            return dg.SkipReason(f"no change in {fingerprint.files} audio files since the last scan request")
        age = time.time() - fingerprint.newest_mtime_ns / 1e9
        if age < SETTLE_SECONDS:
            return dg.SkipReason(f"files are still changing (newest {age:.0f} s old); waiting for them to settle")
        # Keyed by the change (before -> after): the same change never starts two scans,
        # and a folder that returns to an earlier state is still scanned.
        run_key = f"music-folder:{context.cursor or 'first'}->{fingerprint.digest}"
        context.update_cursor(fingerprint.digest)
        return dg.RunRequest(
            run_key=run_key,
            tags={"soulspot/trigger": "music_folder_sensor", "soulspot/files": str(fingerprint.files)},
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


@dg.sensor(
    name="pending_downloads_sensor",
    job=download_wanted,
    minimum_interval_seconds=120,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Starts a download run when tracks become pending that no download has been tried for.",
)
def pending_downloads_sensor(context: dg.SensorEvaluationContext, library_db: LibraryDatabase, slskd: SlskdResource):
    rows = _downloads_query(library_db, slskd, _PENDING)
    if isinstance(rows, dg.SkipReason):
        return rows
    pending = [row[0] for row in rows]
    if not pending:
        return dg.SkipReason("no new pending tracks")
    digest = hashlib.sha256("\n".join(pending).encode()).hexdigest()[:16]
    if digest == context.cursor:
        return dg.SkipReason(f"a download run was already requested for these {len(pending)} pending tracks")
    context.update_cursor(digest)
    # Keyed by the set of new pending tracks: the same set never starts two runs.
    return dg.RunRequest(
        run_key=f"pending:{digest}",
        tags={"soulspot/trigger": "pending_downloads_sensor", "soulspot/pending": str(len(pending))},
    )


_ACTIVE = "SELECT username, remote_filename FROM library.downloads WHERE state = 'downloading' ORDER BY 1, 2"
# While downloads are active a run is requested at least this often, so stalls are noticed.
FOLLOW_EVERY_S = 600


@dg.sensor(
    name="transfer_monitor_sensor",
    job=follow_downloads,
    minimum_interval_seconds=60,
    default_status=dg.DefaultSensorStatus.RUNNING,
    description="Watches slskd's transfers of the library's downloads and starts follow_downloads when they move or finish.",
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
    moment = int(time.time() // FOLLOW_EVERY_S)
    digest = hashlib.sha256("\n".join([*seen, str(len(active)), str(moment)]).encode()).hexdigest()[:16]
    if digest == context.cursor:
        return dg.SkipReason(f"{len(active)} downloads in progress, no change since the last look")
    context.update_cursor(digest)
    return dg.RunRequest(
        run_key=f"transfers:{digest}",
        tags={"soulspot/trigger": "transfer_monitor_sensor", "soulspot/active": str(len(active))},
    )
