"""Requests by link or search end to end: the `request` job against the Spotify, Deezer and
MusicBrainz stand-ins, then the downloads through the slskd stand-in."""

import json
from datetime import timedelta

import dagster as dg
import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.downloads import downloads
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins import spotify as sp
from soulspot_pipeline.devkit.standins.deezer import DeezerLibrary, DeezerStandin
from soulspot_pipeline.devkit.standins.musicbrainz import MbCatalog, MusicBrainzStandin
from soulspot_pipeline.devkit.standins.server import Response, StandinServer
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.devkit.standins.spotify import SpotifyLibrary, SpotifyStandin
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.domain.requests import Link, UnusableItem
from soulspot_pipeline.requests_job import expand_short_link, request_job
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.resources.spotify import SpotifyResource
from soulspot_pipeline.store.downloads import load_queue
from soulspot_pipeline.store.sql import utc_now
from soulspot_pipeline.user_actions import cancel_downloads
from soulspot_tests.assets.test_cloud_likes import login
from soulspot_tests.assets.test_downloads import flac, follow_resources, follow_until_settled
from soulspot_tests.assets.test_identify_enrich import musicbrainz
from soulspot_tests.results import failure_message, materialize, rows, shared_instance

pytestmark = pytest.mark.integration

# Spotify's catalogue: Air's Moon Safari and Premiers Symptômes, a compilation with Sexy Boy
# again, and Beck's song of the same name.
AIR = sp.artist("0air", "Air")
BECK = sp.artist("0beck", "Beck")
MOON = sp.album("0moon", "Moon Safari", [AIR], total_tracks=3)
PREMIERS = sp.album("0premiers", "Premiers Symptômes", [AIR], total_tracks=2)
BEST = sp.album("0best", "The Best of Air", [AIR], album_type="compilation", total_tracks=1)
ODELAY = sp.album("0odelay", "Odelay", [BECK], total_tracks=1)
SEXY = sp.track("0sexy", "Sexy Boy", [AIR], MOON, isrc="FRAAA9800001", duration_ms=298_000, track_number=1)
KELLY = sp.track(
    "0kelly", "Kelly Watch the Stars", [AIR], MOON, isrc="FRAAA9800002", duration_ms=225_000, track_number=2
)
TALISMAN = sp.track("0talisman", "Talisman", [AIR], MOON, isrc="FRAAA9800003", duration_ms=256_000, track_number=3)
MODULAR = sp.track("0modular", "Modular Mix", [AIR], PREMIERS, isrc="FRAAA9700001", duration_ms=411_000)
CASANOVA = sp.track(
    "0casanova", "Casanova 70", [AIR], PREMIERS, isrc="FRAAA9700002", duration_ms=341_000, track_number=2
)
SEXY_BEST = sp.track("0sexybest", "Sexy Boy", [AIR], BEST, isrc="FRAAA9800001", duration_ms=298_000)
BECK_SEXY = sp.track("0becksexy", "Sexy Boy", [BECK], ODELAY, isrc="USGF19900001", duration_ms=211_000)


def spotify_catalog() -> SpotifyLibrary:
    return SpotifyLibrary(
        catalog_tracks=[SEXY, KELLY, TALISMAN, MODULAR, CASANOVA, SEXY_BEST, BECK_SEXY],
        catalog_albums=[
            {**MOON, "tracks": [sp.simplified_track(t) for t in (SEXY, KELLY, TALISMAN)]},
            {**PREMIERS, "tracks": [sp.simplified_track(t) for t in (MODULAR, CASANOVA)]},
        ],
        top_tracks={"0air": [SEXY, KELLY]},
    )


# Deezer's: Moon Safari with short tracks (the slskd peers share 2 s files), and a playlist.
DZ_AIR = dz.artist(1422, "Air")
DZ_MOON = dz.album(302127, "Moon Safari", DZ_AIR, nb_tracks=3)
DZ_SEXY = dz.track(3135556, "Sexy Boy", DZ_AIR, DZ_MOON, duration_s=2, track_position=1, disk_number=1)
DZ_KELLY = dz.track(3135557, "Kelly Watch the Stars", DZ_AIR, DZ_MOON, duration_s=2, track_position=2, disk_number=1)
DZ_TALISMAN = dz.track(3135558, "Talisman", DZ_AIR, DZ_MOON, duration_s=2, track_position=3, disk_number=1)


def deezer_catalog() -> DeezerLibrary:
    tracks = [DZ_SEXY, DZ_KELLY, DZ_TALISMAN]
    return DeezerLibrary(
        user_id="5",
        catalog_albums=[DZ_MOON],
        album_tracks={302127: tracks},
        playlists=[dz.playlist(908622995, "Bain moussant", "5", "me", tracks, time_add=1767225600)],
        playlist_tracks={908622995: [{**t, "time_add": 1767225600} for t in tracks]},
    )


def resources(library_db, tmp_path, spotify=None, deezer=None, mb=None) -> dict:
    token_path = tmp_path / "data" / "secrets" / "spotify-token.json"
    if spotify is not None:
        login(spotify, token_path)
    return {
        "library_db": library_db,
        "library_policy": LibraryPolicy(auto_queue_downloads=False),
        "spotify": SpotifyResource(
            client_id=spotify.client_id if spotify else None,
            redirect_uri="http://127.0.0.1:8888/callback" if spotify else None,
            api_url=spotify.api_url if spotify else "http://127.0.0.1:9/v1/",
            accounts_url=spotify.accounts_url if spotify else "http://127.0.0.1:9",
            token_path=str(token_path),
            retry_base_delay_s=0.01,
            max_attempts=2,
        ),
        "deezer": DeezerResource(
            user_id="5" if deezer else None,
            api_url=deezer.api_url if deezer else "http://127.0.0.1:9/",
            retry_base_delay_s=0.01,
            max_attempts=2,
        ),
        "musicbrainz": musicbrainz(mb, tmp_path),
    }


def request(res: dict, raise_on_error: bool = True, **config) -> dg.ExecuteInProcessResult:
    return request_job.execute_in_process(
        run_config={"ops": {"ask": {"config": config}}},
        resources={k: res[k] for k in ("library_db", "library_policy", "spotify", "deezer", "musicbrainz")},
        instance=shared_instance(),
        raise_on_error=raise_on_error,
    )


def op_metadata(result: dg.ExecuteInProcessResult) -> dict:
    (event,) = [e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_OUTPUT]
    return {k: v.value for k, v in event.step_output_data.metadata.items()}


def requests_view(library_db) -> list[tuple]:
    return rows(
        library_db,
        """
        SELECT request_id, asked, kind, source, resolved_to, status, tracks_requested, pending, downloaded, already_had
        FROM library.requests ORDER BY request_id
        """,
    )


def track_states(library_db) -> dict[str, tuple]:
    return {
        title: (album, ownership, download, source)
        for title, album, ownership, download, source in rows(
            library_db,
            """
            SELECT t.title, al.title, t.ownership_state, t.download_state, t.primary_source
            FROM library.tracks t LEFT JOIN library.albums al USING (album_id)
            """,
        )
    }


def queue_origins(library_db) -> dict[str, str]:
    with library_db.reader() as conn:
        queued = load_queue(conn, search_again_before=utc_now() + timedelta(days=1), limit=100)
    return {q.wanted.title: q.origin for q in queued}


def test_a_spotify_track_link_an_album_link_and_a_search_end_pending_first_in_the_queue(library_db, tmp_path):
    with SpotifyStandin(spotify_catalog()) as spotify:
        res = resources(library_db, tmp_path, spotify=spotify)
        result = request(
            res,
            items=[
                "https://open.spotify.com/track/0kelly?si=abc",
                "spotify:album:0premiers",
                "Air - Sexy Boy",
            ],
        )
    owned_pending = ("owned", "pending", "request")
    assert track_states(library_db) == {
        "Kelly Watch the Stars": ("Moon Safari", *owned_pending),
        "Modular Mix": ("Premiers Symptômes", *owned_pending),
        "Casanova 70": ("Premiers Symptômes", *owned_pending),
        # The original album's, not the compilation's.
        "Sexy Boy": ("Moon Safari", *owned_pending),
    }
    assert rows(library_db, "SELECT spotify_id FROM library.tracks WHERE title = 'Sexy Boy'") == [("0sexy",)]
    assert set(queue_origins(library_db).values()) == {"request"}
    assert requests_view(library_db) == [
        (
            1,
            "https://open.spotify.com/track/0kelly?si=abc",
            "track",
            "spotify",
            "Air - Kelly Watch the Stars",
            "resolved",
            1,
            1,
            0,
            0,
        ),
        (2, "spotify:album:0premiers", "album", "spotify", "Air - Premiers Symptômes", "resolved", 2, 2, 0, 0),
        (3, "Air - Sexy Boy", "search", "spotify", "Air - Sexy Boy", "resolved", 1, 1, 0, 0),
    ]
    report = op_metadata(result)
    assert report["tracks_requested"] == 4 and report["failed"] == 0
    assert "Air - Premiers Symptômes" in report["requests"]


def test_an_ambiguous_search_requests_nothing_and_lists_its_candidates_until_one_is_picked(library_db, tmp_path):
    with SpotifyStandin(spotify_catalog()) as spotify:
        res = resources(library_db, tmp_path, spotify=spotify)
        result = request(res, items=["sexy boy"])
        assert rows(library_db, "SELECT count(*) FROM library.tracks")[0][0] == 0
        ((status, candidates, error),) = rows(library_db, "SELECT status, candidates, error FROM library.requests")
        assert status == "ambiguous" and "pick one" in error
        listed = json.loads(candidates)
        # One per song: Air's from its album (not the compilation), and Beck's.
        assert sorted((c["artist"], c["album"]) for c in listed) == [("Air", "Moon Safari"), ("Beck", "Odelay")]
        assert "pick: ['1:<n>']" in op_metadata(result)["requests"]
        air = next(c for c in listed if c["artist"] == "Air")
        request(res, pick=[f"1:{air['n']}"])
        # Requesting a candidate's link works as well.
        beck = next(c for c in listed if c["artist"] == "Beck")
        request(res, items=[beck["link"]])
    assert sorted(
        rows(
            library_db,
            """
            SELECT ar.name, al.title, t.ownership_state, t.download_state FROM library.tracks t
            JOIN library.artists ar USING (artist_id) JOIN library.albums al USING (album_id)
            """,
        )
    ) == [("Air", "Moon Safari", "owned", "pending"), ("Beck", "Odelay", "owned", "pending")]
    assert rows(
        library_db, "SELECT status, picked, resolved_to, tracks_requested FROM library.requests ORDER BY request_id"
    ) == [
        ("resolved", air["n"], "Air - Sexy Boy", 1),
        ("resolved", None, "Beck - Sexy Boy", 1),
    ]


def test_a_bad_pick_fails_with_one_sentence(library_db, tmp_path):
    res = resources(library_db, tmp_path)
    result = request(res, raise_on_error=False, pick=["7:1"])
    assert not result.success and "no request 7" in failure_message(result)


def test_a_deezer_playlist_asks_only_for_what_the_library_lacks_and_ends_downloaded(library_db, tmp_path):
    music = tmp_path / "music"
    (music / "Air" / "Moon Safari").mkdir(parents=True)
    write_audio_file(
        music / "Air" / "Moon Safari" / "Sexy Boy.flac",
        "flac",
        {"artist": "Air", "album": "Moon Safari", "title": "Sexy Boy"},
        seconds=2,
    )
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "good",
        files=[
            SharedFile("@@abcde\\music\\Air\\Moon Safari\\02 Kelly Watch the Stars.flac", flac(2.0), length=2),
            SharedFile("@@abcde\\music\\Air\\Moon Safari\\03 Talisman.flac", flac(2.0), length=2),
        ],
    )
    with DeezerStandin(deezer_catalog()) as deezer, slskd:
        res = {
            **follow_resources(library_db, tmp_path, deezer, slskd),
            **resources(library_db, tmp_path, deezer=deezer),
        }
        materialize([local_scan, library_entities], resources=res)
        request(res, items=["https://www.deezer.com/en/playlist/908622995"])
        assert track_states(library_db) == {
            "Sexy Boy": ("Moon Safari", "owned", "downloaded", "local"),
            "Kelly Watch the Stars": ("Moon Safari", "owned", "pending", "request"),
            "Talisman": ("Moon Safari", "owned", "pending", "request"),
        }
        assert requests_view(library_db) == [
            (
                1,
                "https://www.deezer.com/en/playlist/908622995",
                "playlist",
                "deezer",
                "playlist Bain moussant",
                "resolved",
                2,
                2,
                0,
                1,
            )
        ]
        materialize([downloads], resources=res)
        follow_until_settled(library_db, res)
    assert [s.text for s in slskd.searches if "sexy" in s.text.lower()] == []  # the file on disk is never searched
    assert {t: s[2] for t, s in track_states(library_db).items()} == {
        "Sexy Boy": "downloaded",
        "Kelly Watch the Stars": "downloaded",
        "Talisman": "downloaded",
    }
    assert rows(
        library_db, "SELECT tracks_requested, pending, downloading, downloaded, already_had FROM library.requests"
    ) == [(2, 0, 0, 2, 1)]
    assert rows(library_db, "SELECT DISTINCT origin FROM library.downloads") == [("request",)]


def test_a_track_link_an_album_link_and_a_search_end_downloaded_and_each_request_shows_it(library_db, tmp_path):
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", search_polls=1)
    slskd.add_peer(
        "good",
        files=[
            SharedFile(f"@@abcde\\music\\Air\\Moon Safari\\0{n} {title}.flac", flac(2.0), length=2)
            for n, title in enumerate(("Sexy Boy", "Kelly Watch the Stars", "Talisman"), 1)
        ],
    )
    with DeezerStandin(deezer_catalog()) as deezer, slskd:
        res = {
            **follow_resources(library_db, tmp_path, deezer, slskd),
            **resources(library_db, tmp_path, deezer=deezer),
        }
        request(
            res,
            items=[
                "https://www.deezer.com/track/3135557",
                "https://www.deezer.com/fr/album/302127",
                "Air - Talisman",
            ],
        )
        assert {t: s[2:] for t, s in track_states(library_db).items()} == {
            title: ("pending", "request") for title in ("Sexy Boy", "Kelly Watch the Stars", "Talisman")
        }
        materialize([downloads], resources=res)
        follow_until_settled(library_db, res)
    assert {t: s[2] for t, s in track_states(library_db).items()} == {
        title: "downloaded" for title in ("Sexy Boy", "Kelly Watch the Stars", "Talisman")
    }
    # Each request counts its own tracks: the album's three, the link's and the search's one each.
    assert rows(
        library_db,
        "SELECT kind, resolved_to, tracks_requested, pending, downloading, downloaded FROM library.requests "
        "ORDER BY request_id",
    ) == [
        ("track", "Air - Kelly Watch the Stars", 1, 0, 0, 1),
        ("album", "Air - Moon Safari", 3, 0, 0, 3),
        ("search", "Air - Talisman", 1, 0, 0, 1),
    ]
    assert rows(library_db, "SELECT DISTINCT origin FROM library.downloads") == [("request",)]


def test_a_deezer_album_link_with_only_missing_off_links_the_track_on_disk(library_db, tmp_path, music_dir):
    (music_dir / "Air").mkdir()
    write_audio_file(
        music_dir / "Air" / "Talisman.flac",
        "flac",
        {"artist": "Air", "album": "Moon Safari", "title": "Talisman"},
        seconds=2,
    )
    with DeezerStandin(deezer_catalog()) as deezer:
        from soulspot_pipeline.resources.music_folder import MusicFolder

        res = {**resources(library_db, tmp_path, deezer=deezer), "music_folder": MusicFolder(music_dir=str(music_dir))}
        materialize([local_scan, library_entities], resources=res)
        request(res, items=["deezer.com/album/302127"], only_missing=False)
    assert {t: s[2] for t, s in track_states(library_db).items()} == {
        "Sexy Boy": "pending",
        "Kelly Watch the Stars": "pending",
        "Talisman": "downloaded",  # linked, not downloaded again
    }
    assert rows(library_db, "SELECT tracks_requested, pending, downloaded, already_had FROM library.requests") == [
        (3, 2, 1, 0)
    ]


def test_cancelling_a_request_leaves_its_tracks_not_needed(library_db, tmp_path):
    from soulspot_pipeline.resources.slskd import SlskdResource

    with SpotifyStandin(spotify_catalog()) as spotify:
        res = resources(library_db, tmp_path, spotify=spotify)
        request(res, items=["spotify:album:0premiers", "spotify:track:0kelly"])
    cancel_downloads.execute_in_process(
        run_config={"ops": {"cancel": {"config": {"scope": "request", "entity_id": "1"}}}},
        resources={"library_db": library_db, "library_policy": res["library_policy"], "slskd": SlskdResource()},
        instance=shared_instance(),
    )
    assert {t: s[2] for t, s in track_states(library_db).items()} == {
        "Modular Mix": "not_needed",
        "Casanova 70": "not_needed",
        "Kelly Watch the Stars": "pending",
    }
    assert rows(library_db, "SELECT request_id, pending, cancelled FROM library.requests ORDER BY 1") == [
        (1, 0, 2),
        (2, 1, 0),
    ]
    unknown = cancel_downloads.execute_in_process(
        run_config={"ops": {"cancel": {"config": {"scope": "request", "entity_id": "99"}}}},
        resources={"library_db": library_db, "library_policy": res["library_policy"], "slskd": SlskdResource()},
        instance=shared_instance(),
        raise_on_error=False,
    )
    assert "no request with id '99'" in failure_message(unknown)


def test_an_artist_link_asks_for_its_top_tracks(library_db, tmp_path):
    with SpotifyStandin(spotify_catalog()) as spotify:
        request(resources(library_db, tmp_path, spotify=spotify), items=["https://open.spotify.com/artist/0air"])
    assert requests_view(library_db)[0][4:7] == ("Air: top tracks", "resolved", 2)


def test_without_spotify_or_deezer_a_search_goes_to_musicbrainz(library_db, tmp_path):
    catalog = MbCatalog()
    air = catalog.add_artist("Air", country="FR")
    group = catalog.add_release_group("Moon Safari", air, first_release_date="1998-01-16")
    release = catalog.add_release(group, date="1998-01-16")
    recording = catalog.add_recording("Sexy Boy", air, length_ms=298_000, isrcs=["GBAYE9700001"], releases=[release])
    with MusicBrainzStandin(catalog) as mb:
        request(resources(library_db, tmp_path, mb=mb), items=["Air - Sexy Boy"])
    assert rows(
        library_db,
        "SELECT t.title, al.title, t.recording_mbid, t.download_state FROM library.tracks t JOIN library.albums al USING (album_id)",
    ) == [("Sexy Boy", "Moon Safari", recording.mbid, "pending")]
    assert requests_view(library_db)[0][3:6] == ("musicbrainz", "Air - Sexy Boy", "resolved")


def test_one_failing_item_does_not_stop_the_others_and_all_failing_fails_the_run(library_db, tmp_path):
    with SpotifyStandin(spotify_catalog()) as spotify:
        res = resources(library_db, tmp_path, spotify=spotify)
        result = request(
            res,
            items=[
                "https://music.apple.com/us/album/1",
                "https://www.deezer.com/track/3135556",  # Deezer is not configured here
                "spotify:track:0nosuchtrack",
                "spotify:track:0kelly",
            ],
        )
        assert result.success
        errors = dict(rows(library_db, "SELECT asked, error FROM library.requests WHERE status = 'failed'"))
        assert "music.apple.com" in errors["https://music.apple.com/us/album/1"]
        assert "DEEZER_USER_ID" in errors["https://www.deezer.com/track/3135556"]
        assert "not found (HTTP 404" in errors["spotify:track:0nosuchtrack"]
        assert op_metadata(result)["failed"] == 3
        failed = request(res, raise_on_error=False, items=["https://music.apple.com/x/1", ""])
    assert not failed.success
    assert "every item failed; the first, 'https://music.apple.com/x/1'" in failure_message(failed)
    unconfigured = request(resources(library_db, tmp_path), raise_on_error=False, items=["spotify:track:0kelly"])
    assert "SPOTIFY_CLIENT_ID and SPOTIFY_REDIRECT_URI" in failure_message(unconfigured)


# -- the real recorded answers ---------------------------------------------------------------


def _json(path):
    return json.loads(path.read_text(encoding="utf-8"))


def test_spotify_reads_the_recorded_track_album_search_and_playlist_answers(library_db, tmp_path, realdata):
    data = realdata / "spotify" / "spotify-web-api-java" / "src" / "test" / "fixtures" / "requests" / "data"
    track = _json(data / "tracks" / "GetTrackRequest.json")
    album = _json(data / "albums" / "GetAlbumRequest.json")
    found = _json(data / "search" / "SearchItemRequest.json")["tracks"]["items"]
    playlist = _json(data / "playlists" / "GetPlaylistRequest.json")
    listed = {k: v for k, v in playlist.items() if k != "tracks"}
    library = SpotifyLibrary(
        catalog_tracks=[track, *found],
        catalog_albums=[album],
        playlists=[listed],
        playlist_items={playlist["id"]: playlist["tracks"]["items"]},
    )
    with SpotifyStandin(library) as spotify:
        res = resources(library_db, tmp_path, spotify=spotify)
        client = res["spotify"]
        got = client.track(track["id"])
        assert (got.title, got.artist.name, got.album and got.album.title, got.isrc) == (
            "Mr. Brightside",
            "The Killers",
            "Hot Fuss (Deluxe Version)",
            track["external_ids"]["isrc"],
        )
        got_album, tracks = client.album_tracks(album["id"])
        assert (got_album.title, got_album.artist.name, [t.title for t in tracks]) == (
            "She's So Unusual",
            "Cyndi Lauper",
            [t["name"] for t in album["tracks"]["items"]],
        )
        assert [t.title for t in client.search_tracks("Muse Psycho")] == ["Psycho"]
        name, items = client.playlist_tracks(playlist["id"])
        assert (name, [t.title for t in items]) == (
            playlist["name"],
            [e["track"]["name"] for e in playlist["tracks"]["items"]],
        )
        request(res, items=["Muse - Psycho", f"https://open.spotify.com/album/{album['id']}"])
    assert requests_view(library_db) == [
        (1, "Muse - Psycho", "search", "spotify", "Muse - Psycho", "resolved", 1, 1, 0, 0),
        (
            2,
            f"https://open.spotify.com/album/{album['id']}",
            "album",
            "spotify",
            "Cyndi Lauper - She's So Unusual",
            "resolved",
            1,
            1,
            0,
            0,
        ),
    ]


def test_deezer_reads_the_recorded_track_album_search_playlist_and_error_answers(library_db, tmp_path, realdata):
    data = realdata / "deezer" / "deezer-python" / "extracted-json"
    track = _json(data / "TestClient.test_get_track__0.json")
    album = _json(data / "TestClient.test_get_album__0.json")
    found = _json(data / "TestClient.test_search_simple__0.json")["data"]
    playlist = _json(data / "TestClient.test_get_playlist__0.json")
    library = DeezerLibrary(
        user_id="5",
        catalog_tracks=[track, *found],
        catalog_albums=[{k: v for k, v in album.items() if k != "tracks"}],
        album_tracks={album["id"]: album["tracks"]["data"]},
        playlists=[{k: v for k, v in playlist.items() if k != "tracks"}],
        playlist_tracks={playlist["id"]: playlist["tracks"]["data"]},
    )
    with DeezerStandin(library) as deezer:
        res = resources(library_db, tmp_path, deezer=deezer)
        client = res["deezer"]
        got = client.track(str(track["id"]))
        assert (got.title, got.artist.name, got.album and got.album.title, got.isrc) == (
            track["title"],
            "Daft Punk",
            "Discovery",
            track["isrc"],
        )
        got_album, tracks = client.album_tracks(str(album["id"]))
        assert (got_album.title, [t.title for t in tracks]) == ("Discovery", ["One More Time", "Aerodynamic"])
        assert {t.artist.name for t in client.search_tracks("Soliloquy")} == {"Dave Brubeck", "Erroll Garner"}
        assert client.playlist_tracks(str(playlist["id"]))[0] == "Bain moussant"
        request(res, items=["Soliloquy", f"https://www.deezer.com/fr/playlist/{playlist['id']}", "deezer.com/track/1"])
    view = requests_view(library_db)
    assert [row[5] for row in view] == ["ambiguous", "resolved", "failed"]
    ((candidates,),) = rows(library_db, "SELECT candidates FROM library.requests WHERE status = 'ambiguous'")
    assert {c["artist"] for c in json.loads(candidates)} == {"Dave Brubeck", "Erroll Garner"}
    assert view[1][4:7] == ("playlist Bain moussant", "resolved", 2)
    ((error,),) = rows(library_db, "SELECT error FROM library.requests WHERE status = 'failed'")
    assert "DataException 800" in error


class ShortLinks(StandinServer):
    """A share-link host: every path redirects to a full Spotify link, /nowhere to nothing."""

    def handle(self, method, path, query, headers, body):
        if path == "/nowhere":
            return Response(404, "gone")
        return Response(302, None, {"Location": f"https://open.spotify.com/track/{path.strip('/')}?si=x"})


def test_a_short_link_is_followed_one_hop_to_the_full_link():
    with ShortLinks() as server:
        assert expand_short_link(f"{server.url}/0kelly") == Link("spotify", "track", "0kelly")
        with pytest.raises(UnusableItem, match="paste the full link"):
            expand_short_link(f"{server.url}/nowhere")
    with pytest.raises(UnusableItem, match="could not be followed"):
        expand_short_link("http://127.0.0.1:9/x", timeout_s=2)
