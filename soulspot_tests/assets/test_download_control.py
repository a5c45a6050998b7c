"""Controlling downloads end to end through the slskd stand-in: pause (also mid-run), cancel,
retry and priority, as the user-action jobs do them, and each transfer's speed and ETA."""

from datetime import timedelta

import dagster as dg
import httpx
import pytest

from soulspot_pipeline.assets.downloads import download_transfers, downloads
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins.deezer import DeezerStandin
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.resources.policies import DownloadPolicy
from soulspot_pipeline.user_actions import (
    cancel_downloads,
    pause_downloads,
    resume_downloads,
    retry_downloads,
    set_download_priority,
)
from soulspot_tests.assets.test_downloads import (
    AIR,
    MOON,
    SHORT,
    deezer_favorites,
    files_under,
    flac,
    follow_resources,
    follow_until_settled,
    liked,
)
from soulspot_tests.results import materialize, metadata, rows, shared_instance

pytestmark = pytest.mark.integration

KELLY = dz.track(3135561, "Kelly Watch the Stars", AIR, MOON, duration_s=2)
SEXY_FILE = "@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac"
KELLY_FILE = "@@abcde\\music\\Air\\Moon Safari\\03 Kelly Watch the Stars.flac"


def both_shared(slskd: SlskdStandin, **peer) -> None:
    slskd.add_peer(
        "good", files=[SharedFile(SEXY_FILE, flac(2.0), length=2), SharedFile(KELLY_FILE, flac(2.0), length=2)], **peer
    )


def run(job: dg.JobDefinition, res: dict, op: str, **config) -> dg.ExecuteInProcessResult:
    return job.execute_in_process(
        run_config={"ops": {op: {"config": config}}} if config else None,
        resources={k: res[k] for k in ("library_db", "library_policy", "slskd")},
        instance=shared_instance(),
    )


def track_id(library_db, title: str) -> str:
    return rows(library_db, "SELECT track_id FROM library.tracks WHERE title = ?", [title])[0][0]


def searched(slskd: SlskdStandin) -> list[str]:
    return [s.text for s in slskd.searches]


class PausedMidRun(SlskdStandin):
    """Runs ``pause`` as the first search starts: the user pausing while a downloads run is under way."""

    pause = None

    def _start_search(self, body: bytes):
        response = super()._start_search(body)
        if self.pause is not None and len(self.searches) == 1:
            self.pause()
        return response


def test_pausing_mid_run_starts_no_new_search_and_the_transfer_in_flight_still_finishes(library_db, tmp_path):
    slskd = PausedMidRun(tmp_path / "slskd" / "downloads", search_polls=1)
    both_shared(slskd)
    with DeezerStandin(liked(SHORT, KELLY)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        slskd.pause = lambda: run(pause_downloads, res, "pause")
        result = materialize([deezer_favorites, library_entities, downloads], resources=res)
        # One search: the track searched when the pause came is enqueued; the other is never searched.
        assert len(searched(slskd)) == 1
        status = metadata(result, "downloads")["status"]
        assert status.startswith("searched, then paused by pause_downloads") and "resume_downloads" in status
        ((first,),) = rows(library_db, "SELECT t.title FROM library.downloads d JOIN library.tracks t USING (track_id)")
        assert first.lower() in searched(slskd)[0]
        (other,) = {"Sexy Boy", "Kelly Watch the Stars"} - {first}
        # While paused the transfer in flight is followed to the end and imported.
        follow_until_settled(library_db, res)
        assert dict(rows(library_db, "SELECT title, download_state FROM library.tracks")) == {
            first: "downloaded",
            other: "pending",
        }
        assert len(files_under(tmp_path / "music")) == 1
        # A run while paused starts nothing and says how to resume.
        again = materialize([downloads], resources=res)
        assert metadata(again, "downloads")["status"].startswith("skipped: paused by pause_downloads")
        assert len(searched(slskd)) == 1
        run(resume_downloads, res, "resume")
        materialize([downloads], resources=res)
        assert len(searched(slskd)) == 2
        follow_until_settled(library_db, res)
    assert rows(library_db, "SELECT DISTINCT download_state FROM library.tracks") == [("downloaded",)]


def test_the_paused_setting_skips_the_run_and_says_how_to_resume(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    both_shared(slskd)
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        res["download_policy"] = DownloadPolicy(paused=True)
        result = materialize([deezer_favorites, library_entities, downloads], resources=res)
    assert metadata(result, "downloads")["status"] == (
        "skipped: paused (SOULSPOT_DOWNLOADS_PAUSED=true; unset it to resume)"
    )
    assert slskd.searches == [] and rows(library_db, "SELECT download_state FROM library.tracks") == [("pending",)]


def test_a_cancelled_download_is_stopped_in_slskd_not_needed_and_never_searched_again(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    both_shared(slskd, behaviour="queued_remotely")  # stays in flight until cancelled
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        materialize([download_transfers], resources=res)
        assert rows(library_db, "SELECT download_state FROM library.tracks") == [("downloading",)]
        run(cancel_downloads, res, "cancel", scope="track", entity_id=track_id(library_db, "Sexy Boy"))
        listing = httpx.get(
            f"{slskd.url}/api/v0/transfers/downloads",
            params={"includeRemoved": "true"},
            headers={"X-API-Key": "standin-api-key"},
        ).json()
        assert [(f["filename"], f["state"]) for u in listing for d in u["directories"] for f in d["files"]] == [
            (SEXY_FILE, "Completed, Cancelled")
        ]
        searches = len(slskd.searches)
        # Neither another downloads run, a library merge nor the transfer monitor brings it back.
        materialize([library_entities, downloads, download_transfers], resources=res)
        assert len(slskd.searches) == searches
    assert rows(library_db, "SELECT ownership_state, download_state FROM library.tracks") == [("owned", "not_needed")]
    assert rows(library_db, "SELECT state, error FROM library.downloads") == [("abandoned", "cancelled by the user")]


def test_retry_makes_a_not_found_track_pending_with_its_attempts_reset_and_it_is_searched_again(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        assert rows(library_db, "SELECT state FROM library.downloads") == [("not_found",)]
        searches = len(slskd.searches)
        both_shared(slskd)  # it appears on the network: without a retry it waits a day
        materialize([downloads], resources=res)
        assert len(slskd.searches) == searches
        run(retry_downloads, res, "retry", scope="all")
        assert rows(library_db, "SELECT download_state FROM library.tracks") == [("pending",)]
        assert rows(library_db, "SELECT count(*) FROM library.downloads") == [(0,)]  # no attempt left on record
        materialize([downloads], resources=res)
        assert len(slskd.searches) == searches + 1
        follow_until_settled(library_db, res)
    assert rows(library_db, "SELECT state, attempts, searches FROM library.downloads") == [("downloaded", 1, 1)]


def test_a_higher_priority_track_is_searched_first(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    both_shared(slskd)
    with DeezerStandin(liked(SHORT, KELLY)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd, tracks_per_run=1)
        materialize([deezer_favorites, library_entities], resources=res)
        # Whichever track the queue would take first, the other one is raised above it.
        last = rows(library_db, "SELECT title, track_id FROM library.tracks ORDER BY track_id DESC LIMIT 1")[0]
        run(set_download_priority, res, "prioritize", scope="track", entity_id=last[1], priority=5)
        materialize([downloads], resources=res)
        assert len(searched(slskd)) == 1 and last[0].lower() in searched(slskd)[0]
    assert rows(library_db, "SELECT track_id FROM library.downloads") == [(last[1],)]


def test_a_transfer_in_progress_has_its_speed_and_eta(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    both_shared(slskd, behaviour="stall", upload_speed=250_000)
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        for _ in range(3):
            materialize([download_transfers], resources=res)
    ((speed, eta, progress_at, size),) = rows(
        library_db, "SELECT speed_bps, eta_at, progress_at, size_bytes FROM library.downloads"
    )
    assert speed == 250_000
    remaining = size - int(size * 0.4)  # the stand-in stalls at 40 %
    assert abs(eta - progress_at - timedelta(seconds=remaining / 250_000)) < timedelta(milliseconds=1)


def test_while_paused_a_failed_transfer_is_not_retried_with_another_file_until_the_user_retries(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "a_rejects", behaviour="rejected", files=[SharedFile("@@r\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0))]
    )
    slskd.add_peer("b_shares", files=[SharedFile("@@s\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)])
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        run(pause_downloads, res, "pause")
        follow_until_settled(library_db, res)
        ((state, user, error),) = rows(library_db, "SELECT state, username, error FROM library.downloads")
        assert (state, user) == ("failed", "a_rejects")
        assert error.startswith("transfer rejected") and "not retried with another file: downloads paused" in error
        assert {
            u["username"]
            for u in httpx.get(
                f"{slskd.url}/api/v0/transfers/downloads", headers={"X-API-Key": "standin-api-key"}
            ).json()
        } == {"a_rejects"}
        run(resume_downloads, res, "resume")
        run(retry_downloads, res, "retry", scope="track", entity_id=track_id(library_db, "Sexy Boy"))
        assert rows(library_db, "SELECT download_state FROM library.tracks") == [("pending",)]
        materialize([downloads], resources=res)
        follow_until_settled(library_db, res)
    assert rows(library_db, "SELECT state, username FROM library.downloads") == [("downloaded", "b_shares")]
