"""Lyrics end to end: httpx against the local LRCLIB and Genius stand-ins, materialized by Dagster
into a tmp_path DuckDB built from real tagged audio files."""

import logging

import mutagen
import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.assets.lyrics import lyrics
from soulspot_pipeline.devkit.standins.genius import GeniusStandin
from soulspot_pipeline.devkit.standins.lrclib import LrclibStandin
from soulspot_pipeline.devkit.standins.server import Response
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.genius import GeniusResource
from soulspot_pipeline.resources.lrclib import LrclibResource, LyricsPolicy
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_tests.clock import VirtualClock
from soulspot_tests.results import materialize, metadata, rows

pytestmark = pytest.mark.integration  # assets run through Dagster against a stand-in

ASSETS = [local_scan, library_entities, lyrics]
LRC = "[00:00.50] Hello there\n[00:01.50] \n[00:02.00] Goodbye now\n[00:02.90] "
SONGS = {  # title: (format, what LRCLIB knows)
    "Synced Song": ("flac", "synced"),
    "Plain Song": ("mp3", "plain"),
    "Quiet Song": ("m4a", "instrumental"),
    "Empty Song": ("flac", "empty"),
    "Unknown Song": ("flac", None),
}


@pytest.fixture
def lrclib():
    with LrclibStandin() as server:
        yield server


def library(music_dir, lrclib):
    folder = music_dir / "The Artist" / "The Album"
    folder.mkdir(parents=True)
    paths = {}
    for n, (title, (fmt, known)) in enumerate(SONGS.items(), 1):
        paths[title] = write_audio_file(
            folder / f"{n:02d} {title}.{fmt}",
            fmt,
            {"artist": "The Artist", "album": "The Album", "title": title, "track_number": n},
            seconds=3,
        )
        args = (title, "The Artist", "The Album", 3.0)
        if known == "synced":
            lrclib.add(*args, plain="Hello there\n\nGoodbye now", synced=LRC)
        elif known == "plain":
            lrclib.add(*args, plain="Just the words\nno times")
        elif known == "instrumental":
            lrclib.add(*args, instrumental=True)
        elif known == "empty":
            lrclib.add(*args)
    return paths


def resources(library_db, music_dir, lrclib, clock, *, files=False, tags=False, url=None, genius=None):
    return {
        "genius": genius or GeniusResource(),
        "library_db": library_db,
        "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=1),
        "library_policy": LibraryPolicy(),
        "deezer": DeezerResource(user_id=None, api_url="http://127.0.0.1:9/"),
        "lrclib": LrclibResource(base_url=url or lrclib.url, clock=clock),
        "lyrics_policy": LyricsPolicy(write_files=files, write_tags=tags, retry_days=30),
    }


def statuses(library_db):
    return rows(
        library_db,
        "SELECT t.title, l.status, l.source, l.synced, l.instrumental, l.attempts, l.retry_after IS NOT NULL "
        "FROM library.lyrics l JOIN library.tracks t USING (track_id) ORDER BY 1",
    )


def test_each_answer_is_kept_as_its_row_and_file_and_a_second_run_makes_no_request(library_db, music_dir, lrclib):
    paths = library(music_dir, lrclib)
    before = {p: p.read_bytes() for p in paths.values()}
    lrclib.inject("/api/get", status=503, times=1)  # a passing server error: retried
    clock = VirtualClock()
    result = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, clock, files=True))

    assert statuses(library_db) == [
        ("Empty Song", "not_found", None, False, False, 1, True),
        ("Plain Song", "plain", "lrclib", False, False, 1, False),
        ("Quiet Song", "instrumental", "lrclib", False, True, 1, False),
        ("Synced Song", "synced", "lrclib", True, False, 1, False),
        ("Unknown Song", "not_found", None, False, False, 1, True),
    ]
    assert lrclib.count("/api/get") == 6 and clock.sleeps[0] == 1.0  # five tracks, one retried
    assert lrclib.count("/api/search") == 1  # the one LRCLIB has no record of
    ((text,),) = rows(library_db, "SELECT text FROM library.lyrics WHERE synced")
    assert text == LRC
    folder = paths["Synced Song"].parent
    assert sorted(p.name for p in folder.iterdir() if p.suffix in (".lrc", ".txt")) == [
        "01 Synced Song.lrc",
        "02 Plain Song.txt",
    ]
    assert (folder / "01 Synced Song.lrc").read_text() == LRC + "\n"
    assert (folder / "02 Plain Song.txt").read_text() == "Just the words\nno times\n"
    assert not [p for p in folder.iterdir() if p.name.startswith(".")]  # no temporary files left
    assert {p: p.read_bytes() for p in paths.values()} == before  # no tags without SOULSPOT_LYRICS_TAGS
    m = metadata(result, "lyrics")
    assert m["status"] == "fetched" and m["looked_for"] == 5 and m["files_written"] == 2
    assert m["this_run"] == {"instrumental": 1, "not_found": 2, "plain": 1, "synced": 1}
    assert m["dagster/row_count"] == 5 and m["requests"] == 7 and "Synced Song" in m["preview"]

    again = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock(), files=True))
    assert lrclib.count() == 7  # not one request more
    m = metadata(again, "lyrics")
    assert (m["looked_for"], m["requests"], m["files_written"]) == (0, 0, 0)

    # Once the retry date has come, only "none anywhere" is asked again.
    with library_db.writer() as conn:
        conn.execute("UPDATE library.lyrics SET retry_after = retry_after - INTERVAL 31 DAY")
    materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock()))
    assert (lrclib.count("/api/get"), lrclib.count("/api/search")) == (8, 2)
    assert [r[5] for r in statuses(library_db)] == [2, 1, 1, 1, 2]


def test_a_file_the_user_made_is_never_replaced(library_db, music_dir, lrclib):
    paths = library(music_dir, lrclib)
    mine = paths["Synced Song"].with_suffix(".lrc")
    mine.write_text("[00:00.00] my own timing\n")
    result = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock(), files=True))
    assert mine.read_text() == "[00:00.00] my own timing\n"
    m = metadata(result, "lyrics")
    assert (m["files_written"], m["files_left_alone"]) == (1, 1)


def test_tags_are_embedded_and_read_back_and_not_written_twice(library_db, music_dir, lrclib):
    paths = library(music_dir, lrclib)
    result = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock(), tags=True))
    assert metadata(result, "lyrics")["tags_embedded"] == 2
    assert mutagen.File(paths["Synced Song"])["LYRICS"] == [LRC]
    assert str(mutagen.File(paths["Plain Song"])["USLT::XXX"]) == "Just the words\nno times"
    assert "\xa9lyr" not in (mutagen.File(paths["Quiet Song"]).tags or {})  # instrumental: nothing to embed
    embedded = rows(library_db, "SELECT count(*) FROM library.lyrics WHERE embedded_at IS NOT NULL")
    assert embedded == [(2,)]
    again = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock(), tags=True))
    assert metadata(again, "lyrics")["tags_embedded"] == 0


def test_lrclib_unreachable_stops_the_phase_quickly_without_failing_and_records_nothing(library_db, music_dir, lrclib):
    library(music_dir, lrclib)
    lrclib.inject("/api/get", status=500, times=100)
    clock = VirtualClock()
    result = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, clock))
    assert result.success
    m = metadata(result, "lyrics")
    assert m["status"].startswith("skipped: LRCLIB did not answer") and "HTTP 500" in m["status"]
    assert lrclib.count("/api/get") == 3 and clock.slept == 3.0  # one track's attempts, then it stops
    assert rows(library_db, "SELECT count(*) FROM library.lyrics") == [(0,)]


def test_turned_off_skips_with_the_reason(library_db, music_dir, lrclib):
    library(music_dir, lrclib)
    res = resources(library_db, music_dir, lrclib, VirtualClock())
    res["lrclib"] = LrclibResource(base_url=None)
    result = materialize(ASSETS, resources=res)
    assert metadata(result, "lyrics")["status"] == "skipped: turned off (SOULSPOT_LRCLIB_URL=off)"
    assert lrclib.count() == 0


class FailingAfter(LrclibStandin):
    """LRCLIB that answers the first ``good`` exact gets, then only 503s to them."""

    def __init__(self, good: int):
        super().__init__()
        self.good = good

    def handle(self, method, path, query, headers, body):
        if path == "/api/get" and self.count("/api/get") >= self.good:  # this request is counted once answered
            return Response(503, "<html>503 Service Temporarily Unavailable</html>")
        return super().handle(method, path, query, headers, body)


def test_a_run_stopped_half_way_keeps_what_it_was_told_and_the_next_asks_only_the_rest(library_db, music_dir):
    with FailingAfter(good=2) as flaky:
        library(music_dir, flaky)
        clock = VirtualClock()
        result = materialize(ASSETS, resources=resources(library_db, music_dir, flaky, clock))
        assert result.success
        m = metadata(result, "lyrics")
        assert m["status"].startswith("stopped early after 2 of 5 tracks") and m["asked"] == 2
        assert flaky.count("/api/get") == 5  # two answers, then one track's three attempts
        # The rate (4/s) before the second track, and before the search after its 404; then the backoff.
        assert clock.sleeps == [0.25, 0.25, 0.25, 1.0, 2.0]
        assert rows(library_db, "SELECT count(*) FROM library.lyrics") == [(2,)]
        flaky.good = 100
        materialize(ASSETS, resources=resources(library_db, music_dir, flaky, VirtualClock()))
        assert flaky.count("/api/get") == 8  # only the three not yet asked
        assert rows(library_db, "SELECT count(*), max(attempts) FROM library.lyrics") == [(5, 1)]


def test_a_track_lrclibs_exact_get_misses_is_found_by_its_search_within_2_s_and_no_further(
    library_db, music_dir, lrclib
):
    folder = music_dir / "The Artist" / "The Album"
    folder.mkdir(parents=True)
    for n, title in enumerate(["Near Song", "Far Song"], 1):
        tags = {"artist": "The Artist", "album": "The Album", "title": title, "track_number": n}
        write_audio_file(folder / f"{n:02d} {title}.flac", "flac", tags, seconds=3)
    # Another album, so the exact get misses; the search has a plain, a synced and an
    # instrumental version's record of it, all within 2 s.
    lrclib.add("Near Song", "The Artist", "Single", 4.0, plain="Only words")
    near = lrclib.add("near song", "THE ARTIST", "Live", 1.5, plain="Hello there", synced=LRC)
    lrclib.add("Near Song - Instrumental Version", "The Artist", "Single", 3.0, instrumental=True)
    lrclib.add("Far Song", "The Artist", "The Album", 13.0, plain="Too long", synced=LRC)  # 10 s off
    result = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock()))

    found = rows(
        library_db,
        "SELECT t.title, l.status, l.source, l.source_id, l.matched_album, l.reason, l.retry_after IS NOT NULL "
        "FROM library.lyrics l JOIN library.tracks t USING (track_id) ORDER BY 1",
    )
    assert found == [
        (
            "Far Song",
            "not_found",
            None,
            None,
            None,
            "no exact record; search gave 1, 1 of this artist and title, none within 2 s with lyrics",
            True,
        ),
        ("Near Song", "synced", "lrclib", str(near.record_id), "Live", "via LRCLIB search", False),
    ]
    searches = sorted(
        r.query["track_name"] + " / " + r.query["artist_name"] for r in lrclib.requests if r.path == "/api/search"
    )
    assert searches == ["Far Song / The Artist", "Near Song / The Artist"]
    assert metadata(result, "lyrics")["requests"] == 4  # a get and a search each

    again = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock()))
    assert metadata(again, "lyrics")["requests"] == 0 and lrclib.count() == 4


TOKEN = "genius-token-5Hx9qT2mWv7c"
VERSES = "First line\nsecond line\n\nThird line & more"


@pytest.fixture
def genius():
    with GeniusStandin(access_token=TOKEN) as server:
        yield server


def genius_resource(server, token=TOKEN, clock=None) -> GeniusResource:
    return GeniusResource(access_token=token, api_url=server.url, web_url=server.url, clock=clock or VirtualClock())


def test_what_lrclib_has_none_of_is_plain_lyrics_from_genius_and_a_second_run_makes_no_request(
    library_db, music_dir, lrclib, genius
):
    library(music_dir, lrclib)
    song = genius.add("Unknown Song", "The Artist", VERSES, language="fr")
    genius.add("Unknown Song", "Genius English Translations", "Not these words")  # another artist
    genius.add("Unknown Song (Instrumental Version)", "The Artist", instrumental=True)  # another title
    res = resources(library_db, music_dir, lrclib, VirtualClock(), genius=genius_resource(genius))
    result = materialize(ASSETS, resources=res)

    found = rows(
        library_db,
        "SELECT t.title, l.status, l.source, l.source_id, l.synced, l.language, l.text, l.reason, "
        "l.retry_after IS NOT NULL FROM library.lyrics l JOIN library.tracks t USING (track_id) "
        "WHERE t.title IN ('Unknown Song', 'Empty Song', 'Synced Song') ORDER BY 1",
    )
    assert found == [
        (
            "Empty Song",
            "not_found",
            None,
            None,
            False,
            None,
            None,
            "the record has no lyrics; genius: no song of this artist and title",
            True,
        ),
        ("Synced Song", "synced", "lrclib", found[1][3], True, None, LRC, None, False),
        ("Unknown Song", "plain", "genius", str(song.song_id), False, "fr", VERSES, None, False),
    ]
    # Genius is asked only about the two LRCLIB has no lyrics for; its token goes to its API only.
    assert sorted(r.query["q"] for r in genius.requests if r.path == "/search") == [
        "Empty Song The Artist",
        "Unknown Song The Artist",
    ]
    (page,) = [r for r in genius.requests if r.path != "/search"]
    assert page.path == song.path and "authorization" not in page.headers
    m = metadata(result, "lyrics")
    assert (m["genius"], m["genius_requests"], m["requests"]) == ("asked", 3, 6)
    assert m["this_run"] == {"instrumental": 1, "not_found": 1, "plain": 2, "synced": 1}
    assert m["found_by"] == {"genius": 1, "lrclib": 3}

    again = materialize(ASSETS, resources={**res, "genius": genius_resource(genius)})
    m = metadata(again, "lyrics")
    assert (m["requests"], m["genius_requests"], genius.count()) == (0, 0, 3)

    # After the retry days, "none anywhere" is asked of both again.
    with library_db.writer() as conn:
        conn.execute("UPDATE library.lyrics SET retry_after = retry_after - INTERVAL 31 DAY")
    materialize(ASSETS, resources={**res, "genius": genius_resource(genius)})
    assert genius.count("/search") == 3


def test_without_a_token_genius_is_never_asked_and_the_metadata_names_the_variable(
    library_db, music_dir, lrclib, genius
):
    library(music_dir, lrclib)
    genius.add("Unknown Song", "The Artist", VERSES)
    res = resources(library_db, music_dir, lrclib, VirtualClock(), genius=genius_resource(genius, token=None))
    m = metadata(materialize(ASSETS, resources=res), "lyrics")
    assert genius.count() == 0
    assert m["genius"] == "not configured (GENIUS_ACCESS_TOKEN is not set)" and m["genius_requests"] == 0
    assert rows(library_db, "SELECT count(*) FROM library.lyrics WHERE source = 'genius'") == [(0,)]


def test_a_refused_token_stops_genius_with_a_message_naming_the_variable_and_keeps_lrclibs_answers(
    library_db, music_dir, lrclib, genius, caplog
):
    caplog.set_level(logging.DEBUG)  # httpx's own lines too
    library(music_dir, lrclib)
    genius.add("Unknown Song", "The Artist", VERSES)
    wrong = "wrong-token-8Pz4kL1nQs3d"
    res = resources(library_db, music_dir, lrclib, VirtualClock(), genius=genius_resource(genius, token=wrong))
    result = materialize(ASSETS, resources=res)

    assert result.success
    m = metadata(result, "lyrics")
    assert m["genius"].startswith("stopped: Genius refused GENIUS_ACCESS_TOKEN (HTTP 401)")
    assert genius.count() == 1 and m["genius_requests"] == 1  # not retried, not asked again this run
    assert statuses(library_db) == [
        ("Empty Song", "not_found", None, False, False, 1, True),
        ("Plain Song", "plain", "lrclib", False, False, 1, False),
        ("Quiet Song", "instrumental", "lrclib", False, True, 1, False),
        ("Synced Song", "synced", "lrclib", True, False, 1, False),
        ("Unknown Song", "not_found", None, False, False, 1, True),
    ]
    # Genius not asked: tomorrow, not in the retry days.
    waits = rows(
        library_db,
        "SELECT DISTINCT date_diff('hour', fetched_at, retry_after), reason LIKE '%genius not asked' "
        "FROM library.lyrics WHERE status = 'not_found'",
    )
    assert waits == [(24, True)]
    shown = " ".join([str(m), caplog.text, *(str(e.message) for e in result.all_events if e.message is not None)])
    assert "GENIUS_ACCESS_TOKEN" in shown and wrong not in shown and TOKEN not in shown
