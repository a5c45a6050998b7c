"""The scan over the real audio corpora beside the project (../shared/realdata).

These run whenever the real data is present (always in CI) and skip with the reason
otherwise. The oracle is mutagen's own easy-tag interface, read independently here.
"""

import mutagen
import mutagen.easyid3
import mutagen.id3
import pytest

from soulspot_pipeline.scan.read import AUDIO_EXTENSIONS
from soulspot_tests.assets.test_library_refresh import refresh
from soulspot_tests.results import metadata

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins


def _easy(path):
    try:
        audio = mutagen.File(path, easy=True)
    except Exception:
        return "unreadable"
    if audio is None or audio.info is None:
        return "unreadable"
    if isinstance(audio.tags, mutagen.id3.ID3) and not isinstance(audio.tags, mutagen.easyid3.EasyID3):
        return None  # AIFF/WAV have no easy interface; their tags are checked below by value
    return audio.tags or {}


def test_every_real_audio_file_is_a_row_or_a_reasoned_error(realdata, library_db):
    audio_files = sorted(
        p for p in realdata.rglob("*") if p.is_file() and p.suffix.lower().lstrip(".") in AUDIO_EXTENSIONS
    )
    assert len(audio_files) >= 20

    result = refresh(library_db, realdata)
    with library_db.reader() as conn:
        scanned = {row["path"]: row for row in conn.sql("SELECT * FROM library.local_files").pl().to_dicts()}
        errors = dict(conn.execute("SELECT path, error FROM library.scan_errors WHERE kind = 'unreadable'").fetchall())

    readable = 0
    for path in audio_files:
        easy = _easy(path)
        if easy == "unreadable":
            assert str(path) in errors and errors[str(path)], path
            continue
        readable += 1
        row = scanned[str(path)]
        assert row["duration_ms"] and row["duration_ms"] > 0, path
        if easy is None:
            continue
        for field in ("artist", "album", "title", "genre"):
            expected = easy.get(field)
            assert row[field] == (expected[0] if expected else None), (path, field)
        if easy.get("tracknumber"):
            assert row["track_number"] == int(easy["tracknumber"][0].split("/")[0]), path
    assert readable == len(scanned)
    assert {p.rsplit("/", 1)[1] for p in errors} >= {"emptyfile.mp3", "too-short.mp3"}
    assert metadata(result, "local_scan")["errors"] == len(errors)


def test_real_files_carry_their_musicbrainz_ids(realdata, library_db):
    refresh(library_db, realdata / "beets")
    with library_db.reader() as conn:
        rows = conn.execute(
            "SELECT format, recording_mbid, release_mbid, artist_mbid, track_number, track_total, disc_number, disc_total "
            "FROM library.local_files WHERE path LIKE '%/full.%' ORDER BY format"
        ).fetchall()
    assert {r[0] for r in rows} == {"aac", "aiff", "flac", "mp3", "opus", "vorbis"}
    for row in rows:
        assert row[1:] == (
            "8b882575-08a5-4452-a7a7-cbb8a1531f9e",
            "9e873859-8aa4-4790-b985-5a953e8ef628",
            "7cf0ea9d-86b9-4dad-ba9e-2355a64899ea",
            2,
            3,
            4,
            5,
        ), row[0]


@pytest.mark.parametrize("name", ["silence-44-s.flac", "silence-44-s.mp3", "silence-44-s-v1.mp3"])
def test_one_song_in_three_files_is_one_owned_track(realdata, library_db, name):
    refresh(library_db, realdata / "mutagen")
    with library_db.reader() as conn:
        track = conn.execute(
            "SELECT t.title, t.local_path, t.audio_format, t.download_state FROM library.tracks t "
            "JOIN library.track_files f USING (track_id) WHERE f.path LIKE ?",
            [f"%/{name}"],
        ).fetchall()
    assert track == [("Silence", str(realdata / "mutagen/tests/data/silence-44-s.flac"), "flac", "downloaded")]


def test_recorded_spotify_and_deezer_responses_sync_into_the_library(realdata, library_db, music_dir, tmp_path):
    """The recorded Spotify Web API and Deezer responses, served as they are, through spotipy and httpx."""
    import json

    from soulspot_pipeline.devkit.standins import deezer as deezer_standin
    from soulspot_pipeline.devkit.standins import spotify as spotify_standin
    from soulspot_tests.assets.test_cloud_likes import login, materialize, resources
    from soulspot_tests.results import rows

    spotify_data = realdata / "spotify" / "spotify-web-api-java" / "src" / "test" / "fixtures" / "requests" / "data"
    deezer_data = realdata / "deezer" / "deezer-python" / "extracted-json"
    recorded_saved = json.loads((spotify_data / "library" / "GetUsersSavedTracksRequest.json").read_text())["items"]
    recorded_deezer = json.loads((deezer_data / "TestClient.test_get_user_tracks[args1]__0.json").read_text())["data"]
    with (
        spotify_standin.SpotifyStandin(spotify_standin.library_from_recordings(spotify_data)) as spotify,
        deezer_standin.DeezerStandin(deezer_standin.library_from_recordings(deezer_data)) as deezer,
    ):
        login(spotify, tmp_path / "data" / "secrets" / "spotify-token.json")
        result = materialize(resources(library_db, music_dir, tmp_path, spotify, deezer))
    meta = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    assert meta["spotify_likes"]["liked_tracks"] == len([i for i in recorded_saved if i.get("track")])
    # The recorded playlist holds a podcast episode and an entry whose track is gone.
    assert meta["spotify_likes"]["skipped_items"].get("episode", 0) >= 1
    assert meta["deezer_favorites"]["liked_tracks"] == len(recorded_deezer)
    isrc = recorded_saved[0]["track"]["external_ids"]["isrc"]
    assert rows(library_db, "SELECT spotify_id, ownership_state FROM library.tracks WHERE isrc = ?", [isrc]) == [
        (recorded_saved[0]["track"]["id"], "owned")
    ]
    durations = {str(t["id"]): t["duration"] * 1000 for t in recorded_deezer}
    assert (
        dict(rows(library_db, "SELECT deezer_id, duration_ms FROM library.tracks WHERE deezer_id IS NOT NULL"))
        == durations
    )


def test_recorded_musicbrainz_answers_identify_and_enrich_a_real_song(realdata, library_db, music_dir, tmp_path):
    """The recorded ws/2 XML served as MusicBrainz answers it: search, pick, explain, enrich."""
    from soulspot_pipeline.devkit.standins.musicbrainz import MusicBrainzStandin, catalog_from_recordings
    from soulspot_tests.assets.test_identify_enrich import ASSETS, materialize, musicbrainz, write_track
    from soulspot_tests.results import rows

    write_track(music_dir, "Dynamo Go", "Folly, Vice & Madness", "Thief of Hearts", number=4, seconds=198.6)
    catalog = catalog_from_recordings(realdata / "musicbrainzngs" / "test" / "data")
    with MusicBrainzStandin(catalog) as server:
        materialize(library_db, music_dir, musicbrainz(server, tmp_path), assets=ASSETS)
    # The recorded search answers cb4d4d70-… at score 100 for this song.
    assert rows(library_db, "SELECT recording_mbid FROM library.tracks") == [("cb4d4d70-930c-4d1a-a157-776de18be66a",)]
    assert rows(library_db, "SELECT artist_mbid FROM library.artists WHERE name = 'Dynamo Go'") == [
        ("952a4205-023d-4235-897c-6fdb6f58dfaa",)
    ]
    candidates = rows(
        library_db, "SELECT decision, count(*) FROM library.match_candidates WHERE entity_type = 'track' GROUP BY 1"
    )
    assert dict(candidates)["accepted"] == 1 and dict(candidates).get("rejected", 0) >= 1  # the other Dynamo Go songs


def test_recorded_musicbrainz_release_groups_and_tracklists_read_as_discography_entries(realdata):
    """The discography reads MusicBrainz's real XML as musicbrainzngs parses it."""
    import musicbrainzngs.mbxml

    from soulspot_pipeline.domain.discography import TypePolicy, musicbrainz_group, release_with_tracks

    data = realdata / "musicbrainzngs" / "test" / "data"
    with open(data / "release-group" / "f52bc6a1-c848-49e6-85de-f8f53459a624.xml", "rb") as f:
        group = musicbrainz_group(musicbrainzngs.mbxml.parse_message(f)["release-group"])
    assert (group.title, group.release_type, group.first_release_date) == (
        "Super Meat Boy!",
        "album + soundtrack",
        "2010-10-27",
    )
    assert not TypePolicy().collects(group)  # soundtracks are left out by default
    with open(data / "release" / "fe29e7f0-eb46-44ba-9348-694166f47885-recordings.xml", "rb") as f:
        release = release_with_tracks(musicbrainzngs.mbxml.parse_message(f)["release"])
    assert (release.title, release.status, len(release.tracks)) == ("Urk", "Official", 48)
    assert release.tracks[0].title == "The Train" and release.tracks[0].duration_ms == 184000
    assert {t.disc_number for t in release.tracks} == {1, 2, 3}  # three discs: 14 + 15 + 19 tracks
    assert len({(t.disc_number, t.track_number) for t in release.tracks}) == 48


def test_recorded_cloud_shapes_with_derived_faults_are_counted_and_partial(realdata, library_db, music_dir, tmp_path):
    """The recorded responses plus what they lack (a null, an item without id, a local file, a repeat,
    a broken album track list): every item left out is counted, the rest is stored."""
    import json

    from soulspot_pipeline.assets.cloud import cloud_assets
    from soulspot_pipeline.devkit.standins import deezer as dz
    from soulspot_pipeline.devkit.standins import spotify as sp
    from soulspot_tests.assets.test_cloud_likes import login, materialize, resources
    from soulspot_tests.results import rows

    spotify_data = realdata / "spotify" / "spotify-web-api-java" / "src" / "test" / "fixtures" / "requests" / "data"
    deezer_data = realdata / "deezer" / "deezer-python" / "extracted-json"
    spotify_library = sp.library_from_recordings(spotify_data)
    recorded_saved = list(spotify_library.saved_tracks)
    first = spotify_library.saved_tracks[0]
    spotify_library.saved_tracks += [
        None,
        {**first, "track": {**first["track"], "id": None}},
        {**first, "track": {**first["track"], "id": None, "uri": "spotify:local:a:b:c:1", "is_local": True}},
        first,
    ]
    # A recorded playlist whose album objects name no artist (older recordings have them).
    recorded = json.loads((spotify_data / "playlists" / "GetPlaylistRequest.json").read_text())
    spotify_library.playlists.append({k: v for k, v in recorded.items() if k != "tracks"})
    spotify_library.playlist_items[recorded["id"]] = recorded["tracks"]["items"]
    spotify_library.playlists.append({**spotify_library.playlists[0], "id": None})
    gone = spotify_library.playlists[1]["id"]

    deezer_library = dz.library_from_recordings(deezer_data)
    track = deezer_library.tracks[0]
    episode = {
        "id": 526673645,
        "title": "Le Journal",
        "duration": 600,
        "type": "episode",
        "time_add": track["time_add"],
    }
    deezer_library.tracks += [None, {**track, "id": None}, {**track, "id": -track["id"]}, track, episode]
    no_data = json.loads((deezer_data / "TestClient.test_no_track_raise__0.json").read_text())  # Deezer's own words
    broken = [a["id"] for a in deezer_library.albums[:2]]

    with sp.SpotifyStandin(spotify_library) as spotify, dz.DeezerStandin(deezer_library) as deezer:
        spotify.remove_endpoint(f"/v1/playlists/{gone}/", 404)
        deezer.inject(f"/album/{broken[0]}/tracks", status=200, body=no_data)
        deezer.inject(f"/album/{broken[1]}/tracks", status=404, body="Not Found")
        login(spotify, tmp_path / "data" / "secrets" / "spotify-token.json")
        result = materialize(resources(library_db, music_dir, tmp_path, spotify, deezer), assets=cloud_assets)
    meta = {
        e.asset_key.to_user_string(): {k: v.value for k, v in e.materialization.metadata.items()}
        for e in result.get_asset_materialization_events()
    }
    spotify_meta, deezer_meta = meta["spotify_likes"], meta["deezer_favorites"]
    # The recorded playlist items hold a podcast episode and an entry whose track is gone.
    assert spotify_meta["skipped_items"] == {
        "null": 2,
        "no_id": 2,
        "local_file": 1,
        "episode": 1,
        "duplicate": 1,
        "unavailable": 1,
    }
    assert spotify_meta["status"] == "partial: playlists: 1 of 4 playlists' items unavailable"
    assert spotify_meta["liked_tracks"] == len(recorded_saved)
    # The recorded album that names no artist is stored under its track's artist, not "Unknown Artist".
    item = recorded["tracks"]["items"][0]["track"]
    assert rows(
        library_db, "SELECT artist_name FROM library.cloud_albums WHERE album_id = ?", [item["album"]["id"]]
    ) == [(item["artists"][0]["name"],)]

    assert deezer_meta["status"] == "partial: saved albums: 2 of 25 album track lists unavailable"
    assert deezer_meta["skipped_items"] == {
        "null": 1,
        "no_id": 1,
        "local_file": 1,
        "episode": 1,
        "duplicate": 1,
        "unavailable": 2,
    }
    assert (deezer_meta["saved_albums"], deezer_meta["liked_tracks"]) == (25, 3)
    details = dict(rows(library_db, "SELECT endpoint, detail FROM library.cloud_endpoints WHERE source = 'deezer'"))
    assert details[f"album {broken[0]} tracks"] == "HTTP 404: DataException 800: no data"
    assert details[f"album {broken[1]} tracks"] == "HTTP 404: Not Found"
    assert rows(library_db, "SELECT count(*) FROM library.cloud_likes WHERE source = 'deezer' AND kind = 'album'") == [
        (25,)
    ]
    skips = rows(library_db, "SELECT source, reason, sum(items) FROM library.cloud_skips GROUP BY ALL ORDER BY ALL")
    assert {(source, reason) for source, reason, _ in skips} == {
        (source, reason) for source in ("deezer", "spotify") for reason in spotify_meta["skipped_items"]
    }
