"""The LRCLIB resource: httpx against the local stand-in, and the recorded answers of the real server."""

import json

import pytest

from soulspot_pipeline.devkit.standins.lrclib import NOT_FOUND, LrclibStandin
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.lyrics import SYNCED, LyricsTarget, best_search_record, choose
from soulspot_pipeline.resources.http import USER_AGENT
from soulspot_pipeline.resources.lrclib import LrclibResource, LyricsRefused, parse_record, parse_search
from soulspot_tests.clock import VirtualClock

LRC = "[00:01.00] one\n[00:02.50] two"


def target(title="Song", artist="Artist", album="Album", duration_ms=200_000) -> LyricsTarget:
    return LyricsTarget("t1", title, artist, album, duration_ms, "/music/song.flac")


@pytest.fixture
def lrclib():
    with LrclibStandin() as server:
        yield server


def resource(server, clock=None, **kwargs) -> LrclibResource:
    return LrclibResource(base_url=server.url, clock=clock or VirtualClock(), **kwargs)


def test_get_sends_artist_title_album_and_whole_seconds_with_a_user_agent_naming_the_project(lrclib):
    lrclib.add("Song", "Artist", "Album", 201.0, plain="one\ntwo", synced=LRC)
    found = resource(lrclib).get(target())
    assert found is not None and found.synced == LRC and found.plain == "one\ntwo" and found.duration_s == 201.0
    (request,) = lrclib.requests
    assert request.path == "/api/get"
    assert request.query == {"artist_name": "Artist", "track_name": "Song", "album_name": "Album", "duration": "200"}
    assert request.headers["user-agent"] == USER_AGENT and "soulspot-pipeline" in USER_AGENT


def test_404_is_none_and_a_refused_question_is_its_own_error(lrclib):
    res = resource(lrclib)
    assert res.get(target()) is None
    lrclib.inject("/api/get", status=400, body={"message": "x", "name": "ValidationError", "statusCode": 400})
    with pytest.raises(LyricsRefused, match="HTTP 400 x"):
        res.get(target())
    assert res.stats.requests == 2 and res.stats.retries == 0


def test_5xx_is_retried_with_backoff_on_the_clock_and_persistent_failure_is_a_provider_error(lrclib):
    lrclib.add("Song", "Artist", "Album", 200.0, plain="words")
    clock = VirtualClock()
    res = resource(lrclib, clock)
    lrclib.inject("/api/get", status=503, times=2)
    assert res.get(target()) is not None
    assert res.stats.retries == 2 and clock.sleeps[:2] == [1.0, 2.0]
    lrclib.inject("/api/get", status=500, times=3)
    with pytest.raises(ProviderError, match="LRCLIB /api/get failed after 3 attempt"):
        res.get(target())


def test_requests_keep_to_the_rate_on_the_clock(lrclib):
    clock = VirtualClock()
    res = resource(lrclib, clock, rate=2.0)
    for _ in range(3):
        res.get(target())
    assert clock.slept == pytest.approx(1.0)  # two waits of half a second, nothing before the first


def test_an_unreachable_server_fails_fast_as_a_provider_error():
    res = LrclibResource(base_url="http://127.0.0.1:9", clock=VirtualClock(), max_attempts=2)
    with pytest.raises(ProviderError, match="no answer"):
        res.get(target())


def test_the_resource_parses_the_real_servers_recorded_answers(realdata, lrclib):
    folder = realdata / "lrclib" / "lrclibapi"
    synced = json.loads((folder / "get-synced.json").read_text())
    record = parse_record(synced)
    assert (record.source_id, record.title, record.duration_s, record.instrumental) == (
        "3396226",
        "I Want to Live",
        233.0,
        False,
    )
    assert choose(record).status == SYNCED and choose(record).text.startswith("[00:")
    instrumental = parse_record(json.loads((folder / "record-instrumental.json").read_text()))
    assert instrumental.instrumental and instrumental.plain is None and instrumental.synced is None
    for item in json.loads((folder / "search-track-artist.json").read_text()):
        parse_record(item)  # every search item has the same shape
    assert json.loads((folder / "get-404.json").read_text()) == NOT_FOUND  # the stand-in's 404 is the real one
    # Served by the stand-in as recorded, through the resource, with a duration a second off.
    lrclib.add_wire(synced)
    got = resource(lrclib).get(
        LyricsTarget("x", synced["trackName"], synced["artistName"], synced["albumName"], 234_000, "/m/x.flac")
    )
    assert got == record


def test_search_sends_title_and_artist_and_answers_every_record_in_the_servers_order(lrclib):
    assert resource(lrclib).search(target()) == []  # nothing matches: an empty list, not an error
    lrclib.add("Song", "Artist", "Other", 180.0, plain="words")
    lrclib.add("Song", "Artist", "Album", 200.0, synced=LRC)
    lrclib.add("Another", "Artist", "Album", 200.0, plain="no")
    found = resource(lrclib).search(target())
    assert [(r.album, r.duration_s) for r in found] == [("Other", 180.0), ("Album", 200.0)]
    assert lrclib.requests[-1].query == {"track_name": "Song", "artist_name": "Artist"}
    lrclib.inject("/api/search", status=400, body={"message": "bad", "name": "ValidationError", "statusCode": 400})
    with pytest.raises(LyricsRefused, match="HTTP 400 bad"):
        resource(lrclib).search(target())


def test_the_real_search_answers_parse_and_the_exact_synced_record_is_the_one_kept(realdata, lrclib):
    folder = realdata / "lrclib" / "lrclibapi"
    recorded = json.loads((folder / "search-track-artist.json").read_text())
    for item in recorded:
        lrclib.add_wire(item)
    assert parse_search(json.loads((folder / "search-q.json").read_text()))[1].duration_s == 240.852175
    wanted = LyricsTarget("x", "I Want to Live", "Borislav Slavov", "Baldur's Gate 3", 234_000, "/m/x.flac")
    found = resource(lrclib).search(wanted)
    assert [r.source_id for r in found] == [str(item["id"]) for item in recorded]  # served as recorded
    # Not the one lasting "1.0" s, nor the instrumental and classical versions: other titles.
    assert best_search_record(wanted, found).source_id == "3396226"
    unknown_length = LyricsTarget("x", "I want to live!", "borislav slavov", None, None, "/m/x.flac")
    assert best_search_record(unknown_length, found).source_id == "3396226"  # synced before plain
