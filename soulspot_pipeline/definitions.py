"""The one Definitions object of the soulspot_pipeline code location."""

import dagster as dg

from soulspot_pipeline.assets.cleanup import library_cleanup
from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.downloads import download_transfers, downloads
from soulspot_pipeline.assets.enrich import enriched_metadata
from soulspot_pipeline.assets.expand import discography_gaps
from soulspot_pipeline.assets.health import audio_checks
from soulspot_pipeline.assets.identify import identified_entities
from soulspot_pipeline.assets.imagery import cover_wall, images
from soulspot_pipeline.assets.lastfm import lastfm_metadata
from soulspot_pipeline.assets.library import (
    downloaded_files_exist,
    duplicates_keep_one_file,
    library_entities,
    no_downloaded_track_on_a_broken_file,
    no_orphaned_tracks,
    unique_local_paths,
)
from soulspot_pipeline.assets.lyrics import lyrics
from soulspot_pipeline.assets.playlists import playlist_files
from soulspot_pipeline.automation import (
    abandoned_runs_sensor,
    build_automation_sensor,
    build_cleanup_schedule,
    build_cloud_schedule,
    build_music_folder_schedule,
    build_music_folder_sensor,
    build_pending_downloads_sensor,
    build_transfer_monitor_sensor,
    cleanup,
    cloud_sync,
    download_wanted,
    follow_downloads,
    library_refresh,
    music_folder_scan,
    on_cron,
    with_run_tags,
)
from soulspot_pipeline.notify import build_notifications_sensor, build_run_failed_sensor
from soulspot_pipeline.resources.acoustid import AcoustIDResource
from soulspot_pipeline.resources.cloud_sources import CLOUD_SOURCES
from soulspot_pipeline.resources.genius import GeniusResource
from soulspot_pipeline.resources.images import CoverArtResource
from soulspot_pipeline.resources.lastfm import LastfmResource
from soulspot_pipeline.resources.lrclib import LrclibResource, LyricsPolicy
from soulspot_pipeline.resources.media_servers import JellyfinResource, PlaylistFolder, PlexResource, SubsonicResource
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource
from soulspot_pipeline.resources.notifier import Notifier
from soulspot_pipeline.resources.policies import (
    DiscographyPolicy,
    DownloadPolicy,
    ImagePolicy,
    LibraryPolicy,
    VerifyPolicy,
)
from soulspot_pipeline.resources.search_budget import SearchBudget
from soulspot_pipeline.resources.slskd import SlskdResource
from soulspot_pipeline.settings import Settings
from soulspot_pipeline.status import build_status_sensor
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.user_actions import user_action_jobs


def _executor_config(config: dict) -> dict:
    """A run's steps run one after the other in the run's own process: Dagster's start-up is
    paid once per run instead of once per step (seconds each), and the pools are claimed as
    before, so the ``duckdb`` pool still serializes the writers. A run whose config says
    ``in_process: false`` runs each step in its own process instead, side by side where the
    pools allow, forked from a server that imported these definitions once per run."""
    if config["in_process"]:
        return {"in_process": {}}
    return {"multiprocess": {"start_method": {"forkserver": {"preload_modules": [__name__]}}}}


STEP_EXECUTOR = dg.multi_or_in_process_executor.configured(
    _executor_config,
    name="soulspot_executor",
    config_schema={"in_process": dg.Field(bool, default_value=True)},
)


def build_resources(settings: Settings) -> dict[str, dg.ConfigurableResource]:
    return {
        "library_db": LibraryDatabase(
            database=str(settings.duckdb_path),
            snapshot_path=str(settings.snapshot_path),
            lock_timeout_s=settings.db_lock_wait_s,
        ),
        "music_folder": MusicFolder(
            music_dir=str(settings.music_dir),
            scan_workers=settings.scan_workers,
            must_exist=settings.music_dir_given,
            naming_template=settings.naming_template,
        ),
        "library_policy": LibraryPolicy(auto_queue_downloads=settings.auto_queue_downloads),
        "verify_policy": VerifyPolicy(minutes=settings.verify_minutes),
        **{spec.resource_key: spec.build_resource(settings) for spec in CLOUD_SOURCES},
        "musicbrainz": MusicBrainzResource(
            server_url=settings.musicbrainz_url,
            rate=settings.musicbrainz_rate,
            contact=settings.contact,
            cache_path=str(settings.musicbrainz_dir / "cache.duckdb"),
            throttle_path=str(settings.musicbrainz_dir / "rate.lock"),
            cache_ttl_days=settings.musicbrainz_cache_days,
        ),
        "discography_policy": DiscographyPolicy(
            primary_types=list(settings.gap_types),
            excluded_secondary_types=list(settings.gap_excluded_types),
            ttl_hours=settings.discography_ttl_hours,
            request_gaps=settings.request_gaps,
            request_new_releases=settings.request_new_releases,
        ),
        "cover_art": CoverArtResource(base_url=settings.coverart_url, max_in_flight=settings.image_concurrency),
        "image_policy": ImagePolicy(
            images_dir=str(settings.images_dir),
            retry_hours=settings.image_retry_hours,
            write_cover_jpg=settings.write_cover_jpg,
        ),
        "lrclib": LrclibResource(base_url=settings.lrclib_url),
        "lyrics_policy": LyricsPolicy(
            write_files=settings.lyrics_files,
            write_tags=settings.lyrics_tags,
            retry_days=settings.lyrics_retry_days,
        ),
        # Genius's token by name, as Last.fm's key: never shown; unset, Genius is never asked.
        "genius": GeniusResource(
            access_token=dg.EnvVar("GENIUS_ACCESS_TOKEN") if settings.genius_configured else None,
            api_url=settings.genius_url,
            web_url=settings.genius_web_url,
        ),
        # Last.fm's key by name, as SLSKD_API_KEY: resolved when a run starts, never shown; unset = skipped.
        "lastfm": LastfmResource(
            api_key=dg.EnvVar("LASTFM_API_KEY") if settings.lastfm_configured else None,
            base_url=settings.lastfm_url,
            rate=settings.lastfm_rate,
            throttle_path=str(settings.lastfm_dir / "rate.lock"),
            min_tag_weight=settings.lastfm_min_weight,
        ),
        "acoustid": AcoustIDResource(
            api_key=dg.EnvVar("ACOUSTID_API_KEY") if settings.acoustid_configured else None,
            server_url=settings.acoustid_url,
            throttle_path=str(settings.acoustid_dir / "rate.lock"),
        ),
        "slskd": SlskdResource(
            base_url=settings.slskd_url if settings.slskd_configured else None,
            # By name, resolved when a run starts: the UI and run records show SLSKD_API_KEY, never the key.
            # An unset variable cannot be resolved, so an unconfigured slskd gets None (the phase skips).
            api_key=dg.EnvVar("SLSKD_API_KEY") if settings.slskd_configured else None,
            downloads_dir=str(settings.downloads_dir),
        ),
        "search_budget": SearchBudget(
            ledger_path=str(settings.slskd_dir / "searches.sqlite"),
            max_searches=settings.search_budget[0],
            window_s=settings.search_budget[1],
        ),
        "download_policy": DownloadPolicy(
            allowed_formats=list(settings.download_formats),
            min_lossy_bitrate=settings.download_min_bitrate,
            duration_tolerance_s=settings.download_duration_tolerance_s,
            blocked_users=list(settings.download_blocked_users),
            blocked_words=list(settings.download_blocked_words),
            required_words=list(settings.download_required_words),
            blocked_patterns=list(settings.download_blocked_patterns),
            tracks_per_run=settings.downloads_per_run,
            upgrade_below_bitrate=settings.upgrade_below_bitrate,
            request_upgrades=settings.request_upgrades,
            paused=settings.downloads_paused,
            embed_lyrics=settings.lyrics_tags,
        ),
        "playlist_folder": PlaylistFolder(playlists_dir=str(settings.playlists_dir)),
        # Credentials by name, as SLSKD_API_KEY: resolved when a run starts, never shown; unset = skipped.
        "jellyfin": JellyfinResource(
            base_url=settings.jellyfin_url,
            api_key=dg.EnvVar("JELLYFIN_API_KEY") if settings.jellyfin_configured else None,
        ),
        "subsonic": SubsonicResource(
            base_url=settings.subsonic_url,
            user=settings.subsonic_user,
            password=dg.EnvVar("SUBSONIC_PASSWORD") if settings.subsonic_configured else None,
        ),
        "plex": PlexResource(
            base_url=settings.plex_url,
            token=dg.EnvVar("PLEX_TOKEN") if settings.plex_configured else None,
            section_ids=list(settings.plex_sections),
        ),
        # Apprise URLs by name, as the keys above: their tokens never show; unset = notifications off.
        "notifier": Notifier(
            urls=dg.EnvVar("SOULSPOT_NOTIFY_URLS") if settings.notify_configured else None,
            events=list(settings.notify_events),
        ),
    }


def build_definitions(settings: Settings) -> dg.Definitions:
    identify = on_cron(identified_entities, settings.identify_cron, settings)
    enrich = on_cron(enriched_metadata, settings.enrich_cron, settings)
    gaps = on_cron(discography_gaps, settings.discography_cron, settings)
    imagery = on_cron(images, settings.images_cron, settings)
    lastfm = on_cron(lastfm_metadata, settings.enrich_cron, settings)  # beside enriched_metadata
    # Lyrics follow the enrich cron: a new import has its lyrics within one tick.
    lyrics_phase = on_cron(lyrics, settings.enrich_cron, settings)
    eager = dg.AutomationCondition.eager()
    wall = cover_wall.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=eager))
    # Rewritten whenever the library changes: a sync, an import, a playlist mode set.
    playlists = playlist_files.map_asset_specs(lambda spec: spec.replace_attributes(automation_condition=eager))
    automated = [identify, enrich, gaps, imagery, wall, playlists, lyrics_phase, lastfm]
    # Every job carries SOULSPOT_RUN_TAGS; its schedules and sensors target these copies.
    jobs = {
        job.name: with_run_tags(job, settings.run_tags)
        for job in (
            library_refresh,
            music_folder_scan,
            cloud_sync,
            download_wanted,
            follow_downloads,
            cleanup,
            *user_action_jobs,
        )
    }
    cleanup_schedule = build_cleanup_schedule(jobs["cleanup"])
    return dg.Definitions(
        executor=STEP_EXECUTOR,
        assets=[
            *cloud_assets,
            local_scan,
            audio_checks,
            library_entities,
            *automated,
            downloads,
            download_transfers,
            library_cleanup,
        ],
        asset_checks=[
            unique_local_paths,
            no_orphaned_tracks,
            downloaded_files_exist,
            no_downloaded_track_on_a_broken_file,
            duplicates_keep_one_file,
        ],
        jobs=list(jobs.values()),
        schedules=[
            build_music_folder_schedule(settings, jobs["music_folder_scan"]),
            build_cloud_schedule(settings, jobs["cloud_sync"]),
            cleanup_schedule,
        ],
        sensors=[
            build_music_folder_sensor(settings, job=jobs["music_folder_scan"]),
            abandoned_runs_sensor,
            build_automation_sensor(settings, automated),
            build_pending_downloads_sensor(job=jobs["download_wanted"]),
            build_transfer_monitor_sensor(job=jobs["follow_downloads"]),
            build_status_sensor(settings, cleanup_schedule),
            build_notifications_sensor(),
            build_run_failed_sensor(),
        ],
        resources=build_resources(settings),
    )


defs = build_definitions(Settings.from_env())
