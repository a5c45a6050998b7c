"""The LRCLIB stand-in answers as the real server does (see realdata/lrclib/lrclibapi/NOTES.md)."""

import json

import httpx
import pytest

from soulspot_pipeline.devkit.standins.lrclib import NOT_FOUND, LrclibStandin


@pytest.fixture
def server():
    with LrclibStandin() as standin:
        yield standin


def test_get_matches_title_and_artist_ignoring_case_the_album_and_the_duration_within_two_seconds(server):
    record = server.add("Song", "Artist", "Album", 200.0, plain="words", synced="[00:01.00] words")
    get = lambda **q: httpx.get(f"{server.url}/api/get", params=q)  # noqa: E731
    found = get(track_name="song", artist_name="ARTIST", album_name="album", duration="202")
    assert found.status_code == 200 and found.json() == record.wire()
    assert set(found.json()) == {
        "id",
        "name",
        "trackName",
        "artistName",
        "albumName",
        "duration",
        "instrumental",
        "plainLyrics",
        "syncedLyrics",
    }
    assert get(track_name="Song", artist_name="Artist").status_code == 200  # album and duration are optional
    missing = get(track_name="Song", artist_name="Artist", duration="203")
    assert missing.status_code == 404 and missing.json() == NOT_FOUND
    assert get(track_name="Song", artist_name="Artist", album_name="Other").status_code == 404
    assert httpx.get(f"{server.url}/api/get/{record.record_id}").json() == record.wire()


def test_bad_questions_are_400s_as_the_server_sends_them(server):
    empty = httpx.get(f"{server.url}/api/get", params={"track_name": " ", "artist_name": "A"})
    assert empty.status_code == 400 and empty.json()["name"] == "ValidationError"
    assert empty.json()["statusCode"] == 400
    assert httpx.get(f"{server.url}/api/get", params={"track_name": "x"}).status_code == 400
    too_long = httpx.get(f"{server.url}/api/get", params={"track_name": "x", "artist_name": "A", "duration": "4000"})
    assert too_long.status_code == 400


def test_instrumental_records_have_no_lyrics_and_search_answers_a_list(server):
    server.add("Theme", "Band", "OST", 100.0, plain="ignored", instrumental=True)
    body = httpx.get(f"{server.url}/api/get", params={"track_name": "Theme", "artist_name": "Band"}).json()
    assert body["instrumental"] is True and body["plainLyrics"] is None and body["syncedLyrics"] is None
    assert len(httpx.get(f"{server.url}/api/search", params={"q": "theme"}).json()) == 1
    assert httpx.get(f"{server.url}/api/search", params={"q": "nothing"}).json() == []


def test_recorded_records_are_served_byte_for_byte_in_their_json(server, realdata):
    recorded = (realdata / "lrclib" / "lrclibapi" / "get-synced.json").read_text()
    body = json.loads(recorded)
    server.add_wire(body)
    answer = httpx.get(
        f"{server.url}/api/get",
        params={"track_name": body["trackName"], "artist_name": body["artistName"], "duration": "233"},
    )
    assert answer.json() == body
    assert answer.content.decode() == recorded.strip()
