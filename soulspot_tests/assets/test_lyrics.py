"""Lyrics end to end: httpx against the local LRCLIB stand-in, materialized by Dagster into a
tmp_path DuckDB built from real tagged audio files."""

import mutagen
import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.assets.lyrics import lyrics
from soulspot_pipeline.devkit.standins.lrclib import LrclibStandin
from soulspot_pipeline.devkit.standins.server import Response
from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.resources.deezer import DeezerResource
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


def resources(library_db, music_dir, lrclib, clock, *, files=False, tags=False, url=None):
    return {
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
    assert m["dagster/row_count"] == 5 and m["requests"] == 6 and "Synced Song" in m["preview"]

    again = materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock(), files=True))
    assert lrclib.count("/api/get") == 6  # not one request more
    m = metadata(again, "lyrics")
    assert (m["looked_for"], m["requests"], m["files_written"]) == (0, 0, 0)

    # Once the retry date has come, only "none anywhere" is asked again.
    with library_db.writer() as conn:
        conn.execute("UPDATE library.lyrics SET retry_after = retry_after - INTERVAL 31 DAY")
    materialize(ASSETS, resources=resources(library_db, music_dir, lrclib, VirtualClock()))
    assert lrclib.count("/api/get") == 8
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
    """LRCLIB that answers the first ``good`` questions, then only 503s."""

    def __init__(self, good: int):
        super().__init__()
        self.good = good

    def handle(self, method, path, query, headers, body):
        if self.count("/api/get") >= self.good:  # this request is counted once answered
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
        assert clock.sleeps == [0.25, 0.25, 1.0, 2.0]  # the rate (4/s), then the backoff
        assert rows(library_db, "SELECT count(*) FROM library.lyrics") == [(2,)]
        flaky.good = 100
        materialize(ASSETS, resources=resources(library_db, music_dir, flaky, VirtualClock()))
        assert flaky.count("/api/get") == 8  # only the three not yet asked
        assert rows(library_db, "SELECT count(*), max(attempts) FROM library.lyrics") == [(5, 1)]
