"""SOULSPOT_RUN_TAGS (the demo sets soulspot/mode=DEMO) is on every run the pipeline starts: each
job's, what each schedule and sensor requests, and what the automation sensor starts."""

import os
import time
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime

import dagster as dg
import pytest

from soulspot_pipeline.definitions import build_definitions, build_resources
from soulspot_pipeline.devkit.standins.slskd import SlskdStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.settings import Settings, SettingsError

DEMO = {"SOULSPOT_RUN_TAGS": "soulspot/mode=DEMO"}
REQUESTING_SENSORS = {"music_folder_sensor", "pending_downloads_sensor", "transfer_monitor_sensor"}


@pytest.fixture
def busy_library(tmp_path, monkeypatch) -> Iterator[dict[str, str]]:
    """Settings under which every sensor that starts runs has one to request: a settled file in the
    music folder, a pending track, and a download in progress at slskd."""
    music = tmp_path / "music"
    music.mkdir()
    song = write_audio_file(music / "song.flac", "flac", {"title": "a"})
    old = time.time() - 3600
    os.utime(song, (old, old))
    with SlskdStandin(tmp_path / "slskd" / "downloads") as slskd:
        monkeypatch.setenv("SLSKD_API_KEY", slskd.api_key)  # the slskd resource reads it by name
        env = {
            "SOULSPOT_DATA_DIR": str(tmp_path / "data"),
            "SOULSPOT_MUSIC_DIR": str(music),
            "SLSKD_URL": slskd.url,
            "SLSKD_API_KEY": slskd.api_key,
        }
        with build_resources(Settings.from_env(env))["library_db"].writer() as conn:  # type: ignore[attr-defined]
            conn.execute("""
                INSERT INTO library.tracks (track_id, title, artist_id, ownership_state, download_state,
                                            primary_source, created_at, updated_at)
                VALUES ('wanted', 'Wanted', 'artist', 'discovered', 'pending', 'deezer', TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01'),
                       ('moving', 'Moving', 'artist', 'discovered', 'downloading', 'deezer', TIMESTAMP '2026-01-01', TIMESTAMP '2026-01-01')""")
            conn.execute("""
                INSERT INTO library.downloads (track_id, state, priority, origin, attempts, searches, username,
                                               remote_filename, updated_at)
                VALUES ('moving', 'downloading', 1, 'request', 1, 1, 'peer', '@@share\\Moving.flac', TIMESTAMP '2026-01-01')""")
        yield env


def is_demo(tags: Mapping[str, str] | None) -> bool:
    return (tags or {}).get("soulspot/mode") == "DEMO"


@pytest.mark.parametrize(("setting", "tagged"), [(DEMO, True), ({}, False)])
def test_every_job_schedule_and_sensor_tags_its_runs_with_the_setting_and_only_with_it(busy_library, setting, tagged):
    defs = build_definitions(Settings.from_env({**busy_library, **setting}))
    jobs = [defs.resolve_job_def(job.name) for job in defs.jobs or ()]
    assert len(jobs) == 22
    # Run tags: what the daemon and `dagster job execute` put on a run; tags: what a launch from the UI does.
    assert {(job.name, is_demo(job.run_tags), is_demo(job.tags)) for job in jobs} == {
        (job.name, tagged, tagged) for job in jobs
    }

    requests: dict[str, list[dg.RunRequest]] = {}
    with dg.instance_for_test() as instance:
        for schedule in defs.schedules or ():
            assert isinstance(schedule, dg.ScheduleDefinition)
            with dg.build_schedule_context(instance=instance, scheduled_execution_time=datetime.now(UTC)) as context:
                requests[schedule.name] = list(schedule.evaluate_tick(context).run_requests or ())
        for sensor in defs.sensors or ():
            if isinstance(sensor, dg.AutomationConditionSensorDefinition):
                assert is_demo(sensor.run_tags) is tagged  # the asset daemon puts them on every run it starts
            elif sensor.targets:
                with dg.build_sensor_context(instance=instance, resources=defs.resources) as context:
                    requests[sensor.name] = list(sensor.evaluate_tick(context).run_requests or ())

    assert set(requests) == {"music_folder_scan_schedule", "cloud_sync_schedule", "cleanup_schedule"} | (
        REQUESTING_SENSORS
    )
    assert {name: [is_demo(r.tags) for r in made] for name, made in requests.items()} == {
        name: [tagged] for name in requests
    }


def test_run_tags_are_key_value_pairs():
    assert Settings.from_env({"SOULSPOT_RUN_TAGS": " soulspot/mode=DEMO , team=music,"}).run_tags == {
        "soulspot/mode": "DEMO",
        "team": "music",
    }
    assert Settings.from_env({}).run_tags == {}
    with pytest.raises(SettingsError, match="SOULSPOT_RUN_TAGS"):
        Settings.from_env({"SOULSPOT_RUN_TAGS": "DEMO"})
