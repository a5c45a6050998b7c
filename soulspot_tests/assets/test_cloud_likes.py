"""Cloud likes end to end: spotipy and httpx against local Spotify and Deezer stand-ins,
materialized by Dagster into a tmp_path DuckDB and merged with real local files."""

import os
import stat
import time

import dagster as dg
import pytest

from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.library import library_entities, no_orphaned_tracks, unique_local_paths
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins import spotify as sp
from soulspot_pipeline.devkit.standins.deezer import DeezerLibrary, DeezerStandin
from soulspot_pipeline.devkit.standins.spotify import SpotifyLibrary, SpotifyStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.resources.spotify import SCOPES, SpotifyResource, TokenFile
from soulspot_tests.clock import VirtualClock
from soulspot_tests.results import failure_message, metadata, rows
from soulspot_tests.results import materialize as shared_materialize

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

ASSETS = [*cloud_assets, local_scan, library_entities, unique_local_paths, no_orphaned_tracks]
SEXY_ISRC = "FRAB19800001"
LIBRARY_TABLES = (
    "artists",
    "albums",
    "tracks",
    "entity_keys",
    "source_links",
    "playlists",
    "playlist_tracks",
    "cloud_artists",
    "cloud_albums",
    "cloud_tracks",
    "cloud_album_tracks",
    "cloud_likes",
    "cloud_playlists",
    "cloud_playlist_items",
    "cloud_endpoints",
    "provider_health",
)

AIR = sp.artist("4aMeIVKmV7mXyd0pvUhI4s", "Air", genres=["french pop"])
MOON = sp.album("6ZU9RJIZ0fNaFuQM57bDIA", "Moon Safari", [AIR], total_tracks=10, upc="724384497811")
SEXY = sp.track("3t2VpuNfXG5PV7scRTcqpJ", "Sexy Boy", [AIR], MOON, isrc=SEXY_ISRC, duration_ms=298_000, track_number=2)
KELLY = sp.track(
    "5v5ETK9WFXAnGQ3MRubKuE",
    "Kelly Watch the Stars",
    [AIR],
    MOON,
    isrc="FRAB19800002",
    duration_ms=225_000,
    track_number=3,
)
ADELE = sp.artist("4dpARuHxo51G3z768sgnrY", "Adele")
HELLO = sp.track(
    "4sPmO7WMQUAf45kwMOtONw",
    "Hello",
    [ADELE],
    sp.album("7uwTHXmFa1Ebi5flqBosig", "25", [ADELE]),
    isrc="GBBKS1500214",
    duration_ms=295_000,
)
DAFT = sp.artist("4tZwfgrHOc3mvqYlEYSvVi", "Daft Punk")
DISCOVERY = sp.album("2noRn2Aes5aoNVsU6iWThc", "Discovery", [DAFT], total_tracks=14)
ONE_MORE = sp.track(
    "0DiWol3AO6WpXZgp0goxAV", "One More Time", [DAFT], DISCOVERY, isrc="GBDUW0000059", duration_ms=320_000
)
AERO = sp.track("1NeLwFETswx8Fzxl2AFl91", "Aerodynamic", [DAFT], DISCOVERY, isrc="GBDUW0000060", duration_ms=212_000)
EPISODE = sp.episode("4GI3dxEafwap1sFiTGPKd1", "The Giant Beastcast: Episode 0")


def saved(track, added="2026-01-05T10:00:00Z"):
    return {"added_at": added, "track": track}


def entry(item, *, is_local=False):
    return {
        "added_at": "2026-01-06T10:00:00Z",
        "added_by": {"id": "me", "type": "user"},
        "is_local": is_local,
        "track": item,
    }


def spotify_library() -> SpotifyLibrary:
    road_trip = [
        entry(ONE_MORE),
        entry(AERO),
        entry(ONE_MORE),
        entry(EPISODE),
        entry(None),
        entry({"id": None, "name": "my demo.mp3", "type": "track"}, is_local=True),
    ]
    return SpotifyLibrary(
        saved_tracks=[saved(SEXY), saved(HELLO, "2026-01-04T10:00:00Z")],
        saved_albums=[
            {
                "added_at": "2026-01-03T10:00:00Z",
                "album": {**MOON, "tracks": [sp.simplified_track(SEXY), sp.simplified_track(KELLY)]},
            }
        ],
        followed_artists=[AIR],
        playlists=[
            sp.playlist("37i9dQZF1DX0XUsuxWHRQd", "Road Trip", "me", snapshot_id="snap-1", total=len(road_trip))
        ],
        playlist_items={"37i9dQZF1DX0XUsuxWHRQd": road_trip},
    )


D_AIR = dz.artist(1422, "Air")
D_MOON = dz.album(302127, "Moon Safari (Remastered)", D_AIR, nb_tracks=10)
D_SEXY = dz.track(3135556, "Sexy Boy", D_AIR, D_MOON, duration_s=298)


def deezer_library() -> DeezerLibrary:
    return DeezerLibrary(
        user_id="5",
        tracks=[{**D_SEXY, "time_add": 1767225600}],
        albums=[],
        artists=[],
        playlists=[],
        playlist_tracks={},
        album_tracks={},
    )


@pytest.fixture
def spotify_standin():
    with SpotifyStandin(spotify_library()) as server:
        yield server


@pytest.fixture
def deezer_standin():
    with DeezerStandin(deezer_library()) as server:
        yield server


def login(server: SpotifyStandin, token_path) -> dict:
    """What `soulspot spotify-login` leaves behind: a stored token set."""
    tokens = {**server.issue_tokens(" ".join(SCOPES)), "expires_at": int(time.time()) + 3600}
    TokenFile(token_path).save_token_to_cache(tokens)
    return tokens


def resources(
    library_db,
    music_dir,
    tmp_path,
    spotify_server=None,
    deezer_server=None,
    auto_queue=False,
    deezer_user="5",
    spotify_attempts=5,
    clock=None,
    spotify_options=None,
    deezer_options=None,
):
    """The resources of a run against the stand-ins; ``*_options`` override a provider's settings."""
    waits = {"clock": clock} if clock else {}
    token_path = tmp_path / "data" / "secrets" / "spotify-token.json"
    spotify = {
        "client_id": spotify_server.client_id if spotify_server else None,
        "redirect_uri": "http://127.0.0.1:8888/callback" if spotify_server else None,
        "api_url": spotify_server.api_url if spotify_server else "http://127.0.0.1:9/v1/",
        "accounts_url": spotify_server.accounts_url if spotify_server else "http://127.0.0.1:9",
        "token_path": str(token_path),
        "retry_base_delay_s": 0.01,
        "max_attempts": spotify_attempts,
        **waits,
    }
    deezer = {
        "user_id": deezer_user if deezer_server else None,
        "api_url": deezer_server.api_url if deezer_server else "http://127.0.0.1:9/",
        "retry_base_delay_s": 0.01,
        **waits,
    }
    return {
        "library_db": library_db,
        "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
        "library_policy": LibraryPolicy(auto_queue_downloads=auto_queue),
        "spotify": SpotifyResource(**{**spotify, **(spotify_options or {})}),
        "deezer": DeezerResource(**{**deezer, **(deezer_options or {})}),
    }


def materialize(res, raise_on_error=True, instance=None, assets=ASSETS):
    return shared_materialize(assets, resources=res, raise_on_error=raise_on_error, instance=instance)


def snapshot_of(library_db):
    with library_db.reader() as conn:
        return {t: conn.execute(f"SELECT * FROM library.{t} ORDER BY ALL").fetchall() for t in LIBRARY_TABLES}


def write_sexy_boy(music_dir):
    folder = music_dir / "Air" / "Moon Safari"
    folder.mkdir(parents=True)
    path = folder / "02 Sexy Boy.flac"
    write_audio_file(
        path,
        "flac",
        {"artist": "Air", "album": "Moon Safari", "title": "Sexy Boy", "isrc": SEXY_ISRC, "track_number": 2},
        seconds=1,
    )
    return path


def test_likes_from_both_providers_and_a_local_file_become_one_library_and_a_second_sync_changes_no_row(
    library_db, music_dir, tmp_path, spotify_standin, deezer_standin
):
    login(spotify_standin, tmp_path / "data" / "secrets" / "spotify-token.json")
    path = write_sexy_boy(music_dir)
    res = resources(library_db, music_dir, tmp_path, spotify_standin, deezer_standin)
    first = materialize(res)

    spotify = metadata(first, "spotify_likes")
    assert (spotify["liked_tracks"], spotify["saved_albums"], spotify["followed_artists"], spotify["playlists"]) == (
        2,
        1,
        1,
        1,
    )
    assert spotify["skipped_items"] == {
        "null": 1,  # the entry whose track is gone
        "no_id": 0,
        "local_file": 1,
        "episode": 1,
        "duplicate": 1,
        "unavailable": 0,
    }
    assert rows(library_db, "SELECT endpoint, reason, items FROM library.cloud_skips ORDER BY ALL") == [
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "duplicate", 1),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "episode", 1),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "local_file", 1),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "null", 1),
    ]
    assert metadata(first, "deezer_favorites")["liked_tracks"] == 1

    # The liked track that is also a local file with the same ISRC is one track with every id.
    (sexy,) = rows(
        library_db,
        "SELECT spotify_id, deezer_id, local_path, ownership_state, download_state, primary_source "
        "FROM library.tracks WHERE title = 'Sexy Boy'",
    )
    assert sexy == (SEXY["id"], "3135556", str(path), "owned", "downloaded", "local")
    assert rows(
        library_db,
        "SELECT source, matched_by FROM library.source_links l JOIN library.tracks t "
        "ON t.track_id = l.entity_id WHERE t.title = 'Sexy Boy' ORDER BY source",
    ) == [("deezer", "name"), ("spotify", "isrc")]  # its album "Moon Safari (Remastered)" is the same album
    assert rows(library_db, "SELECT count(*) FROM library.albums WHERE title LIKE 'Moon Safari%'") == [(1,)]
    states = dict(rows(library_db, "SELECT title, ownership_state || '/' || download_state FROM library.tracks"))
    assert states == {
        "Sexy Boy": "owned/downloaded",
        "Hello": "owned/not_needed",
        "Kelly Watch the Stars": "owned/not_needed",
        "One More Time": "discovered/not_needed",
        "Aerodynamic": "discovered/not_needed",
    }
    assert rows(library_db, "SELECT name, sync_mode, removed FROM library.playlists") == [
        ("Road Trip", "reference", False)
    ]
    assert rows(
        library_db,
        "SELECT t.title FROM library.playlist_tracks p JOIN library.tracks t USING (track_id) ORDER BY position",
    ) == [("One More Time",), ("Aerodynamic",)]
    assert rows(library_db, "SELECT genres, ownership_state FROM library.artists WHERE name = 'Air'") == [
        (["french pop"], "owned")
    ]

    before = snapshot_of(library_db)
    requests_before = spotify_standin.count("/v1/playlists/")
    second = materialize(res)
    assert snapshot_of(library_db) == before
    assert spotify_standin.count("/v1/playlists/") == requests_before  # unchanged snapshot_id: not read again
    assert all(v == 0 for table in metadata(second, "spotify_likes")["changes"].values() for v in table.values())


def test_unliking_flips_the_track_then_album_and_artist_to_discovered_and_deletes_nothing(
    library_db, music_dir, tmp_path, spotify_standin
):
    login(spotify_standin, tmp_path / "data" / "secrets" / "spotify-token.json")
    res = resources(library_db, music_dir, tmp_path, spotify_standin)
    materialize(res)
    counts = rows(
        library_db,
        "SELECT (SELECT count(*) FROM library.tracks), (SELECT count(*) FROM library.albums), (SELECT count(*) FROM library.artists)",
    )

    spotify_standin.library.saved_tracks = [saved(SEXY)]  # Hello un-liked
    materialize(res)
    assert rows(library_db, "SELECT ownership_state FROM library.tracks WHERE title = 'Hello'") == [("discovered",)]
    assert rows(library_db, "SELECT ownership_state FROM library.albums WHERE title = '25'") == [("discovered",)]
    assert rows(library_db, "SELECT ownership_state FROM library.artists WHERE name = 'Adele'") == [("discovered",)]
    assert rows(
        library_db, "SELECT unliked_at IS NOT NULL FROM library.cloud_likes WHERE item_id = ?", [HELLO["id"]]
    ) == [(True,)]

    # The saved album goes, the followed artist goes: Air keeps only what is still liked.
    spotify_standin.library.saved_albums = []
    spotify_standin.library.followed_artists = []
    materialize(res)
    assert dict(
        rows(
            library_db,
            "SELECT title, ownership_state FROM library.tracks WHERE title IN ('Sexy Boy', 'Kelly Watch the Stars')",
        )
    ) == {"Sexy Boy": "owned", "Kelly Watch the Stars": "discovered"}
    assert rows(library_db, "SELECT ownership_state FROM library.albums WHERE title = 'Moon Safari'") == [("owned",)]
    assert (
        rows(
            library_db,
            "SELECT (SELECT count(*) FROM library.tracks), (SELECT count(*) FROM library.albums), (SELECT count(*) FROM library.artists)",
        )
        == counts
    )

    # Liked again: owned again.
    spotify_standin.library.saved_tracks = [saved(SEXY), saved(HELLO, "2026-02-01T00:00:00Z")]
    materialize(res)
    assert rows(library_db, "SELECT ownership_state FROM library.artists WHERE name = 'Adele'") == [("owned",)]


def test_rate_limits_and_server_errors_are_waited_out_and_counted(
    library_db, music_dir, tmp_path, spotify_standin, deezer_standin
):
    login(spotify_standin, tmp_path / "data" / "secrets" / "spotify-token.json")
    spotify_standin.inject(
        "/v1/me/tracks",
        status=429,
        headers={"Retry-After": "1"},
        body={"error": {"status": 429, "message": "API rate limit exceeded"}},
    )
    spotify_standin.inject(
        "/v1/me/albums", status=500, times=2, body={"error": {"status": 500, "message": "Server error"}}
    )
    deezer_standin.quota_exceeded(times=1)
    clock = VirtualClock()
    result = materialize(resources(library_db, music_dir, tmp_path, spotify_standin, deezer_standin, clock=clock))
    spotify = metadata(result, "spotify_likes")
    assert (spotify["liked_tracks"], spotify["saved_albums"]) == (2, 1)
    assert (spotify["rate_limited"], spotify["retries"]) == (1, 3)
    assert 1.0 in clock.sleeps  # Retry-After was honoured
    deezer = metadata(result, "deezer_favorites")
    assert (deezer["liked_tracks"], deezer["rate_limited"]) == (1, 1)


def test_a_removed_endpoint_is_recorded_and_the_rest_of_the_sync_goes_on(
    library_db, music_dir, tmp_path, spotify_standin
):
    login(spotify_standin, tmp_path / "data" / "secrets" / "spotify-token.json")
    res = resources(library_db, music_dir, tmp_path, spotify_standin)
    materialize(res)
    spotify_standin.remove_endpoint("/v1/me/following", 403)
    spotify_standin.remove_endpoint("/v1/playlists/", 403)
    spotify_standin.library.playlists[0] = {**spotify_standin.library.playlists[0], "snapshot_id": "snap-2"}
    result = materialize(res)
    meta = metadata(result, "spotify_likes")
    assert meta["status"] == "partial: playlists: 1 of 1 playlists' items unavailable; unavailable: followed artists"
    assert "403" in meta["endpoints"] and meta["unavailable_items"] == 1
    assert rows(library_db, "SELECT endpoint, status FROM library.cloud_endpoints WHERE status <> 'ok' ORDER BY 1") == [
        ("followed artists", "unavailable"),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "unavailable"),
        ("playlists", "partial"),
    ]
    # What the refused endpoints said before is kept, not taken for un-likes.
    assert rows(library_db, "SELECT unliked_at FROM library.cloud_likes WHERE kind = 'artist'") == [(None,)]
    assert rows(library_db, "SELECT count(*) FROM library.playlist_tracks") == [(2,)]
    assert rows(library_db, "SELECT version FROM library.cloud_playlists") == [("snap-1",)]


def test_an_expired_access_token_is_refreshed_and_the_token_file_stays_private(
    library_db, music_dir, tmp_path, spotify_standin
):
    token_path = tmp_path / "data" / "secrets" / "spotify-token.json"
    first_tokens = login(spotify_standin, token_path)
    spotify_standin.expire_access_tokens()
    with dg.instance_for_test() as instance:
        result = materialize(resources(library_db, music_dir, tmp_path, spotify_standin), instance=instance)
        assert metadata(result, "spotify_likes")["liked_tracks"] == 2
        stored = TokenFile(token_path).get_cached_token()
        assert (
            stored["access_token"] != first_tokens["access_token"]
            and stored["refresh_token"] == first_tokens["refresh_token"]
        )
        assert stat.S_IMODE(os.stat(token_path).st_mode) == 0o600
        assert stat.S_IMODE(os.stat(token_path.parent).st_mode) == 0o700
        # No secret in any event Dagster stored (logs, metadata, failures).
        events = " ".join(str(e) for e in instance.all_logs(result.run_id))
        assert "spotify_likes" in events
        for secret in (first_tokens["access_token"], first_tokens["refresh_token"], stored["access_token"]):
            assert secret not in events


def test_a_missing_or_revoked_login_fails_the_phase_with_the_command_to_run(
    library_db, music_dir, tmp_path, spotify_standin
):
    res = resources(library_db, music_dir, tmp_path, spotify_standin)
    result = materialize(res, raise_on_error=False)
    assert not result.success
    failure = failure_message(result)
    assert "no Spotify login is stored yet" in failure and "soulspot spotify-login" in failure

    login(spotify_standin, tmp_path / "data" / "secrets" / "spotify-token.json")
    spotify_standin.expire_access_tokens()
    spotify_standin.revoke_refresh_tokens()
    result = materialize(res, raise_on_error=False)
    message = failure_message(result)
    assert "revoked" in message and "soulspot spotify-login" in message
    assert rows(library_db, "SELECT failures FROM library.provider_health WHERE source = 'spotify'") == [(2,)]


def test_a_provider_that_keeps_failing_is_rested_while_the_others_go_on(
    library_db, music_dir, tmp_path, spotify_standin, deezer_standin
):
    login(spotify_standin, tmp_path / "data" / "secrets" / "spotify-token.json")
    spotify_standin.remove_endpoint("/v1/", 503)
    res = resources(library_db, music_dir, tmp_path, spotify_standin, deezer_standin, spotify_attempts=2)
    for _ in range(3):
        result = materialize(res, raise_on_error=False)
        assert not result.success
        assert metadata(result, "deezer_favorites")["liked_tracks"] == 1
    calls = spotify_standin.count("/v1/")
    rested = materialize(res)
    assert metadata(rested, "spotify_likes")["status"].startswith("skipped: unavailable until")
    assert spotify_standin.count("/v1/") == calls  # left alone
    assert rows(library_db, "SELECT count(*) FROM library.tracks WHERE deezer_id = '3135556'") == [(1,)]


def test_playlist_modes_own_and_disable(library_db, music_dir, tmp_path, spotify_standin):
    from soulspot_pipeline.definitions import build_definitions
    from soulspot_pipeline.settings import Settings

    login(spotify_standin, tmp_path / "data" / "secrets" / "spotify-token.json")
    res = resources(library_db, music_dir, tmp_path, spotify_standin)
    materialize(res)
    defs = build_definitions(Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path / "data")}))
    job = defs.resolve_job_def("set_playlist_sync_mode")
    playlist_id = "spotify:37i9dQZF1DX0XUsuxWHRQd"

    def set_mode(mode):
        run = job.execute_in_process(
            run_config={"ops": {"set_mode": {"config": {"playlist_id": playlist_id, "sync_mode": mode}}}},
            resources={"library_db": library_db, "library_policy": res["library_policy"]},
        )
        assert run.success

    set_mode("own")
    assert dict(
        rows(
            library_db,
            "SELECT title, ownership_state FROM library.tracks WHERE title IN ('One More Time', 'Aerodynamic')",
        )
    ) == {"One More Time": "owned", "Aerodynamic": "owned"}
    assert rows(library_db, "SELECT sync_mode FROM library.playlists") == [("own",)]

    set_mode("disabled")
    spotify_standin.library.playlists[0] = {**spotify_standin.library.playlists[0], "snapshot_id": "snap-9"}
    reads = spotify_standin.count("/v1/playlists/")
    materialize(res)
    assert spotify_standin.count("/v1/playlists/") == reads  # a disabled playlist is not read
    assert rows(library_db, "SELECT count(*) FROM library.playlist_tracks") == [(0,)]
    assert dict(
        rows(
            library_db,
            "SELECT title, ownership_state FROM library.tracks WHERE title IN ('One More Time', 'Aerodynamic')",
        )
    ) == {"One More Time": "discovered", "Aerodynamic": "discovered"}


def test_user_actions_remove_ignore_restore_and_request(library_db, music_dir, tmp_path, spotify_standin):
    from soulspot_pipeline.definitions import build_definitions
    from soulspot_pipeline.settings import Settings

    login(spotify_standin, tmp_path / "data" / "secrets" / "spotify-token.json")
    res = resources(library_db, music_dir, tmp_path, spotify_standin)
    materialize(res)
    defs = build_definitions(Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path / "data")}))
    (air_id,) = rows(library_db, "SELECT artist_id FROM library.artists WHERE name = 'Air'")[0]
    (hello_id,) = rows(library_db, "SELECT track_id FROM library.tracks WHERE title = 'Hello'")[0]
    (aero_id,) = rows(library_db, "SELECT track_id FROM library.tracks WHERE title = 'Aerodynamic'")[0]

    def act(job_name, op_name, entity_type, entity_id, ok=True):
        run = defs.resolve_job_def(job_name).execute_in_process(
            run_config={"ops": {op_name: {"config": {"entity_type": entity_type, "entity_id": entity_id}}}},
            resources={"library_db": library_db, "library_policy": res["library_policy"]},
            raise_on_error=False,
        )
        assert run.success == ok
        return run

    act("remove_from_library", "remove", "artist", air_id)
    air_states = "SELECT DISTINCT t.ownership_state FROM library.tracks t JOIN library.artists a USING (artist_id) WHERE a.name = 'Air'"
    assert rows(library_db, air_states) == [("discovered",)]
    assert rows(library_db, "SELECT ownership_state FROM library.albums WHERE title = 'Moon Safari'") == [
        ("discovered",)
    ]
    materialize(res)  # a sync with the same likes does not undo the removal
    assert rows(library_db, air_states) == [("discovered",)]

    act("ignore_in_library", "ignore", "track", hello_id)
    spotify_standin.library.saved_tracks = [saved(SEXY), saved(HELLO, "2027-01-01T00:00:00Z")]
    materialize(res)
    assert rows(library_db, "SELECT ownership_state FROM library.tracks WHERE track_id = ?", [hello_id]) == [
        ("ignored",)
    ]
    act("restore_to_library", "restore", "track", hello_id)
    assert rows(library_db, "SELECT ownership_state FROM library.tracks WHERE track_id = ?", [hello_id]) == [("owned",)]

    act("request_downloads", "request_entity", "track", aero_id)
    assert rows(
        library_db,
        "SELECT ownership_state, download_state, primary_source FROM library.tracks WHERE track_id = ?",
        [aero_id],
    ) == [("owned", "pending", "user")]
    failed = act("remove_from_library", "remove", "album", "no-such-album", ok=False)
    failure = failure_message(failed)
    assert "no album with id 'no-such-album'" in failure


def test_an_unconfigured_provider_is_skipped_and_the_run_succeeds(library_db, music_dir, tmp_path):
    result = materialize(resources(library_db, music_dir, tmp_path))
    assert metadata(result, "spotify_likes")["status"] == "skipped: not configured"
    assert metadata(result, "deezer_favorites")["status"] == "skipped: not configured"


def test_deezer_errors_inside_http_200_are_errors(library_db, music_dir, tmp_path, deezer_standin):
    res = resources(library_db, music_dir, tmp_path, deezer_server=deezer_standin, deezer_user="999999")
    result = materialize(res, raise_on_error=False)
    message = failure_message(result)
    assert "refused every endpoint" in message and "DataException 800: no data" in message


def test_a_provider_that_does_not_answer_in_time_is_retried_then_fails_clearly(
    library_db, music_dir, tmp_path, deezer_standin
):
    deezer_standin.delay_s = 0.5
    res = resources(library_db, music_dir, tmp_path, deezer_server=deezer_standin)
    res["deezer"] = DeezerResource(
        user_id="5", api_url=deezer_standin.api_url, request_timeout_s=0.1, max_attempts=2, retry_base_delay_s=0.01
    )
    result = materialize(res, raise_on_error=False)
    failure = failure_message(result)
    assert "favorite tracks failed after 2 attempt(s): no answer ReadTimeout" in failure
    time.sleep(deezer_standin.delay_s + 0.2)  # the stand-in records a request when it answers
    assert deezer_standin.count("/user/5/tracks") == 2
    assert rows(library_db, "SELECT failures, last_error LIKE '%ReadTimeout%' FROM library.provider_health") == [
        (1, True)
    ]


@pytest.mark.subprocess
def test_a_sync_waits_for_a_long_writer_such_as_a_first_scan_instead_of_failing(music_dir, tmp_path, deezer_standin):
    import subprocess
    import sys

    from soulspot_pipeline.store.database import LibraryDatabase

    impatient = LibraryDatabase(database=str(tmp_path / "data" / "soulspot.duckdb"), lock_timeout_s=0.5)
    with impatient.writer():
        pass
    # Another process holds the database for far longer than the library's lock timeout.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('held', flush=True); time.sleep(3); "
            "c.close(); print(time.time(), flush=True)",
            impatient.database,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert holder.stdout is not None and holder.stdout.readline().strip() == "held"
    instance = dg.DagsterInstance.ephemeral()
    result = materialize(
        resources(impatient, music_dir, tmp_path, deezer_server=deezer_standin),
        instance=instance,
        assets=[*cloud_assets],
    )
    released = float(holder.stdout.readline())
    assert holder.wait() == 0
    stored = instance.get_latest_materialization_event(dg.AssetKey("deezer_favorites"))
    assert stored is not None and stored.timestamp >= released  # it waited for the writer to let go, then wrote
    assert metadata(result, "deezer_favorites")["liked_tracks"] == 1
