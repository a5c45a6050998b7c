"""Downloads end to end: httpx against a local slskd stand-in whose peers share real audio
files, pending tracks from a Deezer sync with auto-queue on, materialized by Dagster."""

import json
from datetime import datetime
from pathlib import Path

import dagster as dg
import pytest

from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.downloads import downloads
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins.deezer import DeezerLibrary, DeezerStandin
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.devkit.synth import audio_bytes
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.policies import DownloadPolicy, LibraryPolicy
from soulspot_pipeline.resources.search_budget import SearchBudget
from soulspot_pipeline.resources.slskd import SlskdResource
from soulspot_pipeline.store.downloads import set_paused
from soulspot_tests.clock import VirtualClock
from soulspot_tests.results import failure_message, materialize, metadata, rows, shared_instance

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

deezer_favorites = next(a for a in cloud_assets if a.key == dg.AssetKey("deezer_favorites"))
AIR = dz.artist(1422, "Air")
MOON = dz.album(302127, "Moon Safari", AIR, nb_tracks=10)
SEXY = dz.track(3135556, "Sexy Boy", AIR, MOON, duration_s=298)
KELLY = dz.track(3135557, "Kelly Watch the Stars", AIR, MOON, duration_s=225)


def flac(seconds: float = 1.0) -> bytes:
    return audio_bytes("flac", {"title": "x"}, seconds=seconds)


def resources(library_db, tmp_path, deezer, slskd_server, *, budget=(34, 220.0), tracks_per_run=25, clock=None):
    return {
        "library_db": library_db,
        "library_policy": LibraryPolicy(auto_queue_downloads=True),
        "deezer": DeezerResource(user_id="5", api_url=deezer.api_url, retry_base_delay_s=0.01),
        "slskd": SlskdResource(
            base_url=slskd_server.url if slskd_server else None,
            api_key="standin-api-key",
            poll_interval_s=0.001,
            retry_base_delay_s=0.01,
            max_attempts=2,
        ),
        "search_budget": SearchBudget(
            ledger_path=str(tmp_path / "data" / "slskd" / "searches.sqlite"),
            max_searches=budget[0],
            window_s=budget[1],
            **({"clock": clock} if clock else {}),
        ),
        "download_policy": DownloadPolicy(tracks_per_run=tracks_per_run),
    }


def liked(*tracks) -> DeezerLibrary:
    return DeezerLibrary(user_id="5", tracks=[{**t, "time_add": 1767225600} for t in tracks])


def test_each_pending_track_gets_the_best_file_and_every_candidate_is_explained(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer("good", files=[SharedFile("@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(), length=298)])
    slskd.add_peer(
        "low", files=[SharedFile("@@xyz\\mp3\\Air - Sexy Boy.mp3", b"\xff\xfb" * 500, bit_rate=128, length=298)]
    )
    slskd.add_peer("live", files=[SharedFile("@@q\\Air\\Live in Paris\\Sexy Boy (Live).flac", flac(), length=299)])
    # Kelly is only found by its title and album: the folder does not name the artist.
    slskd.add_peer(
        "quiet",
        has_free_upload_slot=False,
        queue_length=3,
        files=[
            SharedFile("@@m\\Moon Safari\\03 Kelly Watch the Stars.mp3", b"\xff\xfb" * 500, bit_rate=320, length=225)
        ],
    )
    with DeezerStandin(liked(SEXY, KELLY)) as deezer, slskd:
        result = materialize(
            [deezer_favorites, library_entities, downloads], resources=resources(library_db, tmp_path, deezer, slskd)
        )
        assert slskd.max_concurrent_searches == 1
        held = sorted((t["username"], t["filename"]) for t in _transfers(slskd))
    assert rows(
        library_db,
        """
        SELECT t.title, d.state, d.query_tier, d.username, d.remote_filename, t.download_state
        FROM library.downloads d JOIN library.tracks t USING (track_id) ORDER BY t.title
    """,
    ) == [
        (
            "Kelly Watch the Stars",
            "downloading",
            "title_album",
            "quiet",
            "@@m\\Moon Safari\\03 Kelly Watch the Stars.mp3",
            "downloading",
        ),
        (
            "Sexy Boy",
            "downloading",
            "artist_title",
            "good",
            "@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac",
            "downloading",
        ),
    ]
    explained = rows(
        library_db,
        """
        SELECT c.username, c.accepted, c.rank, c.decided_by, c.reason, c.chosen, c.breakdown
        FROM library.download_candidates c JOIN library.tracks t USING (track_id) WHERE t.title = 'Sexy Boy' ORDER BY c.rank
    """,
    )
    assert explained[0][:3] == ("good", True, 1) and explained[0][5]
    assert {u: (accepted, chosen) for u, accepted, _, _, _, chosen, _ in explained} == {
        "good": (True, True),
        "low": (False, False),
        "live": (False, False),
    }
    by_peer = {u: (decided_by, reason) for u, _, _, decided_by, reason, _, _ in explained}
    assert by_peer["low"][0] == "min_bitrate" and by_peer["live"][0] == "version_word:live"
    assert all(reason for _, reason in by_peer.values()) and json.loads(explained[0][6])["quality"] > 0
    # Every choice is explained by the table alone: one chosen candidate per track, with its reason.
    assert rows(
        library_db, "SELECT count(DISTINCT track_id), count(*) FILTER (WHERE chosen) FROM library.download_candidates"
    ) == [(2, 2)]
    assert metadata(result, "downloads")["this_run"]["downloading"] == 2
    # slskd holds exactly the two chosen files.
    assert held == [
        ("good", "@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac"),
        ("quiet", "@@m\\Moon Safari\\03 Kelly Watch the Stars.mp3"),
    ]


def _transfers(standin):
    import httpx

    listing = httpx.get(f"{standin.url}/api/v0/transfers/downloads", headers={"X-API-Key": "standin-api-key"}).json()
    return [f | {"username": u["username"]} for u in listing for d in u["directories"] for f in d["files"]]


def test_a_track_found_nowhere_is_not_found_and_waits_before_the_next_search(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    with DeezerStandin(liked(SEXY)) as deezer, slskd:
        res = resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        searches = len(slskd.searches)
        assert searches == 3  # artist + title, title + album, title alone
        materialize([downloads], resources=res)
        assert len(slskd.searches) == searches  # searched again only after a day
    assert rows(library_db, "SELECT state, searches, query_tier FROM library.downloads") == [("not_found", 1, "title")]
    assert rows(library_db, "SELECT download_state FROM library.tracks") == [("pending",)]


def test_slskd_down_fails_the_phase_and_keeps_nothing_half_done(library_db, tmp_path):
    with DeezerStandin(liked(SEXY)) as deezer:
        res = resources(library_db, tmp_path, deezer, None)
        res["slskd"] = SlskdResource(
            base_url="http://127.0.0.1:9", api_key="k", poll_interval_s=0.001, retry_base_delay_s=0.01, max_attempts=2
        )
        result = materialize([deezer_favorites, library_entities, downloads], resources=res, raise_on_error=False)
    assert not result.success
    assert "cannot reach slskd at http://127.0.0.1:9" in failure_message(result)
    assert rows(library_db, "SELECT count(*) FROM library.downloads") == [(0,)]
    assert rows(library_db, "SELECT download_state FROM library.tracks") == [("pending",)]


def test_without_slskd_the_phase_reports_skipped(library_db, tmp_path):
    with DeezerStandin(liked(SEXY)) as deezer:
        result = materialize([downloads], resources=resources(library_db, tmp_path, deezer, None))
    assert metadata(result, "downloads")["status"].startswith("skipped: not configured")


@pytest.mark.scale
def test_a_1000_track_queue_never_exceeds_the_search_budget_and_no_two_searches_overlap(library_db, tmp_path):
    queue = 1000
    library = dz.generate_library(queue, seed=5)
    # The real budget, 34 searches in any 220 s, on a clock that moves only when the budget waits:
    # the test takes no real time to wait, and the stand-in judges bans on the same clock.
    clock = VirtualClock()
    max_searches, window = 34, 220.0
    slskd = SlskdStandin(
        tmp_path / "slskd" / "downloads", search_polls=1, ban_after=(max_searches, window), clock=clock.now
    )
    # Album folders with a bonus file, so no folder is the whole album by itself: every track is then
    # searched for on its own, after its album's search.
    albums = {t["album"]["id"]: (t["artist"]["name"], t["album"]["title"]) for t in library.tracks}
    slskd.add_peer(
        "everything",
        files=[
            SharedFile(f"@@lib\\{artist}\\{album}\\{name}.mp3", b"\xff\xfb" * 64, bit_rate=320, length=length)
            for artist, album, name, length in [
                *((t["artist"]["name"], t["album"]["title"], t["title"], t["duration"]) for t in library.tracks),
                *((artist, album, "bonus", 100) for artist, album in albums.values()),
            ]
        ],
    )
    with DeezerStandin(library) as deezer, slskd:
        res = resources(
            library_db, tmp_path, deezer, slskd, budget=(max_searches, window), tracks_per_run=queue, clock=clock
        )
        materialize([deezer_favorites, library_entities], resources=res)
        ((pending,),) = rows(library_db, "SELECT count(*) FROM library.tracks WHERE download_state = 'pending'")
        result = materialize([downloads], resources=res)
    assert pending >= 0.95 * queue  # a few generated likes share a name and merge
    assert metadata(result, "downloads")["searched"] == pending <= len(slskd.searches)  # some need a second tier
    # Nearly all found their file; the rest share a name with another generated song and only its file is shared.
    states = dict(rows(library_db, "SELECT state, count(*) FROM library.downloads GROUP BY 1"))
    assert states["downloading"] >= 0.95 * pending and set(states) <= {"downloading", "not_found"}
    # The safety bounds: never beyond the budget, never two searches at once, no ban.
    assert not slskd.banned and all(not s.banned for s in slskd.searches)
    assert slskd.max_concurrent_searches == 1
    assert slskd.max_searches_in_window(window) <= max_searches
    # Waiting is what kept it within the budget: 1,000 searches need at least 29 full windows.
    assert clock.slept >= (len(slskd.searches) // max_searches - 1) * window


def test_the_pending_downloads_sensor_starts_one_run_per_new_set_of_pending_tracks_and_says_why_it_skips(
    library_db, tmp_path
):
    from soulspot_pipeline.automation import pending_downloads_sensor

    def evaluate(slskd_url, cursor=None):
        res = {"library_db": library_db, "slskd": SlskdResource(base_url=slskd_url, api_key="k")}
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=res) as context:
            return pending_downloads_sensor(context), context.cursor

    with dg.instance_for_test() as instance:
        skipped, _ = evaluate(None)
        assert "not configured" in skipped.skip_message
        skipped, _ = evaluate("http://127.0.0.1:9")
        assert "cannot be read yet" in skipped.skip_message  # no library yet
        with DeezerStandin(liked(SEXY, KELLY)) as deezer:
            materialize([deezer_favorites, library_entities], resources=resources(library_db, tmp_path, deezer, None))
        first, cursor = evaluate("http://127.0.0.1:9")
        assert isinstance(first, dg.RunRequest) and first.tags["soulspot/pending"] == "2"
        again, same = evaluate("http://127.0.0.1:9", cursor)
        assert isinstance(again, dg.SkipReason) and "already requested" in again.skip_message and same == cursor

        # Paused: the same tracks wait, and the tick says so; resumed, their run is asked for anew.
        with library_db.writer() as conn:
            set_paused(conn, True, datetime(2026, 1, 2, 3, 4))
        paused, _ = evaluate("http://127.0.0.1:9")
        assert isinstance(paused, dg.SkipReason)
        assert paused.skip_message.startswith("2 pending tracks wait: downloads are paused since 2026-01-02 03:04 UTC")
        with library_db.writer() as conn:
            set_paused(conn, False, datetime(2026, 1, 2, 3, 5))
        resumed, _ = evaluate("http://127.0.0.1:9")
        assert isinstance(resumed, dg.RunRequest)


# -- transfers and import ---------------------------------------------------------------

SHORT = dz.track(3135560, "Sexy Boy", AIR, MOON, duration_s=2)


def follow_resources(library_db, tmp_path, deezer, slskd_server, **policy):
    from soulspot_pipeline.resources.music_folder import MusicFolder

    res = resources(library_db, tmp_path, deezer, slskd_server)
    res["slskd"] = SlskdResource(
        base_url=slskd_server.url,
        api_key="standin-api-key",
        downloads_dir=str(slskd_server.downloads_dir),
        poll_interval_s=0.001,
        retry_base_delay_s=0.01,
        max_attempts=2,
    )
    res["music_folder"] = MusicFolder(music_dir=str(tmp_path / "music"), scan_workers=1)
    res["download_policy"] = DownloadPolicy(**policy)
    (tmp_path / "music").mkdir(exist_ok=True)
    return res


def follow_until_settled(library_db, res, runs=10):
    from soulspot_pipeline.assets.downloads import download_transfers

    for _ in range(runs):
        materialize([download_transfers], resources=res)
        if not rows(library_db, "SELECT count(*) FROM library.downloads WHERE state = 'downloading'")[0][0]:
            return


def files_under(folder):
    return sorted(str(p.relative_to(folder)) for p in folder.rglob("*") if p.is_file())


def test_a_finished_download_is_verified_tagged_renamed_and_moved_into_the_library(library_db, tmp_path):
    import mutagen

    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "good", files=[SharedFile("@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)]
    )
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        follow_until_settled(library_db, res)
    ((path, state, download_state),) = rows(
        library_db,
        """
        SELECT d.local_path, d.state, t.download_state FROM library.downloads d JOIN library.tracks t USING (track_id)
    """,
    )
    assert (state, download_state) == ("downloaded", "downloaded")
    music = tmp_path / "music"
    assert files_under(music) == ["Air/Moon Safari/Sexy Boy.flac"] and path == str(
        music / "Air/Moon Safari/Sexy Boy.flac"
    )
    tags = mutagen.File(path)
    assert (tags["title"], tags["artist"], tags["album"]) == (["Sexy Boy"], ["Air"], ["Moon Safari"])
    assert rows(library_db, "SELECT local_path FROM library.tracks") == [(path,)]
    assert rows(library_db, "SELECT username, successes, failures FROM library.peer_stats") == [("good", 1, 0)]


def test_a_finished_download_is_named_by_the_configured_template(library_db, tmp_path):
    from soulspot_pipeline.resources.music_folder import MusicFolder
    from soulspot_pipeline.user_actions import set_metadata

    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "good", files=[SharedFile("@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)]
    )
    template = "{genre}/{artist} - {album}/{disc_folder}/[{albumtype}] {title}.{ext}"
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        res["music_folder"] = MusicFolder(music_dir=str(tmp_path / "music"), scan_workers=1, naming_template=template)
        materialize([deezer_favorites, library_entities], resources=res)
        ((album_id,),) = rows(library_db, "SELECT album_id FROM library.albums")
        for field, value in (("album_type", "ep"), ("genres", "Trip Hop")):
            config = {"entity_type": "album", "entity_id": album_id, "field": field, "value": value}
            assert set_metadata.execute_in_process(
                run_config={"ops": {"set_field": {"config": config}}},
                resources={"library_db": res["library_db"], "library_policy": res["library_policy"]},
                instance=shared_instance(),
            ).success
        materialize([downloads], resources=res)
        follow_until_settled(library_db, res)
    # The album's genre and type (set by hand here); one disc: no disc folder.
    assert files_under(tmp_path / "music") == ["Trip Hop/Air - Moon Safari/[ep] Sexy Boy.flac"]


@pytest.mark.parametrize("embed", [True, False])
def test_a_download_whose_lyrics_are_known_gets_them_in_its_tags_when_asked(library_db, tmp_path, embed):
    import mutagen

    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "good", files=[SharedFile("@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)]
    )
    lrc = "[00:00.50] Sexy boy\n[00:01.20] Sexy boy"
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd, embed_lyrics=embed)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        ((track_id,),) = rows(library_db, "SELECT track_id FROM library.tracks")
        with library_db.writer(publish=False) as conn:  # as the lyrics phase leaves a track it found
            conn.execute(
                "INSERT INTO library.lyrics (track_id, status, source, synced, instrumental, text, attempts, "
                "fetched_at) VALUES (?, 'synced', 'lrclib', true, false, ?, 1, now()::TIMESTAMP)",
                [track_id, lrc],
            )
        follow_until_settled(library_db, res)
    ((path,),) = rows(library_db, "SELECT local_path FROM library.tracks WHERE download_state = 'downloaded'")
    tags = mutagen.File(path).tags
    assert (tags.get("LYRICS") == [lrc]) is embed and tags["TITLE"] == ["Sexy Boy"]


def test_a_rejected_transfer_moves_on_to_the_next_candidate_and_counts_against_the_peer(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "a_rejects",
        behaviour="rejected",
        files=[SharedFile("@@r\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)],
    )
    slskd.add_peer("b_shares", files=[SharedFile("@@s\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)])
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        assert rows(library_db, "SELECT username FROM library.downloads") == [("a_rejects",)]  # ranked first by name
        follow_until_settled(library_db, res)
    assert rows(library_db, "SELECT state, username, attempts FROM library.downloads") == [
        ("downloaded", "b_shares", 2)
    ]
    assert rows(library_db, "SELECT username, chosen FROM library.download_candidates ORDER BY rank") == [
        ("a_rejects", True),
        ("b_shares", True),
    ]
    assert rows(library_db, "SELECT username, failures, last_error FROM library.peer_stats WHERE failures > 0") == [
        ("a_rejects", 1, "transfer rejected: File not shared."),
    ]


def test_a_truncated_file_never_reaches_the_library_and_the_track_fails_with_the_reason(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "cut", behaviour="truncated", files=[SharedFile("@@c\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)]
    )
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        follow_until_settled(library_db, res)
    ((state, error),) = rows(library_db, "SELECT state, error FROM library.downloads")
    assert state == "failed" and error.startswith("import rejected: size") and "truncated" in error
    assert rows(library_db, "SELECT download_state FROM library.tracks") == [("failed",)]
    assert rows(library_db, "SELECT username, failures FROM library.peer_stats") == [("cut", 1)]
    assert files_under(tmp_path / "music") == []


def test_a_stalled_transfer_is_cancelled_and_the_track_fails_when_no_other_file_is_left(library_db, tmp_path):
    import time

    from soulspot_pipeline.assets.downloads import download_transfers

    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "stuck", behaviour="stall", files=[SharedFile("@@s\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)]
    )
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd, stall_minutes=0.01)  # 0.6 s
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        for _ in range(12):
            materialize([download_transfers], resources=res)
            if rows(library_db, "SELECT state FROM library.downloads") != [("downloading",)]:
                break
            time.sleep(0.2)
        cancelled = [t for t in _transfers(slskd) if "Cancelled" in t["state"]]
    ((state, error),) = rows(library_db, "SELECT state, error FROM library.downloads")
    assert state == "failed" and error.startswith("stalled at ")
    assert len(cancelled) == 1 and files_under(tmp_path / "music") == []


# Remote names a stranger may choose: parent folders, drive letters, UNC shares, reserved
# names, terminal escapes, absolute paths. Each is the path of one song of the test below.
HOSTILE = [
    "@@x\\..\\..\\..\\Air\\{title}.flac",
    "C:\\Windows\\System32\\Air\\{title}.flac",
    "\\\\server\\share\\Air\\..\\{title}.flac",
    "@@x\\Air\\CON\\{title}.flac",
    "@@x\\Air\\\x1b[31mred\x07\\{title}.flac",
    "/etc/Air/{title}.flac",
]
HOSTILE_TITLES = ["Sexy Boy", "Kelly Watch the Stars", "Talisman", "Remember", "Ce Matin La", "Le Voyage de Penelope"]


def test_no_imported_file_lands_outside_the_music_folder_whatever_the_remote_name(library_db, tmp_path):
    # Each song on an album of its own with a hostile title, so each is searched and imported alone.
    songs = [
        dz.track(
            3135570 + n, title, AIR, dz.album(302199 + n, f"../../../../tmp/escape{n}", AIR, nb_tracks=1), duration_s=2
        )
        for n, title in enumerate(HOSTILE_TITLES)
    ]
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "hostile",
        files=[
            SharedFile(remote.format(title=title), flac(2.0), length=2)
            for remote, title in zip(HOSTILE, HOSTILE_TITLES, strict=True)
        ],
    )
    outside_before = files_under(tmp_path.parent)
    with DeezerStandin(liked(*songs)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        follow_until_settled(library_db, res)
    imported = rows(
        library_db, "SELECT d.remote_filename, d.local_path FROM library.downloads d WHERE d.state = 'downloaded'"
    )
    assert sorted(remote for remote, _ in imported) == sorted(
        remote.format(title=title) for remote, title in zip(HOSTILE, HOSTILE_TITLES, strict=True)
    )
    music = (tmp_path / "music").resolve()
    for remote, path in imported:
        assert Path(path).resolve().is_relative_to(music) and Path(path).is_file(), remote
    # Nothing appeared anywhere but in this test's own folders.
    new = set(files_under(tmp_path.parent)) - set(outside_before)
    assert all(f.startswith(f"{tmp_path.name}/") for f in new), sorted(new)
    assert sorted(f for f in files_under(music) if not f.startswith(".")) == sorted(
        str(Path(path).resolve().relative_to(music)) for _, path in imported
    )


def test_an_import_killed_half_way_leaves_no_partial_file_in_the_library_and_the_track_is_retried(library_db, tmp_path):
    import os
    import time

    from soulspot_pipeline.assets.cleanup import library_cleanup
    from soulspot_pipeline.importing.place import STAGING, stage

    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "good", files=[SharedFile("@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)]
    )
    with DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities, downloads], resources=res)
        for _ in range(6):  # slskd finishes the transfer; the library has not imported it yet
            _transfers(slskd)
        finished = next((tmp_path / "slskd" / "downloads").rglob("*.flac"))
        # What an import killed while copying leaves: a partial copy in the hidden staging folder.
        partial = stage(finished, tmp_path / "music", suffix=".flac")
        partial.write_bytes(partial.read_bytes()[:100])
        old = time.time() - 7200
        os.utime(partial, (old, old))
        materialize([library_entities], resources=res)
        assert rows(library_db, "SELECT count(*) FROM library.local_files") == [
            (0,)
        ]  # the partial is not in the library
        follow_until_settled(library_db, res)
        cleaned = materialize([library_cleanup], resources=res)
    assert rows(library_db, "SELECT state FROM library.downloads") == [("downloaded",)]
    assert files_under(tmp_path / "music") == ["Air/Moon Safari/Sexy Boy.flac"]
    assert metadata(cleaned, "library_cleanup")["staging_leftovers_removed"] == 1
    assert not (tmp_path / "music" / STAGING).exists() or not any((tmp_path / "music" / STAGING).iterdir())


def test_the_transfer_monitor_asks_for_a_run_when_downloads_move_and_says_why_it_skips(library_db, tmp_path):
    from soulspot_pipeline.automation import transfer_monitor_sensor

    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "good", files=[SharedFile("@@abcde\\music\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)]
    )

    def evaluate(cursor=None):
        res = {"library_db": library_db, "slskd": SlskdResource(base_url=slskd.url, api_key="standin-api-key")}
        with dg.build_sensor_context(instance=instance, cursor=cursor, resources=res) as context:
            return transfer_monitor_sensor(context), context.cursor

    with dg.instance_for_test() as instance, DeezerStandin(liked(SHORT)) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd)
        materialize([deezer_favorites, library_entities], resources=res)
        idle, _ = evaluate()
        assert idle.skip_message == "no downloads in progress"
        materialize([downloads], resources=res)
        first, cursor = evaluate()  # each look at slskd's list moves the stand-in's transfer on
        assert isinstance(first, dg.RunRequest) and first.tags["soulspot/active"] == "1"
        moved, _cursor2 = evaluate(cursor)
        assert isinstance(moved, dg.RunRequest) and moved.run_key != first.run_key


def test_a_low_bitrate_file_is_upgraded_only_by_a_strictly_better_copy_and_the_old_one_is_kept_aside(
    library_db, tmp_path
):
    from soulspot_pipeline.assets.discover import local_scan
    from soulspot_pipeline.devkit.synth import write_audio_file

    music = tmp_path / "music"
    (music / "Air" / "Moon Safari").mkdir(parents=True)
    old = write_audio_file(
        music / "Air" / "Moon Safari" / "Sexy Boy.mp3",
        "mp3",
        {"artist": "Air", "album": "Moon Safari", "title": "Sexy Boy"},
        seconds=2,
    )
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer("lossless", files=[SharedFile("@@l\\Air\\Moon Safari\\02 Sexy Boy.flac", flac(2.0), length=2)])
    slskd.add_peer(
        "same", files=[SharedFile("@@m\\Air\\Moon Safari\\02 Sexy Boy.mp3", old.read_bytes(), length=2, bit_rate=8)]
    )
    with DeezerStandin(liked()) as deezer, slskd:
        res = follow_resources(library_db, tmp_path, deezer, slskd, request_upgrades=True, min_lossy_bitrate=8)
        first = materialize([local_scan, library_entities, downloads], resources=res)
        assert metadata(first, "downloads")["upgrade_candidates"] == 1
        assert rows(
            library_db, "SELECT username, accepted, decided_by FROM library.download_candidates ORDER BY rank"
        ) == [
            ("lossless", True, "quality"),
            ("same", False, "not_an_upgrade"),
        ]
        follow_until_settled(library_db, res)
        again = materialize([downloads], resources=res)
    assert metadata(again, "downloads")["upgrade_candidates"] == 0  # lossless now: nothing left to upgrade
    assert rows(library_db, "SELECT audio_format, local_path FROM library.tracks") == [
        ("flac", str(music / "Air/Moon Safari/Sexy Boy.flac"))
    ]
    kept = [f for f in files_under(music) if f.startswith(".soulspot-replaced/")]
    assert len(kept) == 1 and kept[0].endswith("Air/Moon Safari/Sexy Boy.mp3") and not old.exists()


def test_most_of_an_album_wanted_is_taken_as_one_folder_from_one_peer(library_db, tmp_path):
    titles = ("La femme d'argent", "Sexy Boy", "All I Need", "Kelly Watch the Stars")
    album = dz.album(302130, "Moon Safari", AIR, nb_tracks=4)
    tracks = [dz.track(3135600 + n, t, AIR, album, duration_s=2, track_position=n + 1) for n, t in enumerate(titles)]
    library = DeezerLibrary(user_id="5", albums=[{**album, "time_add": 1767225600}], album_tracks={302130: tracks})
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    # Single tracks from peers with free slots, and one peer (busier) with the whole album in one folder.
    for n, title in enumerate(titles):
        slskd.add_peer(
            f"single{n}", files=[SharedFile(f"@@s{n}\\Air\\Moon Safari\\{n + 1:02d} {title}.flac", flac(2.0), length=2)]
        )
    slskd.add_peer(
        "whole",
        has_free_upload_slot=False,
        queue_length=2,
        files=[
            SharedFile(f"@@w\\Music\\Air\\Moon Safari (1998)\\{n + 1:02d} {title}.flac", flac(2.0), length=2)
            for n, title in enumerate(titles)
        ],
    )
    with DeezerStandin(library) as deezer, slskd:
        result = materialize(
            [deezer_favorites, library_entities, downloads], resources=resources(library_db, tmp_path, deezer, slskd)
        )
        searches = [s.text for s in slskd.searches]
    assert searches == ["air moon safari"]  # one search for the album, none per track
    assert rows(library_db, "SELECT DISTINCT username, query_tier, state FROM library.downloads") == [
        ("whole", "album", "downloading")
    ]
    assert metadata(result, "downloads")["this_run"]["downloading"] == 4
    chosen = rows(
        library_db,
        "SELECT DISTINCT decided_by, reason LIKE 'folder @@w%' FROM library.download_candidates WHERE chosen",
    )
    assert len(chosen) == 1 and chosen[0][1]
