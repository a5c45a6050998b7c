"""The Genius resource: httpx against the local stand-in (API search and song pages)."""

import dagster as dg
import pytest

from soulspot_pipeline.definitions import build_resources
from soulspot_pipeline.devkit.standins.genius import BAD_TOKEN, NO_TOKEN, GeniusStandin
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.lyrics import GeniusHit, LyricsTarget, best_genius_hit
from soulspot_pipeline.resources.genius import (
    GeniusResource,
    GeniusTokenRefused,
    lyrics_from_page,
    parse_hits,
)
from soulspot_pipeline.resources.http import USER_AGENT
from soulspot_pipeline.settings import GENIUS_URL, GENIUS_WEB_URL, Settings
from soulspot_tests.clock import VirtualClock

TOKEN = "genius-token-1Rc6vB3nXk8f"


def target(title="Song", artist="Artist") -> LyricsTarget:
    return LyricsTarget("t1", title, artist, "Album", 200_000, "/music/song.flac")


@pytest.fixture
def genius():
    with GeniusStandin(access_token=TOKEN) as server:
        yield server


def resource(server, token=TOKEN, clock=None, **kwargs) -> GeniusResource:
    return GeniusResource(
        access_token=token, api_url=server.url, web_url=server.url, clock=clock or VirtualClock(), **kwargs
    )


def test_search_sends_title_and_artist_with_the_token_and_the_page_gives_the_lines(genius):
    song = genius.add("Song", "Artist", "One & two\nthree <four>\n\nfive\nsix\n\nseven\n\neight", language="de")
    genius.add("Other", "Artist", "no")
    res = resource(genius)
    hits = res.search(target())
    assert [h.title for h in hits] == ["Song", "Other"]  # loose, as Genius's search is
    (request,) = genius.requests
    assert request.path == "/search" and request.query == {"q": "Song Artist"}
    assert request.headers["authorization"] == f"Bearer {TOKEN}" and request.headers["user-agent"] == USER_AGENT
    hit = best_genius_hit(target(), hits)
    assert hit == GeniusHit(str(song.song_id), "Song", ("Artist",), song.path, "complete", False, "de")
    assert res.lyrics(hit) == "One & two\nthree <four>\n\nfive\nsix\n\nseven\n\neight"
    page = genius.requests[-1]
    assert page.path == song.path and "authorization" not in page.headers  # the token is for the API only


def test_a_page_that_is_gone_is_none_and_an_instrumentals_page_has_no_lyrics(genius):
    quiet = genius.add("Quiet", "Artist", instrumental=True)
    res = resource(genius)
    (hit,) = res.search(target("Quiet"))
    assert hit.instrumental and res.lyrics(hit) is None
    gone = GeniusHit("1", "Gone", ("Artist",), "/Artist-gone-lyrics", "complete", False, None)
    assert res.lyrics(gone) is None
    genius.inject("/Artist-gone-lyrics", status=403, body="<html>Forbidden</html>")
    with pytest.raises(ProviderError, match="HTTP 403"):  # all pages refused: Genius stops for the run
        res.lyrics(gone)
    assert quiet.wire(genius.url)["instrumental"] is True


def test_a_refused_token_is_one_sentence_naming_the_variable_never_the_token(genius):
    wrong = "wrong-token-7Yt2"
    with pytest.raises(GeniusTokenRefused) as refused:
        resource(genius, token=wrong).search(target())
    assert "GENIUS_ACCESS_TOKEN" in str(refused.value) and wrong not in str(refused.value)
    assert genius.count() == 1  # not retried
    genius.inject("/search", status=401, body=NO_TOKEN)
    with pytest.raises(GeniusTokenRefused, match="GENIUS_ACCESS_TOKEN"):
        resource(genius).search(target())
    with pytest.raises(ProviderError, match="GENIUS_ACCESS_TOKEN is not set"):
        resource(genius, token=None).search(target())
    assert BAD_TOKEN["error"] == "invalid_token"


def test_5xx_and_429_are_retried_on_the_clock_and_a_server_echoing_the_token_does_not_leak_it(genius):
    clock = VirtualClock()
    res = resource(genius, clock=clock)
    genius.inject("/search", status=429, headers={"Retry-After": "3"})
    genius.inject("/search", status=503)
    assert res.search(target()) == []
    assert res.stats.retries == 2 and 3.0 in clock.sleeps
    genius.inject("/search", status=500, times=3, body=f"<html>bad token {TOKEN}</html>")
    with pytest.raises(ProviderError, match="Genius /search failed after 3 attempt") as failed:
        res.search(target())
    assert TOKEN not in str(failed.value) and "***" in str(failed.value)


def test_requests_keep_to_the_rate_on_the_clock(genius):
    clock = VirtualClock()
    res = resource(genius, clock=clock, rate=2.0)
    for _ in range(3):
        res.search(target())
    assert clock.slept == pytest.approx(1.0)


def test_lyrics_come_from_every_container_without_the_parts_excluded_from_selection():
    page = (
        "<html><body><div id='lyrics-root'>"
        '<div data-lyrics-container="true" class="Lyrics__Container">'
        '<div data-exclude-from-selection="true"><button><span>3 Contributors</span></button>'
        "<div>Song Lyrics<div>nested</div></div></div>"
        "[Verse 1]<br>It&#x27;s <i>one</i><br/>"
        '<a href="/1"><span>Two, <b>bold</b><br>still two</span></a><br><br>[Chorus]<br>  Three  '
        "</div>"
        '<div data-exclude-from-selection="true">Ad</div>'
        '<div data-lyrics-container="true"><br>Four &amp; five</div>'
        "</div><div>Not lyrics</div></body></html>"
    )
    assert lyrics_from_page(page) == "[Verse 1]\nIt's one\nTwo, bold\nstill two\n\n[Chorus]\nThree\n\nFour & five"
    assert lyrics_from_page("<html><body><div>This song is an instrumental</div></body></html>") is None


def test_hits_that_are_not_songs_or_lack_a_title_id_or_page_are_left_out():
    body = {
        "meta": {"status": 200},
        "response": {
            "hits": [
                {"type": "artist", "result": {"id": 1, "name": "Artist"}},
                {"type": "song", "result": {"id": 2, "path": "/x"}},
                {
                    "type": "song",
                    "result": {
                        "id": 3,
                        "title": "Song",
                        "url": "https://genius.com/Artist-song-lyrics",
                        "primary_artist": {"name": "Artist"},
                        "primary_artists": [{"name": "Artist"}, {"name": "Guest"}],
                        "lyrics_state": "complete",
                    },
                },
            ]
        },
    }
    assert parse_hits(body) == [
        GeniusHit("3", "Song", ("Artist", "Guest"), "/Artist-song-lyrics", "complete", False, None)
    ]
    with pytest.raises(ValueError):
        parse_hits({"meta": {"status": 200}})


def test_the_token_is_passed_by_name_and_unset_leaves_genius_unconfigured():
    default = build_resources(Settings.from_env({}))["genius"]
    assert not default.configured and (default.api_url, default.web_url) == (GENIUS_URL, GENIUS_WEB_URL)
    env = {
        "GENIUS_ACCESS_TOKEN": TOKEN,
        "SOULSPOT_GENIUS_URL": "http://127.0.0.1:8081",
        "SOULSPOT_GENIUS_WEB_URL": "http://127.0.0.1:8082",
    }
    settings = Settings.from_env(env)
    assert settings.genius_configured and TOKEN not in repr(settings)
    genius = build_resources(settings)["genius"]
    assert genius.access_token == dg.EnvVar("GENIUS_ACCESS_TOKEN")
    assert (genius.api_url, genius.web_url) == ("http://127.0.0.1:8081", "http://127.0.0.1:8082")
