"""Lyrics decisions, without Dagster, DuckDB or HTTP: which answer is kept, LRC parsing, retry dates, file names."""

from datetime import datetime, timedelta
from pathlib import PurePath

from soulspot_pipeline.domain.lyrics import (
    FAILED,
    INSTRUMENTAL,
    NOT_FOUND,
    PLAIN,
    SYNCED,
    LyricsRecord,
    LyricsState,
    choose,
    file_text,
    is_synced_lrc,
    lrc_to_plain,
    lyrics_file_path,
    needs_fetch,
    parse_lrc,
    query_duration_s,
    retry_after,
)
from soulspot_pipeline.domain.run_summary import PhaseOutcome, phase_lines

NOW = datetime(2026, 12, 2, 12, 0)
LRC = "[ar:Someone]\n[00:12.34] First line\n[00:49.72] \n[01:02.5] Second line\n[03:25.72] "


def record(**kwargs) -> LyricsRecord:
    base = dict(
        source="lrclib",
        source_id="1",
        title="Song",
        artist="Artist",
        album="Album",
        duration_s=200.0,
        instrumental=False,
        plain=None,
        synced=None,
    )
    return LyricsRecord(**{**base, **kwargs})


def test_lrc_lines_are_parsed_in_time_order_with_headers_left_out_and_empty_timed_lines_kept():
    assert parse_lrc(LRC) == [(12340, "First line"), (49720, ""), (62500, "Second line"), (205720, "")]
    assert parse_lrc("[00:05.00][00:01.00] twice") == [(1000, "twice"), (5000, "twice")]
    assert parse_lrc("no stamps at all\n[00:99.00] bad seconds") == []
    assert lrc_to_plain(LRC) == "First line\n\nSecond line"


def test_synced_needs_at_least_one_timed_line_with_words():
    assert is_synced_lrc(LRC)
    assert not is_synced_lrc("[00:01.00] \n[00:02.00] ")
    assert not is_synced_lrc("just words")
    assert not is_synced_lrc(None)


def test_synced_lyrics_win_over_plain_and_plain_only_is_kept_as_plain():
    assert choose(record(plain="words", synced=LRC)) == choose(record(synced=LRC))
    assert choose(record(plain="words", synced=LRC)).status == SYNCED
    assert choose(record(plain="words\n")).status == PLAIN and choose(record(plain="words\n")).text == "words"


def test_unparseable_synced_text_falls_back_to_plain_words_or_its_own_text():
    choice = choose(record(synced="not really lrc"))
    assert (choice.status, choice.text) == (PLAIN, "not really lrc")
    assert choose(record(plain="the words", synced="[00:01.00] ")).text == "the words"


def test_instrumental_and_empty_records_and_no_record():
    assert choose(record(instrumental=True, plain="ignored")).status == INSTRUMENTAL
    assert choose(record()).status == NOT_FOUND
    assert choose(None).status == NOT_FOUND


def test_answers_are_kept_for_good_and_not_found_is_asked_again_after_the_retry_days():
    assert needs_fetch(None, NOW)
    for status in (SYNCED, PLAIN, INSTRUMENTAL):
        assert not needs_fetch(LyricsState(status, None), NOW)
    later = retry_after(NOT_FOUND, NOW, 30)
    assert later == NOW + timedelta(days=30)
    assert not needs_fetch(LyricsState(NOT_FOUND, later), NOW + timedelta(days=29))
    assert needs_fetch(LyricsState(NOT_FOUND, later), NOW + timedelta(days=30))
    assert retry_after(FAILED, NOW, 30) == NOW + timedelta(days=1)
    assert retry_after(SYNCED, NOW, 30) is None


def test_query_duration_is_whole_seconds_within_what_lrclib_accepts():
    assert query_duration_s(233_400) == 233
    assert query_duration_s(None) is None
    assert query_duration_s(300) is None  # under a second
    assert query_duration_s(3_601_000) is None


def test_lyrics_files_sit_beside_the_audio_with_its_name():
    assert lyrics_file_path("/m/A/B/01 Song.flac", True) == PurePath("/m/A/B/01 Song.lrc")
    assert lyrics_file_path("/m/A/B/01 Song.v2.mp3", False) == PurePath("/m/A/B/01 Song.v2.txt")
    assert file_text("a\nb\n\n") == b"a\nb\n"


def test_the_console_line_gives_the_counts_what_was_written_and_why_asking_stopped():
    (line,) = phase_lines(
        PhaseOutcome(
            "lyrics",
            "materialized",
            {
                "status": "fetched",
                "looked_for": 5,
                "this_run": {"synced": 2, "not_found": 1, "plain": 0},
                "files_written": 2,
                "tags_embedded": 0,
            },
        )
    )
    assert line.split(None, 1)[1] == "5 looked for; synced 2, not_found 1; 2 files"
    (stopped,) = phase_lines(
        PhaseOutcome("lyrics", "materialized", {"status": "stopped early after 1 of 5 tracks: boom", "looked_for": 5})
    )
    assert stopped.endswith("5 looked for; stopped early after 1 of 5 tracks: boom")
    (skipped,) = phase_lines(
        PhaseOutcome("lyrics", "materialized", {"status": "skipped: turned off (SOULSPOT_LRCLIB_URL=off)"})
    )
    assert skipped.endswith("skipped: turned off (SOULSPOT_LRCLIB_URL=off)")
