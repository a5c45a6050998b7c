"""Cloud syncs against stand-ins that misbehave: proxies below a path, paging that never
advances, one album or playlist that fails, every client error, and every item left out.

spotipy and httpx talk to the local stand-ins; the figures are requests counted there.
"""

import dagster as dg
import pytest

from soulspot_pipeline.assets.cloud import cloud_assets, sync_cloud_source
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins import spotify as sp
from soulspot_pipeline.domain.cloud import SKIP_REASONS
from soulspot_pipeline.resources.retrying import CallStats
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_tests.assets.test_cloud_likes import (
    ADELE,
    AERO,
    AIR,
    EPISODE,
    HELLO,
    MOON,
    ONE_MORE,
    SEXY,
    entry,
    login,
    materialize,
    resources,
    saved,
)
from soulspot_tests.clock import VirtualClock
from soulspot_tests.results import failure_message, metadata, rows

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins

PREFIX = "/proxy/music-apis/spotify"
D_PREFIX = "/proxy/music-apis/deezer"
TIME_ADD = 1767225600


def page_offsets(server, path: str, key: str = "offset") -> list[str]:
    """The ``key`` of every request the stand-in got for ``path``, in order."""
    return [r.query.get(key, "") for r in server.requests if r.path == path]


def spotify_run(library_db, music_dir, tmp_path, server, logged_in=False, **kwargs):
    if not logged_in:
        login(server, tmp_path / "data" / "secrets" / "spotify-token.json")
    res = resources(library_db, music_dir, tmp_path, spotify_server=server, **kwargs)
    return materialize(res, raise_on_error=False, assets=cloud_assets)


def deezer_run(library_db, music_dir, tmp_path, server, **kwargs):
    res = resources(library_db, music_dir, tmp_path, deezer_server=server, **kwargs)
    return materialize(res, raise_on_error=False, assets=cloud_assets)


def assert_phase_message(result, asset: str, first_line: str) -> str:
    """The run failed in ``asset`` with our own message, and no client library's traceback."""
    assert not result.success
    message = failure_message(result)
    head = message.split("\n", 1)[0]
    assert head.startswith(f"dagster._core.definitions.events.Failure: {asset.split('_')[0]} sync failed: "), head
    assert first_line in head, head
    for library_frame in ("site-packages/spotipy", "site-packages/requests", "site-packages/httpx", "urllib3"):
        assert library_frame not in message
    assert "The above exception" not in message and "During handling" not in message
    return head


# -- 1. paging: every page, rebased onto the configured URL; loops stopped ------------------


def test_spotify_below_a_path_prefix_gets_every_page_though_its_links_name_api_spotify_com(
    library_db, music_dir, tmp_path
):
    library = sp.generate_library(150, tracks_per_album=60, playlists=1, playlist_size=120)
    with sp.SpotifyStandin(library, path_prefix=PREFIX, link_base=sp.API_ORIGIN) as server:
        result = spotify_run(library_db, music_dir, tmp_path, server)
        assert result.success
        first_page = server.count(f"{PREFIX}/v1/me/tracks")
    meta = metadata(result, "spotify_likes")
    assert (meta["status"], meta["liked_tracks"], meta["saved_albums"]) == ("synced", 150, 1)
    assert page_offsets(server, f"{PREFIX}/v1/me/tracks") == ["0", "50", "100"] and first_page == 3
    (album_id,) = (e["album"]["id"] for e in library.saved_albums)
    assert page_offsets(server, f"{PREFIX}/v1/albums/{album_id}/tracks") == ["50"]  # the first 50 came embedded
    playlist_id = library.playlists[0]["id"]
    assert page_offsets(server, f"{PREFIX}/v1/playlists/{playlist_id}/items") == ["0", "100"]
    assert all(r.path.startswith(f"{PREFIX}/") for r in server.requests)  # nothing went elsewhere
    assert rows(library_db, "SELECT count(*) FROM library.cloud_album_tracks WHERE album_id = ?", [album_id]) == [(60,)]
    assert rows(library_db, "SELECT count(*) FROM library.cloud_playlist_items") == [(120,)]


def test_deezer_below_a_path_prefix_gets_every_page_though_its_links_name_api_deezer_com(
    library_db, music_dir, tmp_path
):
    library = dz.generate_library(260, user_id="5")
    with dz.DeezerStandin(library, path_prefix=D_PREFIX, link_base=dz.API) as server:
        result = deezer_run(library_db, music_dir, tmp_path, server)
    assert result.success
    assert metadata(result, "deezer_favorites")["liked_tracks"] == 260
    assert page_offsets(server, f"{D_PREFIX}/user/5/tracks", "index") == ["0", "100", "200"]
    assert all(r.path.startswith(f"{D_PREFIX}/") for r in server.requests)


@pytest.mark.parametrize("from_offset", [0, 50])
def test_spotify_paging_that_repeats_a_page_is_stopped_and_the_phase_names_the_loop(
    library_db, music_dir, tmp_path, from_offset
):
    with sp.SpotifyStandin(sp.generate_library(150), path_prefix=PREFIX, link_base=sp.API_ORIGIN) as server:
        server.repeat_next("/v1/me/tracks", from_offset=from_offset)
        result = spotify_run(library_db, music_dir, tmp_path, server)
    head = assert_phase_message(result, "spotify_likes", "saved tracks: Spotify's paging loops: the next page")
    assert f"offset={from_offset}" in head and "already read" in head
    offsets = page_offsets(server, f"{PREFIX}/v1/me/tracks")
    assert offsets.count(str(from_offset)) == 1  # the repeated page was asked for once, never again
    assert offsets == ["0", "50"][: 1 + from_offset // 50]
    assert rows(library_db, "SELECT failures FROM library.provider_health") == [(1,)]
    assert rows(library_db, "SELECT count(*) FROM library.cloud_likes") == [(0,)]  # nothing half-read was stored


def test_spotify_paging_past_the_page_ceiling_is_stopped(library_db, music_dir, tmp_path):
    with sp.SpotifyStandin(sp.generate_library(150)) as server:
        result = spotify_run(library_db, music_dir, tmp_path, server, spotify_options={"max_pages": 2})
    assert_phase_message(result, "spotify_likes", "saved tracks: Spotify's paging did not end after 2 pages")
    assert page_offsets(server, "/v1/me/tracks") == ["0", "50"]


def test_deezer_paging_that_repeats_a_page_is_stopped_and_the_phase_names_the_loop(library_db, music_dir, tmp_path):
    with dz.DeezerStandin(dz.generate_library(260, user_id="5"), link_base=dz.API) as server:
        server.repeat_next("/user/5/tracks", from_index=100)
        result = deezer_run(library_db, music_dir, tmp_path, server)
    assert_phase_message(result, "deezer_favorites", "favorite tracks: Deezer's paging loops")
    assert page_offsets(server, "/user/5/tracks", "index") == ["0", "100"]


def test_a_next_link_outside_the_api_is_never_followed(library_db, music_dir, tmp_path):
    with sp.SpotifyStandin(sp.generate_library(150), link_base="https://api.spotify.com/elsewhere") as server:
        result = spotify_run(library_db, music_dir, tmp_path, server)
    assert_phase_message(result, "spotify_likes", "lies outside the API")
    assert page_offsets(server, "/v1/me/tracks") == ["0"]


# -- 3. partial failures stay partial --------------------------------------------------------


def seven_albums() -> dz.DeezerLibrary:
    """A user with 7 saved albums of 2 tracks each (as the replay that lost them all)."""
    daft = dz.artist(27, "Daft Punk")
    library = dz.DeezerLibrary(user_id="5")
    for i in range(7):
        album = dz.album(302127 + i, f"Album {i}", daft, nb_tracks=2)
        library.album_tracks[album["id"]] = [
            dz.track(
                3135550 + 10 * i + n,
                f"Song {i}.{n}",
                daft,
                album,
                duration_s=200 + n,
                isrc=f"FRZ0{i}26{n:05d}",
                track_position=n + 1,
                disk_number=1,
            )
            for n in range(2)
        ]
        library.albums.append({**album, "time_add": TIME_ADD - i})
    return library


@pytest.mark.parametrize("fault", ["http 404", "DataException 800"])
def test_one_deezer_album_whose_track_list_fails_leaves_the_other_saved_albums_stored(
    library_db, music_dir, tmp_path, fault
):
    library = seven_albums()
    broken = library.albums[3]["id"]
    with dz.DeezerStandin(library) as server:
        healthy = deezer_run(library_db, music_dir, tmp_path, server)
        assert metadata(healthy, "deezer_favorites")["status"] == "synced"
        if fault == "http 404":
            server.inject(f"/album/{broken}/tracks", status=404, body="Not Found")
        else:
            stored = library.album_tracks.pop(broken)  # Deezer's HTTP 200 "no data"
        result = deezer_run(library_db, music_dir, tmp_path, server)
        meta = metadata(result, "deezer_favorites")
        assert result.success and meta["status"] == "partial: saved albums: 1 of 7 album track lists unavailable"
        assert (meta["saved_albums"], meta["unavailable_items"], meta["skipped_items"]["unavailable"]) == (7, 1, 1)
        assert rows(
            library_db, "SELECT count(*) FROM library.cloud_likes WHERE kind = 'album' AND unliked_at IS NULL"
        ) == [(7,)]
        # The broken album keeps the tracks the healthy sync stored; the others were rewritten.
        assert rows(library_db, "SELECT count(*) FROM library.cloud_album_tracks") == [(14,)]
        endpoints = dict(
            rows(library_db, "SELECT endpoint, status || ': ' || coalesce(detail, '') FROM library.cloud_endpoints")
        )
        assert endpoints["saved albums"] == "partial: 1 of 7 album track lists unavailable"
        expected = "HTTP 404: Not Found" if fault == "http 404" else "HTTP 404: DataException 800: no data"
        assert endpoints[f"album {broken} tracks"] == f"unavailable: {expected}"
        assert rows(library_db, "SELECT endpoint, reason, items FROM library.cloud_skips") == [
            ("saved albums", "unavailable", 1)
        ]

        if fault != "http 404":
            library.album_tracks[broken] = stored
        again = deezer_run(library_db, music_dir, tmp_path, server)
    assert metadata(again, "deezer_favorites")["status"] == "synced"
    assert rows(
        library_db, "SELECT status FROM library.cloud_endpoints WHERE endpoint = ?", [f"album {broken} tracks"]
    ) == [("ok",)]
    assert rows(library_db, "SELECT count(*) FROM library.cloud_skips") == [(0,)]


def test_a_first_sync_with_a_broken_album_still_stores_every_like(library_db, music_dir, tmp_path):
    library = seven_albums()
    del library.album_tracks[library.albums[0]["id"]]
    with dz.DeezerStandin(library) as server:
        result = deezer_run(library_db, music_dir, tmp_path, server)
    assert metadata(result, "deezer_favorites")["status"].startswith("partial: saved albums: 1 of 7")
    assert rows(library_db, "SELECT count(*) FROM library.cloud_likes WHERE kind = 'album'") == [(7,)]
    assert rows(library_db, "SELECT count(DISTINCT album_id) FROM library.cloud_album_tracks") == [(6,)]


def long_album(album_id: str, name: str, artist: dict, tracks: int) -> dict:
    """A saved album entry with its full track list (the stand-in embeds the first 50)."""
    obj = sp.album(album_id, name, [artist], total_tracks=tracks)
    listing = [
        sp.simplified_track(
            sp.track(
                f"{album_id[:18]}{n:04d}", f"{name} {n}", [artist], obj, isrc=None, duration_ms=1000, track_number=n
            )
        )
        for n in range(1, tracks + 1)
    ]
    return {"added_at": "2026-01-02T00:00:00Z", "album": {**obj, "tracks": listing}}


def test_spotify_album_and_playlist_sub_requests_that_fail_are_partial(library_db, music_dir, tmp_path):
    broken_album = long_album("1brokenAlbum000000000A", "Long Player", AIR, 60)
    library = sp.SpotifyLibrary(
        saved_tracks=[saved(SEXY)],
        saved_albums=[long_album("0fineAlbum00000000000A", "Fine", AIR, 55), broken_album],
        playlists=[
            sp.playlist("37i9dQZF1DX0XUsuxWHRQd", "Road Trip", "me", snapshot_id="s1", total=1),
            sp.playlist("37i9dQZF1DX0XUsuxWHRQe", "Gone", "me", snapshot_id="s1", total=1),
        ],
        playlist_items={"37i9dQZF1DX0XUsuxWHRQd": [entry(ONE_MORE)], "37i9dQZF1DX0XUsuxWHRQe": [entry(AERO)]},
    )
    with sp.SpotifyStandin(library) as server:
        server.inject("/v1/albums/1brokenAlbum000000000A/tracks", status=500, times=10)
        server.remove_endpoint("/v1/playlists/37i9dQZF1DX0XUsuxWHRQe/", 404)
        result = spotify_run(library_db, music_dir, tmp_path, server, clock=VirtualClock(), spotify_attempts=2)
    meta = metadata(result, "spotify_likes")
    assert result.success
    assert meta["status"] == (
        "partial: saved albums: 1 of 2 album track lists unavailable; playlists: 1 of 2 playlists' items unavailable"
    )
    assert (meta["saved_albums"], meta["unavailable_items"], meta["skipped_items"]["unavailable"]) == (2, 2, 2)
    unavailable = dict(
        rows(library_db, "SELECT endpoint, detail FROM library.cloud_endpoints WHERE status = 'unavailable'")
    )
    assert (
        "album 1brokenAlbum000000000A tracks failed after 2 attempt(s): HTTP 500"
        in unavailable["album 1brokenAlbum000000000A tracks"]
    )
    assert unavailable["playlist 37i9dQZF1DX0XUsuxWHRQe"].startswith("HTTP 404")
    assert rows(library_db, "SELECT album_id, count(*) FROM library.cloud_album_tracks GROUP BY 1") == [
        ("0fineAlbum00000000000A", 55)
    ]
    assert rows(library_db, "SELECT count(*) FROM library.cloud_likes WHERE kind = 'album'") == [(2,)]


def test_three_sub_requests_failing_in_a_row_fail_the_phase(library_db, music_dir, tmp_path):
    albums = [long_album(f"{i}brokenAlbum000000000A", f"Long {i}", AIR, 51) for i in range(3)]
    with sp.SpotifyStandin(sp.SpotifyLibrary(saved_albums=albums)) as server:
        server.inject("/v1/albums/", status=503, times=100)
        result = spotify_run(library_db, music_dir, tmp_path, server, clock=VirtualClock(), spotify_attempts=2)
    assert_phase_message(result, "spotify_likes", "spotify: 3 requests in a row failed after their retries")
    assert server.count("/v1/albums/") == 6  # 3 albums, 2 attempts each: then it stopped


# -- 2. every client error is the phase's own message -------------------------------------------


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "no server",
            "saved tracks failed after 2 attempt(s): no answer ConnectionError from 127.0.0.1:9. Check the network",
        ),
        ("5xx", "saved tracks failed after 2 attempt(s): HTTP 502 Bad gateway from 127.0.0.1:"),
        ("400", "saved tracks failed after 1 attempt(s): HTTP 400 Invalid limit from 127.0.0.1:"),
        ("not json", "saved tracks failed after 2 attempt(s): HTTP 2xx the answer is not JSON from 127.0.0.1:"),
        ("no scheme", "the Spotify API URL 127.0.0.1:9/v1/ is not an http(s) URL; check SOULSPOT_SPOTIFY_API_URL"),
        ("login server down", "saved tracks failed after 2 attempt(s): HTTP 503 server_error from 127.0.0.1:"),
        ("login revoked", "Spotify refused the stored login (invalid_grant: Refresh token revoked)"),
    ],
)
def test_every_spotify_client_error_fails_the_phase_with_what_where_status_and_what_to_do(
    library_db, music_dir, tmp_path, case, expected
):
    with sp.SpotifyStandin(sp.SpotifyLibrary(saved_tracks=[saved(SEXY)])) as server:
        login(server, tmp_path / "data" / "secrets" / "spotify-token.json")
        options = {}
        if case == "no server":
            options["api_url"] = "http://127.0.0.1:9/v1/"
        elif case == "no scheme":
            options["api_url"] = "127.0.0.1:9/v1/"
        elif case == "5xx":
            server.inject(
                "/v1/me/tracks", status=502, times=10, body={"error": {"status": 502, "message": "Bad gateway"}}
            )
        elif case == "400":
            server.inject("/v1/me/tracks", status=400, body={"error": {"status": 400, "message": "Invalid limit"}})
        elif case == "not json":
            server.inject("/v1/me/tracks", status=200, times=10, body="<html>maintenance</html>")
        elif case == "login server down":
            server.expire_access_tokens()
            server.inject("/api/token", status=503, times=10, body={"error": "server_error"})
        elif case == "login revoked":
            server.expire_access_tokens()
            server.revoke_refresh_tokens()
        result = spotify_run(
            library_db,
            music_dir,
            tmp_path,
            server,
            logged_in=True,
            clock=VirtualClock(),
            spotify_attempts=2,
            spotify_options=options,
        )
    head = assert_phase_message(result, "spotify_likes", expected)
    if case in ("no server", "5xx", "login server down", "not json"):
        assert "the next sync tries again" in head
    if case == "400":
        assert "check that SOULSPOT_SPOTIFY_API_URL points at the provider's API" in head
    if case == "no scheme":
        assert "check SOULSPOT_SPOTIFY_API_URL" in head
    if case == "login revoked":
        assert "soulspot spotify-login" in head


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "no server",
            "favorite tracks failed after 2 attempt(s): no answer ConnectError from 127.0.0.1:9. Check the network",
        ),
        ("5xx", "favorite tracks failed after 2 attempt(s): HTTP 500 Internal error from 127.0.0.1:"),
        ("not json", "favorite tracks failed after 2 attempt(s): HTTP 200 the answer is not JSON from 127.0.0.1:"),
        ("not an object", "favorite tracks failed after 2 attempt(s): HTTP 200 the answer is not a JSON object"),
        ("no scheme", "the Deezer API URL 127.0.0.1:9/ is not an http(s) URL; check SOULSPOT_DEEZER_API_URL"),
        ("quota", "favorite tracks failed after 2 attempt(s): HTTP 429 Exception 4: Quota limit exceeded from"),
    ],
)
def test_every_deezer_client_error_fails_the_phase_with_what_where_status_and_what_to_do(
    library_db, music_dir, tmp_path, case, expected
):
    library = dz.DeezerLibrary(
        user_id="5",
        tracks=[
            {
                **dz.track(
                    3135556, "Sexy Boy", dz.artist(1, "Air"), dz.album(2, "Moon", dz.artist(1, "Air")), duration_s=298
                ),
                "time_add": TIME_ADD,
            }
        ],
    )
    with dz.DeezerStandin(library) as server:
        options = {}
        if case == "no server":
            options["api_url"] = "http://127.0.0.1:9/"
        elif case == "no scheme":
            options["api_url"] = "127.0.0.1:9/"
        elif case == "5xx":
            server.inject("/user/5/tracks", status=500, times=10, body="Internal error")
        elif case == "not json":
            server.inject("/user/5/tracks", status=200, times=10, body="<html>maintenance</html>")
        elif case == "not an object":
            server.inject("/user/5/tracks", status=200, times=10, body=[1, 2])
        elif case == "quota":
            server.quota_exceeded(times=10)
        result = deezer_run(
            library_db,
            music_dir,
            tmp_path,
            server,
            clock=VirtualClock(),
            deezer_options={"max_attempts": 2, **options},
        )
    head = assert_phase_message(result, "deezer_favorites", expected)
    assert "SOULSPOT_DEEZER_API_URL" in head or "the next sync tries again" in head


class BrokenSource:
    """A provider whose listing raises what no client should: the asset must still speak for itself."""

    name = "broken"
    configured = True
    stats = CallStats()

    def liked_tracks(self):
        raise KeyError("id")

    def saved_albums(self):
        return iter(())

    def followed_artists(self):
        return iter(())

    def playlists(self):
        return iter(())

    def playlist_items(self, playlist_id):
        raise AssertionError("never asked")


def test_an_unexpected_error_is_still_the_phases_own_message_with_the_traceback_in_the_log(library_db):
    @dg.asset(name="broken_likes")
    def broken_likes(context: dg.AssetExecutionContext, library_db: LibraryDatabase) -> dg.MaterializeResult:
        return sync_cloud_source(context, BrokenSource(), library_db)

    with dg.instance_for_test() as instance:
        result = dg.materialize(
            [broken_likes], resources={"library_db": library_db}, raise_on_error=False, instance=instance
        )
        logs = " ".join(str(e.user_message) for e in instance.all_logs(result.run_id))
    head = assert_phase_message(result, "broken_likes", "unexpected KeyError: 'id'. This is a bug in soulspot")
    assert "the traceback is in the run's log" in head
    assert "Traceback (most recent call last)" in logs and "liked_tracks" in logs
    assert rows(library_db, "SELECT source, failures FROM library.provider_health") == [("broken", 1)]


# -- 4. nothing dropped without a count --------------------------------------------------------


def test_every_item_left_out_is_counted_by_endpoint_and_reason(library_db, music_dir, tmp_path):
    """Derived shapes of every skip: null entries, objects without id, local files, episodes, repeats, failures."""
    local = {**SEXY, "id": None, "uri": "spotify:local:Air:Moon+Safari:Sexy+Boy:298", "is_local": True}
    no_id = {**HELLO, "id": None}
    fine = long_album("0fineAlbum00000000000A", "Fine", AIR, 3)
    fine["album"]["tracks"] = [*fine["album"]["tracks"], None, {**fine["album"]["tracks"][0]}]  # a null and a repeat
    playlists = [
        sp.playlist("37i9dQZF1DX0XUsuxWHRQd", "Road Trip", "me", snapshot_id="s1", total=7),
        sp.playlist("37i9dQZF1DX0XUsuxWHRQe", "Gone", "me", snapshot_id="s1", total=1),
    ]
    library = sp.SpotifyLibrary(
        saved_tracks=[
            saved(SEXY),
            None,
            {"added_at": "2026-01-01T00:00:00Z", "track": None},
            saved(no_id),
            saved(local),
            saved(SEXY),
        ],
        saved_albums=[
            fine,
            None,
            {"added_at": "2026-01-01T00:00:00Z", "album": None},
            {"album": {**MOON, "id": None}},
            fine,
        ],
        followed_artists=[AIR, None, {**ADELE, "id": None}, AIR],
        playlists=[playlists[0], None, {**playlists[1], "id": None}, playlists[0], playlists[1]],
        playlist_items={
            "37i9dQZF1DX0XUsuxWHRQd": [
                entry(ONE_MORE),
                None,
                entry(None),
                entry(EPISODE),
                entry({**AERO, "id": None, "is_local": True}, is_local=True),
                entry(ONE_MORE),
                entry({**AERO, "id": None}),
            ],
            "37i9dQZF1DX0XUsuxWHRQe": [entry(AERO)],
        },
    )
    with sp.SpotifyStandin(library) as server:
        server.remove_endpoint("/v1/playlists/37i9dQZF1DX0XUsuxWHRQe/", 404)
        result = spotify_run(library_db, music_dir, tmp_path, server)
    meta = metadata(result, "spotify_likes")
    assert result.success and meta["status"] == "partial: playlists: 1 of 2 playlists' items unavailable"
    assert meta["skipped_items"] == {
        "null": 9,
        "no_id": 5,
        "local_file": 2,
        "episode": 1,
        "duplicate": 6,
        "unavailable": 1,
    }
    assert set(meta["skipped_items"]) == set(SKIP_REASONS)
    assert "| album tracks | 1 | 0 | 0 | 0 | 1 | 0 |" in meta["skipped"]
    assert rows(library_db, "SELECT endpoint, reason, items FROM library.cloud_skips ORDER BY ALL") == [
        ("album 0fineAlbum00000000000A tracks", "duplicate", 1),
        ("album 0fineAlbum00000000000A tracks", "null", 1),
        ("followed artists", "duplicate", 1),
        ("followed artists", "no_id", 1),
        ("followed artists", "null", 1),
        ("liked tracks", "duplicate", 1),
        ("liked tracks", "local_file", 1),
        ("liked tracks", "no_id", 1),
        ("liked tracks", "null", 2),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "duplicate", 1),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "episode", 1),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "local_file", 1),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "no_id", 1),
        ("playlist 37i9dQZF1DX0XUsuxWHRQd", "null", 2),
        ("playlists", "duplicate", 1),
        ("playlists", "no_id", 1),
        ("playlists", "null", 1),
        ("playlists", "unavailable", 1),
        ("saved albums", "duplicate", 1),
        ("saved albums", "no_id", 1),
        ("saved albums", "null", 2),
    ]
    # What is usable is stored: one liked track, one saved album with its 3 tracks, one artist, one playlist item.
    assert (meta["liked_tracks"], meta["saved_albums"], meta["followed_artists"], meta["playlists"]) == (1, 1, 1, 2)
    assert rows(library_db, "SELECT count(*) FROM library.cloud_album_tracks") == [(3,)]
    assert rows(library_db, "SELECT count(*) FROM library.cloud_playlist_items") == [(1,)]


# -- 5. an album without artists takes its track's -----------------------------------------------


def test_spotify_albums_without_artists_take_their_tracks_artist(library_db, music_dir, tmp_path):
    bare = {k: v for k, v in sp.album("5GjKG3Y8OvSVJO55dQTFyD", "Otra Vez", [ADELE]).items() if k != "artists"}
    track = {
        **sp.track("7pk3EpFtmsOdj8iUhjmeCM", "Otra Vez", [ADELE], bare, isrc=None, duration_ms=209_000),
        "album": bare,
    }
    library = sp.SpotifyLibrary(
        saved_tracks=[saved(track)],
        playlists=[sp.playlist("37i9dQZF1DX0XUsuxWHRQd", "Road Trip", "me", snapshot_id="s1", total=1)],
        playlist_items={"37i9dQZF1DX0XUsuxWHRQd": [entry({**HELLO, "album": {**HELLO["album"], "artists": None}})]},
    )
    with sp.SpotifyStandin(library) as server:
        login(server, tmp_path / "data" / "secrets" / "spotify-token.json")
        materialize(resources(library_db, music_dir, tmp_path, spotify_server=server))
    assert rows(library_db, "SELECT title, artist_id, artist_name FROM library.cloud_albums ORDER BY 1") == [
        ("25", ADELE["id"], "Adele"),
        ("Otra Vez", ADELE["id"], "Adele"),
    ]
    assert rows(
        library_db,
        "SELECT al.title, ar.name FROM library.albums al JOIN library.artists ar USING (artist_id) ORDER BY 1",
    ) == [("25", "Adele"), ("Otra Vez", "Adele")]
