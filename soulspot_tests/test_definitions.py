"""The code location loads, and its jobs, schedule and sensor behave."""

import os
import time

import dagster as dg

from soulspot_pipeline.definitions import build_definitions
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.settings import Settings

JOBS = (
    "library_refresh",
    "music_folder_scan",
    "cloud_sync",
    "remove_from_library",
    "ignore_in_library",
    "restore_to_library",
    "request_downloads",
    "set_playlist_sync_mode",
    "set_metadata",
    "decide_discography_gaps",
    "resolve_duplicates",
    "organize_library",
    "undo_organize",
    "pause_downloads",
    "resume_downloads",
    "cancel_downloads",
    "retry_downloads",
    "set_download_priority",
    "request",
    "download_wanted",
    "follow_downloads",
    "cleanup",
)


def test_every_job_schedule_and_sensor_loads(tmp_path):
    defs = build_definitions(
        Settings.from_env(
            {
                "SOULSPOT_DATA_DIR": str(tmp_path),
                "SOULSPOT_SCAN_CRON": "*/20 * * * *",
                "SOULSPOT_CLOUD_CRON": "*/45 * * * *",
            }
        )
    )
    assert {job for job in JOBS if defs.resolve_job_def(job)} == set(JOBS)
    # The whole repository, as the webserver loads it: no two ops, graphs or jobs share a name.
    assert set(JOBS) <= {job.name for job in defs.get_repository_def().get_all_jobs()}
    refresh = defs.resolve_job_def("library_refresh")
    assert {n.name for n in refresh.graph.node_defs} >= {
        "local_scan",
        "library_entities",
        "spotify_likes",
        "deezer_favorites",
    }
    assert defs.resolve_schedule_def("music_folder_scan_schedule").cron_schedule == "*/20 * * * *"
    cloud = defs.resolve_schedule_def("cloud_sync_schedule")
    assert cloud.cron_schedule == "*/45 * * * *" and cloud.job_name == "cloud_sync"
    assert defs.resolve_sensor_def("music_folder_sensor") and defs.resolve_sensor_def("abandoned_runs_sensor")
    graph = defs.resolve_asset_graph()
    assert graph.get(dg.AssetKey("library_entities")).parent_keys == {
        dg.AssetKey("local_scan"),
        dg.AssetKey("audio_checks"),
        dg.AssetKey("spotify_likes"),
        dg.AssetKey("deezer_favorites"),
    }
    specs = {s.key.to_user_string(): s for s in defs.resolve_all_asset_specs()}
    assert specs["local_scan"].group_name == "discover" and specs["library_entities"].group_name == "library"
    assert specs["audio_checks"].group_name == "library"
    assert graph.get(dg.AssetKey("audio_checks")).parent_keys == {dg.AssetKey("local_scan")}
    assert specs["spotify_likes"].group_name == "discover" and specs["deezer_favorites"].group_name == "discover"
    assert specs["identified_entities"].group_name == "identify" and specs["enriched_metadata"].group_name == "enrich"
    assert graph.get(dg.AssetKey("enriched_metadata")).parent_keys == {dg.AssetKey("identified_entities")}
    # Last.fm beside MusicBrainz enrichment, not after it: either may fail without holding back the other.
    assert specs["lastfm_metadata"].group_name == "enrich"
    assert graph.get(dg.AssetKey("lastfm_metadata")).parent_keys == {dg.AssetKey("identified_entities")}
    assert "on_cron(0 */3 * * *" in specs["lastfm_metadata"].automation_condition.get_label()
    assert "on_cron(0 */2 * * *" in specs["identified_entities"].automation_condition.get_label()
    assert specs["discography_gaps"].group_name == "expand"
    assert graph.get(dg.AssetKey("discography_gaps")).parent_keys == {
        dg.AssetKey("enriched_metadata"),
        dg.AssetKey("library_entities"),
    }
    assert "on_cron(0 */6 * * *" in specs["discography_gaps"].automation_condition.get_label()
    assert specs["images"].group_name == "imagery" and specs["cover_wall"].group_name == "imagery"
    assert graph.get(dg.AssetKey("images")).parent_keys == {
        dg.AssetKey("enriched_metadata"),
        dg.AssetKey("library_entities"),
    }
    assert graph.get(dg.AssetKey("cover_wall")).parent_keys == {dg.AssetKey("images")}
    assert "on_cron(0 */2 * * *" in specs["images"].automation_condition.get_label()
    assert {n.name for n in refresh.graph.node_defs} >= {"discography_gaps", "images", "cover_wall", "lyrics"}
    assert specs["lyrics"].group_name == "enrich" and specs["lyrics"].kinds >= {"lrclib", "duckdb"}
    assert graph.get(dg.AssetKey("lyrics")).parent_keys == {
        dg.AssetKey("identified_entities"),
        dg.AssetKey("library_entities"),
    }
    assert "on_cron(0 */3 * * *" in specs["lyrics"].automation_condition.get_label()
    assert specs["downloads"].group_name == "downloads"
    assert graph.get(dg.AssetKey("downloads")).parent_keys == {
        dg.AssetKey("library_entities"),
        dg.AssetKey("discography_gaps"),
    }
    assert defs.resolve_sensor_def("pending_downloads_sensor").job_name == "download_wanted"
    assert defs.resolve_sensor_def("transfer_monitor_sensor").job_name == "follow_downloads"
    status = defs.resolve_sensor_def("status_sensor")
    assert status.minimum_interval_seconds == 300 and status.default_status == dg.DefaultSensorStatus.RUNNING
    notify = defs.resolve_sensor_def("notifications_sensor")
    assert notify.minimum_interval_seconds == 60 and notify.default_status == dg.DefaultSensorStatus.RUNNING
    assert defs.resolve_sensor_def("run_failed_sensor").default_status == dg.DefaultSensorStatus.RUNNING
    assert specs["download_transfers"].group_name == "downloads" and specs["library_cleanup"].group_name == "cleanup"
    assert graph.get(dg.AssetKey("library_cleanup")).parent_keys == {dg.AssetKey("download_transfers")}
    assert defs.resolve_schedule_def("cleanup_schedule").job_name == "cleanup"
    assert defs.resolve_sensor_def("phase_automation").default_status == dg.DefaultSensorStatus.RUNNING
    assert all(s.description and s.kinds for s in specs.values())
    assert {c.name for c in defs.resolve_asset_graph().asset_check_keys} == {
        "unique_local_paths",
        "no_orphaned_tracks",
        "downloaded_files_exist",
        "no_downloaded_track_on_a_broken_file",
        "duplicates_keep_one_file",
    }


def evaluate(sensor, music_dir, cursor, instance):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"music_folder": MusicFolder(music_dir=str(music_dir))}
    ) as context:
        result = sensor(context)
        return result, context.cursor


def test_the_sensor_requests_one_scan_per_change_and_says_why_it_skips(tmp_path):
    music_dir = tmp_path / "music"
    defs = build_definitions(
        Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path), "SOULSPOT_MUSIC_DIR": str(music_dir)})
    )
    sensor = defs.resolve_sensor_def("music_folder_sensor")

    with dg.instance_for_test() as instance:
        result, cursor = evaluate(sensor, music_dir, None, instance)
        assert isinstance(result, dg.SkipReason) and "does not exist" in result.skip_message

        music_dir.mkdir()
        song = music_dir / "song.flac"
        write_audio_file(song, "flac", {"title": "a"})
        result, cursor = evaluate(sensor, music_dir, None, instance)
        assert isinstance(result, dg.SkipReason) and "settle" in result.skip_message  # just written
        old = time.time() - 3600
        os.utime(song, (old, old))

        first, cursor = evaluate(sensor, music_dir, None, instance)
        assert isinstance(first, dg.RunRequest) and cursor
        # No run was made of the request here: the sensor waits for it, and does not ask twice.
        again, same_cursor = evaluate(sensor, music_dir, cursor, instance)
        assert isinstance(again, dg.SkipReason) and "already requested" in again.skip_message
        assert same_cursor == cursor

        os.utime(song, (old + 60, old + 60))
        second, new_cursor = evaluate(sensor, music_dir, cursor, instance)
        assert isinstance(second, dg.RunRequest) and new_cursor != cursor
        assert second.run_key != first.run_key
        # Going back to an earlier state is a new change, not a duplicate.
        os.utime(song, (old, old))
        third, _ = evaluate(sensor, music_dir, new_cursor, instance)
        assert isinstance(third, dg.RunRequest) and third.run_key not in (first.run_key, second.run_key)


def test_the_abandoned_runs_sensor_says_why_it_skips(tmp_path):
    defs = build_definitions(Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path)}))
    sensor = defs.resolve_sensor_def("abandoned_runs_sensor")
    with dg.instance_for_test() as instance, dg.build_sensor_context(instance=instance) as context:
        result = sensor(context)
    assert isinstance(result, dg.SkipReason) and result.skip_message == "no abandoned runs"


def test_identify_and_enrich_run_after_their_ticks_only_once_their_upstream_succeeded(tmp_path):
    from datetime import datetime

    defs = build_definitions(Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path)}))
    identify, enrich = dg.AssetKey("identified_entities"), dg.AssetKey("enriched_metadata")
    with dg.instance_for_test() as instance:

        def evaluate(hour, minute, cursor):
            return dg.evaluate_automation_conditions(
                defs=defs, instance=instance, evaluation_time=datetime(2026, 1, 1, hour, minute), cursor=cursor
            )

        result = evaluate(0, 30, None)
        instance.report_runless_asset_event(dg.AssetMaterialization("library_entities"))
        result = evaluate(2, 5, result.cursor)  # past identify's 02:00 tick, the library is fresh
        assert (result.get_num_requested(identify), result.get_num_requested(enrich)) == (1, 0)
        result = evaluate(3, 5, result.cursor)  # past enrich's 03:00 tick, but identify failed
        assert result.get_num_requested(enrich) == 0
        instance.report_runless_asset_event(dg.AssetMaterialization("identified_entities"))
        result = evaluate(3, 10, result.cursor)
        assert result.get_num_requested(enrich) == 1


def test_discography_and_images_run_after_their_ticks_only_once_their_upstream_succeeded(tmp_path):
    from datetime import datetime

    defs = build_definitions(Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path)}))
    gaps, images, wall = dg.AssetKey("discography_gaps"), dg.AssetKey("images"), dg.AssetKey("cover_wall")
    with dg.instance_for_test() as instance:

        def evaluate(hour, minute, cursor):
            return dg.evaluate_automation_conditions(
                defs=defs, instance=instance, evaluation_time=datetime(2026, 1, 1, hour, minute), cursor=cursor
            )

        result = evaluate(0, 30, None)
        instance.report_runless_asset_event(dg.AssetMaterialization("library_entities"))
        result = evaluate(2, 5, result.cursor)  # images' 02:00 tick passed, but enrich has not run since
        assert (result.get_num_requested(images), result.get_num_requested(gaps)) == (0, 0)
        instance.report_runless_asset_event(dg.AssetMaterialization("enriched_metadata"))
        result = evaluate(2, 10, result.cursor)  # now everything upstream is fresh; 06:00 has not come
        # The wall is requested with the images, to follow them in the same run.
        assert [result.get_num_requested(k) for k in (images, wall, gaps)] == [1, 1, 0]
        instance.report_runless_asset_event(dg.AssetMaterialization("images"))
        result = evaluate(6, 5, result.cursor)  # discography's 06:00 tick, but nothing upstream since
        assert result.get_num_requested(gaps) == 0
        for key in ("library_entities", "enriched_metadata"):
            instance.report_runless_asset_event(dg.AssetMaterialization(key))
        result = evaluate(6, 10, result.cursor)
        assert result.get_num_requested(gaps) == 1


def test_the_playlist_mode_choices_are_the_merges_modes():
    from soulspot_pipeline.domain.cloud import PLAYLIST_MODES
    from soulspot_pipeline.user_actions import PlaylistMode

    assert sorted(mode.value for mode in PlaylistMode) == sorted(PLAYLIST_MODES)
