"""A sensor tries a failed run of the same work again after a growing backoff, and never repeats a success.

Runs are real: the jobs the sensors target run in process on a real instance, tagged with the
run key and tags the sensor requested, as the daemon would launch them. Time is the sensors'
virtual clock, set from the run records' real end times, so no test waits for a backoff.
"""

import os
import time

import dagster as dg
import pytest

from soulspot_pipeline.assets.downloads import download_transfers, downloads
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.automation import (
    FOLLOW_EVERY_S,
    build_music_folder_sensor,
    build_pending_downloads_sensor,
    build_transfer_monitor_sensor,
    download_wanted,
    follow_downloads,
)
from soulspot_pipeline.definitions import build_definitions
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins.deezer import DeezerStandin
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.domain.run_retry import clock_time
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.slskd import SlskdResource
from soulspot_pipeline.settings import Settings
from soulspot_tests.assets.test_downloads import (
    AIR,
    MOON,
    deezer_favorites,
    flac,
    follow_resources,
    liked,
    resources,
)
from soulspot_tests.clock import VirtualClock
from soulspot_tests.results import materialize, rows

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

SEXY = dz.track(3135570, "Sexy Boy", AIR, MOON, duration_s=2)
KELLY = dz.track(3135571, "Kelly Watch the Stars", AIR, MOON, duration_s=2)
FIVE_MINUTES = 300.0


class Sensor:
    """One sensor evaluated again and again on one instance, its cursor carried over as the daemon does."""

    def __init__(self, sensor: dg.SensorDefinition, instance: dg.DagsterInstance, resources: dict):
        self.sensor, self.instance, self.resources = sensor, instance, resources
        self.cursor: str | None = None
        self.said: list[str] = []

    def look(self) -> dg.RunRequest | dg.SkipReason:
        with dg.build_sensor_context(instance=self.instance, cursor=self.cursor, resources=self.resources) as context:
            result = self.sensor(context)
            self.cursor = context.cursor
        assert isinstance(result, dg.RunRequest | dg.SkipReason), result
        said = result.skip_message if isinstance(result, dg.SkipReason) else f"requested {result.run_key}"
        self.said.append(said or "")
        return result

    def skip(self) -> str:
        result = self.look()
        assert isinstance(result, dg.SkipReason), result
        return result.skip_message or ""

    def request(self) -> dg.RunRequest:
        result = self.look()
        assert isinstance(result, dg.RunRequest), result
        return result


def launch(job: dg.JobDefinition, request: dg.RunRequest, instance: dg.DagsterInstance, sensor_name: str):
    """The run the daemon makes of a request: the job, with the request's tags and run key."""
    tags = {**request.tags, "dagster/run_key": request.run_key or "", "dagster/sensor_name": sensor_name}
    return job.execute_in_process(instance=instance, tags=tags, raise_on_error=False)


def ended_at(instance: dg.DagsterInstance, result) -> float:
    record = instance.get_run_record_by_id(result.run_id)
    assert record is not None and record.end_time is not None
    return record.end_time


def download_jobs(res: dict) -> tuple[dg.JobDefinition, dg.JobDefinition]:
    defs = dg.Definitions(
        assets=[downloads, download_transfers], jobs=[download_wanted, follow_downloads], resources=res
    )
    return defs.resolve_job_def("download_wanted"), defs.resolve_job_def("follow_downloads")


def unreachable_slskd() -> SlskdResource:
    return SlskdResource(
        base_url="http://127.0.0.1:9", api_key="k", poll_interval_s=0.001, retry_base_delay_s=0.01, max_attempts=2
    )


def two_short_tracks_shared(tmp_path) -> SlskdStandin:
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1, progress_polls=1)
    slskd.add_peer(
        "good",
        files=[
            SharedFile("@@abcde\\music\\Air\\Moon Safari\\01 Sexy Boy.flac", flac(2.0), length=2),
            SharedFile("@@abcde\\music\\Air\\Moon Safari\\03 Kelly Watch the Stars.flac", flac(2.0), length=2),
        ],
    )
    return slskd


def test_a_failed_download_run_is_tried_again_after_its_backoff_and_its_tracks_end_downloaded(library_db, tmp_path):
    slskd = two_short_tracks_shared(tmp_path)
    with dg.instance_for_test() as instance, DeezerStandin(liked(SEXY, KELLY)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities], resources=res)
        clock = VirtualClock(start=time.time())
        watch = {"library_db": library_db, "slskd": res["slskd"]}
        pending = Sensor(build_pending_downloads_sensor(clock), instance, watch)
        wanted_down, _ = download_jobs({**res, "slskd": unreachable_slskd()})
        wanted, follow = download_jobs(res)

        first = pending.request()
        assert first.tags["soulspot/pending"] == "2" and first.tags["soulspot/attempt"] == "1"
        assert first.run_key == f"{first.tags['soulspot/work']}:1"
        failed = launch(wanted_down, first, instance, "pending_downloads_sensor")  # slskd cannot be reached
        assert not failed.success
        failed_at = ended_at(instance, failed)

        # Before the backoff: skipped, saying when the next try is due. The tracks are still pending.
        waiting = (
            f"the download run for these 2 pending tracks failed at {clock_time(failed_at)}; "
            f"next try at {clock_time(failed_at + FIVE_MINUTES)} (attempt 2)"
        )
        for moment in (60.0, FIVE_MINUTES - 1):
            clock.sleep(failed_at + moment - clock.now())
            assert pending.skip() == waiting
        assert rows(library_db, "SELECT DISTINCT download_state FROM library.tracks") == [("pending",)]

        # slskd is back; once the backoff is over the same tracks get attempt 2, under a new run key.
        clock.sleep(failed_at + FIVE_MINUTES - clock.now())
        retry = pending.request()
        assert retry.tags["soulspot/work"] == first.tags["soulspot/work"] and retry.tags["soulspot/attempt"] == "2"
        assert retry.run_key == f"{first.tags['soulspot/work']}:2" != first.run_key
        assert "already requested" in pending.skip()  # the daemon has not launched it yet
        assert launch(wanted, retry, instance, "pending_downloads_sensor").success
        assert pending.skip() == "no new pending tracks"

        # The transfer monitor follows the downloads to the end, each run launched from its request.
        monitor = Sensor(build_transfer_monitor_sensor(clock), instance, watch)
        for _ in range(12):
            result = monitor.look()
            if isinstance(result, dg.RunRequest):
                assert launch(follow, result, instance, "transfer_monitor_sensor").success
            elif result.skip_message == "no downloads in progress":
                break
            else:  # nothing moved since the last successful look: the next one is due after FOLLOW_EVERY_S
                assert "no change since the last look" in (result.skip_message or "")
                clock.sleep(FOLLOW_EVERY_S)
        assert monitor.said[-1] == "no downloads in progress"
        clock.sleep(24 * 3600)
        assert pending.skip() == "no new pending tracks"
        work = dg.RunsFilter(tags={"soulspot/work": first.tags["soulspot/work"]})
        assert [
            (r.dagster_run.tags["soulspot/attempt"], r.dagster_run.status) for r in instance.get_run_records(work)
        ] == [
            ("2", dg.DagsterRunStatus.SUCCESS),
            ("1", dg.DagsterRunStatus.FAILURE),
        ]

    assert rows(library_db, "SELECT title, download_state FROM library.tracks ORDER BY 1") == [
        ("Kelly Watch the Stars", "downloaded"),
        ("Sexy Boy", "downloaded"),
    ]
    assert rows(library_db, "SELECT state, count(*) FROM library.downloads GROUP BY 1") == [("downloaded", 2)]


def test_a_download_run_that_succeeded_is_never_run_again_for_the_same_tracks(library_db, tmp_path):
    with dg.instance_for_test() as instance, DeezerStandin(liked(SEXY, KELLY)) as deezer:
        # The run's own slskd settings are missing: it succeeds reporting "skipped", and the tracks stay pending.
        res = {**resources(library_db, tmp_path, deezer, None), "music_folder": MusicFolder(music_dir=str(tmp_path))}
        materialize([deezer_favorites, library_entities], resources=res)
        clock = VirtualClock(start=time.time())
        watch = {"library_db": library_db, "slskd": unreachable_slskd()}  # the sensor only needs it configured
        pending = Sensor(build_pending_downloads_sensor(clock), instance, watch)
        request = pending.request()
        wanted, _ = download_jobs(res)
        done = launch(wanted, request, instance, "pending_downloads_sensor")
        assert done.success
        done_at = ended_at(instance, done)
        for later in (0.0, 3600.0, 7 * 24 * 3600.0):
            clock.sleep(done_at + later - clock.now())
            assert pending.skip() == (
                f"the download run for these 2 pending tracks already succeeded at {clock_time(done_at)}"
            )
    assert rows(library_db, "SELECT DISTINCT download_state FROM library.tracks") == [("pending",)]


def test_a_failed_follow_run_is_tried_again_after_its_backoff(library_db, tmp_path):
    slskd = two_short_tracks_shared(tmp_path)
    with dg.instance_for_test() as instance, DeezerStandin(liked(SEXY, KELLY)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        clock = VirtualClock(start=time.time())
        monitor = Sensor(
            build_transfer_monitor_sensor(clock), instance, {"library_db": library_db, "slskd": res["slskd"]}
        )
        _, follow_down = download_jobs({**res, "slskd": unreachable_slskd()})
        _, follow = download_jobs(res)
        # Every look moves the stand-in's transfers on; once they finished, what the sensor sees holds still.
        request = monitor.request()
        while isinstance(result := monitor.look(), dg.RunRequest):
            request = result
        assert "already requested" in (result.skip_message or "")
        failed = launch(follow_down, request, instance, "transfer_monitor_sensor")
        assert not failed.success
        failed_at = ended_at(instance, failed)

        clock.sleep(failed_at + FIVE_MINUTES - 1 - clock.now())
        assert monitor.skip() == (
            f"the follow run for 2 downloads in progress failed at {clock_time(failed_at)}; "
            f"next try at {clock_time(failed_at + FIVE_MINUTES)} (attempt 2)"
        )
        clock.sleep(1)
        retry = monitor.request()
        assert retry.run_key == f"{request.tags['soulspot/work']}:2"
        assert launch(follow, retry, instance, "transfer_monitor_sensor").success
        assert monitor.skip() == "no downloads in progress"
    assert rows(library_db, "SELECT DISTINCT download_state FROM library.tracks") == [("downloaded",)]


def music_folder_with_a_song(tmp_path):
    music = tmp_path / "music"
    music.mkdir()
    song = music / "song.flac"
    write_audio_file(song, "flac", {"title": "a"})
    old = time.time() - 3600
    os.utime(song, (old, old))
    return music


def submit(job: dg.JobDefinition, request: dg.RunRequest, instance: dg.DagsterInstance) -> dg.DagsterRun:
    """A run of the request that is only recorded, not executed: the test then reports how it ended."""
    return instance.create_run_for_job(job, tags={**request.tags, "dagster/run_key": request.run_key or ""})


def end_of(instance: dg.DagsterInstance, run: dg.DagsterRun) -> float:
    record = instance.get_run_record_by_id(run.run_id)
    assert record is not None and record.end_time is not None
    return record.end_time


def test_a_failed_scan_is_tried_again_after_its_backoff_and_a_successful_one_is_not_repeated(tmp_path):
    music = music_folder_with_a_song(tmp_path)
    settings = Settings.from_env(
        {"SOULSPOT_DATA_DIR": str(tmp_path / "data"), "SOULSPOT_MUSIC_DIR": str(music), "SOULSPOT_SCAN_WORKERS": "1"}
    )
    scan = build_definitions(settings).resolve_job_def("music_folder_scan")
    clock = VirtualClock(start=time.time())
    with dg.instance_for_test() as instance:
        sensor = Sensor(
            build_music_folder_sensor(settings, clock), instance, {"music_folder": MusicFolder(music_dir=str(music))}
        )
        first = sensor.request()
        # The scan failed (recorded, not executed: the scan's own step retries would wait real seconds).
        failed = submit(scan, first, instance)
        instance.report_run_failed(failed)
        failed_at = end_of(instance, failed)
        clock.sleep(failed_at + FIVE_MINUTES - 1 - clock.now())
        assert sensor.skip() == (
            f"the scan of the change to 1 audio files failed at {clock_time(failed_at)}; "
            f"next try at {clock_time(failed_at + FIVE_MINUTES)} (attempt 2)"
        )
        clock.sleep(1)
        retry = sensor.request()
        assert retry.tags["soulspot/attempt"] == "2" and retry.run_key != first.run_key
        done = launch(scan, retry, instance, "music_folder_sensor")
        assert done.success
        done_at = ended_at(instance, done)
        clock.sleep(24 * 3600)
        assert (
            sensor.skip() == f"no change in 1 audio files since the last scan, which succeeded at {clock_time(done_at)}"
        )


def test_a_queued_scan_is_waited_for_and_a_canceled_one_is_tried_again_after_its_backoff(tmp_path):
    music = music_folder_with_a_song(tmp_path)
    settings = Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path / "data"), "SOULSPOT_MUSIC_DIR": str(music)})
    scan = build_definitions(settings).resolve_job_def("music_folder_scan")
    clock = VirtualClock(start=time.time())
    with dg.instance_for_test() as instance:
        sensor = Sensor(
            build_music_folder_sensor(settings, clock), instance, {"music_folder": MusicFolder(music_dir=str(music))}
        )
        request = sensor.request()
        queued = submit(scan, request, instance)
        clock.sleep(120)  # the next tick: the run waits in the queue
        assert sensor.skip() == "the scan of the change to 1 audio files is already running (attempt 1)"
        instance.report_run_canceled(queued)
        canceled_at = end_of(instance, queued)
        clock.sleep(canceled_at + FIVE_MINUTES - 1 - clock.now())
        assert sensor.skip() == (
            f"the scan of the change to 1 audio files failed at {clock_time(canceled_at)}; "
            f"next try at {clock_time(canceled_at + FIVE_MINUTES)} (attempt 2)"
        )
        clock.sleep(1)
        assert sensor.request().run_key == f"{request.tags['soulspot/work']}:2"
