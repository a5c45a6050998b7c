"""Lyrics decisions, without Dagster, DuckDB or HTTP: which answer is kept, LRC parsing, retry dates, file names."""

from datetime import datetime, timedelta
from pathlib import PurePath

from soulspot_pipeline.domain.lyrics import (
    FAILED,
    INSTRUMENTAL,
    NOT_FOUND,
    PLAIN,
    SYNCED,
    GeniusHit,
    LyricsChoice,
    LyricsRecord,
    LyricsState,
    LyricsTarget,
    best_genius_hit,
    best_search_record,
    choose,
    choose_from_search,
    file_text,
    genius_record,
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


def searched(**kwargs) -> LyricsTarget:
    return LyricsTarget(
        **{
            **dict(
                track_id="t", title="Song", artist="Artist", album="Album", duration_ms=200_000, local_path="/m/s.flac"
            ),
            **kwargs,
        }
    )


def test_a_search_result_must_be_the_same_artist_and_title_and_within_2_s():
    near = record(source_id="near", duration_s=201.9, plain="words")
    assert best_search_record(searched(), [near]) == near
    assert best_search_record(searched(title="the song!"), [near]) == near  # normalized names
    assert best_search_record(searched(), [record(duration_s=210.0, synced=LRC)]) is None  # 10 s off
    assert best_search_record(searched(duration_ms=None), [record(duration_s=210.0, synced=LRC)]) is not None
    assert best_search_record(searched(), [record(artist="Other", synced=LRC)]) is None
    assert best_search_record(searched(), [record(title="Song (Live)", synced=LRC)]) is None
    assert best_search_record(searched(), [record(duration_s=200.0)]) is None  # no lyrics, not instrumental


def test_synced_beats_plain_beats_instrumental_then_the_album_then_the_closer_length():
    plain = record(source_id="plain", plain="words")
    synced_far = record(source_id="synced-far", album="Other", duration_s=201.5, synced=LRC)
    synced_near = record(source_id="synced-near", album="Other", duration_s=200.2, synced=LRC)
    synced_album = record(source_id="synced-album", duration_s=201.5, synced=LRC)
    quiet = record(source_id="quiet", instrumental=True)
    assert best_search_record(searched(), [plain, quiet, synced_far, synced_near]).source_id == "synced-near"
    assert best_search_record(searched(), [synced_near, synced_album]).source_id == "synced-album"
    assert best_search_record(searched(), [quiet, plain]).source_id == "plain"
    # A record marked instrumental is an answer too.
    found, choice = choose_from_search(searched(), [quiet])
    assert found == quiet and (choice.status, choice.reason) == (INSTRUMENTAL, "via LRCLIB search; marked instrumental")


def test_what_the_search_found_says_so_and_why_nothing_would_do():
    _, choice = choose_from_search(searched(), [record(synced=LRC)])
    assert (choice.status, choice.reason) == (SYNCED, "via LRCLIB search")
    assert choose_from_search(searched(), []) == (
        None,
        LyricsChoice(NOT_FOUND, reason="no record; search gave none"),
    )
    _, far = choose_from_search(searched(), [record(duration_s=212.0, synced=LRC), record(title="Other")])
    assert far.status == NOT_FOUND
    assert far.reason == "no exact record; search gave 2, 1 of this artist and title, none within 2 s with lyrics"


def hit(title="Song", artists=("Artist",), state="complete", instrumental=False, song_id="1") -> GeniusHit:
    return GeniusHit(song_id, title, artists, f"/{song_id}", state, instrumental, "en")


def test_the_genius_hit_kept_is_the_first_of_the_tracks_artist_and_title_with_complete_lyrics():
    assert best_genius_hit(searched(), []) is None
    assert best_genius_hit(searched(), [hit(artists=("Other",)), hit(song_id="2")]).song_id == "2"
    assert best_genius_hit(searched(), [hit(artists=("Other", "Artist"))]) is not None  # either primary artist
    assert best_genius_hit(searched(title="Song (feat. Guest)"), [hit()]) is not None  # Genius titles have no guests
    assert best_genius_hit(searched(title="Song - 2011 Remaster"), [hit()]) is not None
    assert best_genius_hit(searched(), [hit(title="Song (Instrumental Version)", instrumental=True)]) is None
    assert best_genius_hit(searched(), [hit(state="unreleased")]) is None
    quiet = best_genius_hit(searched(), [hit(state="unreleased", instrumental=True)])
    assert quiet is not None and choose(genius_record(quiet, None)).status == INSTRUMENTAL


def test_a_genius_record_is_plain_lyrics_with_its_language_and_no_album_or_length():
    record_ = genius_record(hit(), "words\n")
    assert (record_.source, record_.album, record_.duration_s, record_.language) == ("genius", None, None, "en")
    assert choose(record_) == LyricsChoice(PLAIN, "words")
    assert choose(genius_record(hit(), None)).status == NOT_FOUND
