"""Lyrics: which answer a track keeps, whether LRC text is really synced, when to ask again,
and where a lyrics file goes. Plain functions over plain data, no I/O."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import PurePath

from soulspot_pipeline.domain.matching import track_title_key
from soulspot_pipeline.domain.text import normalize_name

LRCLIB = "lrclib"
GENIUS = "genius"

# What a track's row says; the first three are answers kept for good.
SYNCED, PLAIN, INSTRUMENTAL, NOT_FOUND, FAILED = "synced", "plain", "instrumental", "not_found", "failed"
STATUSES = (SYNCED, PLAIN, INSTRUMENTAL, NOT_FOUND, FAILED)
FOUND = (SYNCED, PLAIN)
# A refusal of this one track (a validation error): asked again after a day, not every run.
FAILED_RETRY = timedelta(days=1)

# LRCLIB's duration parameter must lie in 1..3600 seconds.
MIN_DURATION_S, MAX_DURATION_S = 1, 3600
# A search result further from the track's length than this is another recording (LRCLIB's
# own /api/get allows the same).
SEARCH_DURATION_SLACK_S = 2.0
# Written in ``reason`` when LRCLIB's search, not its exact get, found the record.
VIA_SEARCH = "via LRCLIB search"

# [mm:ss.xx] or [mm:ss] (any number of timestamps before one line of text), and [tag:value] headers.
_STAMP = re.compile(r"\[(\d{1,3}):(\d{2})(?:[.:](\d{1,3}))?\]")
_HEADER = re.compile(r"^\[[a-zA-Z#]+:[^\]]*\]\s*$")


@dataclass(frozen=True, slots=True)
class LyricsTarget:
    """An owned track on disk, as the lyrics services are asked about it."""

    track_id: str
    title: str
    artist: str
    album: str | None
    duration_ms: int | None
    local_path: str


@dataclass(frozen=True, slots=True)
class LyricsRecord:
    """One record a lyrics service answered (LRCLIB's ``TrackResponse``)."""

    source: str
    source_id: str | None
    title: str | None
    artist: str | None
    album: str | None
    duration_s: float | None
    instrumental: bool
    plain: str | None
    synced: str | None
    language: str | None = None


@dataclass(frozen=True, slots=True)
class GeniusHit:
    """A song Genius's search found: its page holds the lyrics."""

    song_id: str
    title: str
    artist_names: tuple[str, ...]  # the primary artist first, then the others credited as primary
    path: str
    lyrics_state: str | None
    instrumental: bool
    language: str | None


@dataclass(frozen=True, slots=True)
class LyricsChoice:
    """What a track keeps from an answer: its status and, when found, the text (LRC when synced)."""

    status: str
    text: str | None = None
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class LyricsState:
    """A track's row, as far as deciding whether to ask again needs it."""

    status: str
    retry_after: datetime | None


def parse_lrc(text: str) -> list[tuple[int, str]]:
    """The timed lines of LRC text as (milliseconds, line), in time order; headers and
    untimed lines are left out. A line with several timestamps counts at each."""
    timed: list[tuple[int, str]] = []
    for raw in text.splitlines():
        line = raw.strip()
        if not line or _HEADER.match(line):
            continue
        stamps = []
        position = 0
        while match := _STAMP.match(line, position):
            minutes, seconds, fraction = match.groups()
            if int(seconds) >= 60:
                break
            ms = int(fraction.ljust(3, "0")[:3]) if fraction else 0
            stamps.append((int(minutes) * 60 + int(seconds)) * 1000 + ms)
            position = match.end()
        words = line[position:].strip()
        timed.extend((stamp, words) for stamp in stamps)
    return sorted(timed, key=lambda pair: pair[0])


def is_synced_lrc(text: str | None) -> bool:
    """Whether ``text`` is LRC with at least one timed line of words (not only bare stamps)."""
    return bool(text) and any(words for _, words in parse_lrc(text or ""))


def lrc_to_plain(text: str) -> str:
    """The words of LRC text without its timestamps, one line each, blank lines kept."""
    return "\n".join(words for _, words in parse_lrc(text)).strip()


def choose(record: LyricsRecord | None) -> LyricsChoice:
    """Synced lyrics when they parse, else plain ones (or the words of an LRC text that
    does not), else instrumental, else nothing."""
    if record is None:
        return LyricsChoice(NOT_FOUND, reason="no record")
    if record.instrumental:
        return LyricsChoice(INSTRUMENTAL, reason="marked instrumental")
    if is_synced_lrc(record.synced):
        return LyricsChoice(SYNCED, (record.synced or "").strip("\n"))
    plain = (record.plain or "").strip()
    if plain:
        return LyricsChoice(PLAIN, plain)
    if record.synced and record.synced.strip():
        words = lrc_to_plain(record.synced) or record.synced.strip()
        return LyricsChoice(PLAIN, words, reason="synced text without valid timestamps")
    return LyricsChoice(NOT_FOUND, reason="the record has no lyrics")


def _search_rank(target: LyricsTarget, record: LyricsRecord) -> tuple[int, bool, float]:
    """Synced before plain before instrumental, then the track's album, then the closest length."""
    kind = 0 if is_synced_lrc(record.synced) else 1 if (record.plain or record.synced) else 2
    other_album = normalize_name(record.album) != normalize_name(target.album)
    delta = abs(record.duration_s - target.duration_ms / 1000) if record.duration_s and target.duration_ms else 0.0
    return kind, other_album, delta


def best_search_record(target: LyricsTarget, records: Sequence[LyricsRecord]) -> LyricsRecord | None:
    """The search result a track keeps: the same artist and title once normalized, its length
    within ``SEARCH_DURATION_SLACK_S`` when both are known, and lyrics or an instrumental mark.

    Titles are compared whole, so "Song - Instrumental Version" never stands in for "Song".
    """
    artist, title = normalize_name(target.artist), normalize_name(target.title)
    fitting = [
        r
        for r in records
        if normalize_name(r.artist) == artist
        and normalize_name(r.title) == title
        and (
            r.duration_s is None
            or target.duration_ms is None
            or abs(r.duration_s - target.duration_ms / 1000) <= SEARCH_DURATION_SLACK_S
        )
        and choose(r).status in (SYNCED, PLAIN, INSTRUMENTAL)
    ]
    return min(fitting, key=lambda r: _search_rank(target, r), default=None)


def choose_from_search(
    target: LyricsTarget, records: Sequence[LyricsRecord]
) -> tuple[LyricsRecord | None, LyricsChoice]:
    """What a track keeps when LRCLIB's exact get had nothing: the best search result, its
    choice saying it came from the search, or why none of the results would do."""
    best = best_search_record(target, records)
    if best is None:
        same = sum(
            1
            for r in records
            if normalize_name(r.artist) == normalize_name(target.artist)
            and normalize_name(r.title) == normalize_name(target.title)
        )
        why = f"no exact record; search gave {len(records)}, {same} of this artist and title, none within {SEARCH_DURATION_SLACK_S:.0f} s with lyrics"
        return None, LyricsChoice(NOT_FOUND, reason=why if records else "no record; search gave none")
    choice = choose(best)
    return best, replace(choice, reason=f"{VIA_SEARCH}; {choice.reason}" if choice.reason else VIA_SEARCH)


def best_genius_hit(target: LyricsTarget, hits: Sequence[GeniusHit]) -> GeniusHit | None:
    """The first hit that is this track: one of its primary artists is the track's artist and
    title is the track's once normalized (the track's also without featured artists and edition
    notes: Genius's titles have neither), and its lyrics are complete or it is marked
    instrumental. Genius knows no lengths or albums; its "Song (Instrumental Version)" stays
    another song."""
    artist = normalize_name(target.artist)
    titles = {normalize_name(target.title), track_title_key(target.title)}
    for hit in hits:
        if artist not in {normalize_name(name) for name in hit.artist_names}:
            continue
        if normalize_name(hit.title) not in titles:
            continue
        if hit.instrumental or hit.lyrics_state == "complete":
            return hit
    return None


def genius_record(hit: GeniusHit, text: str | None) -> LyricsRecord:
    """A Genius song as a record: plain lyrics only, no album or length."""
    return LyricsRecord(
        source=GENIUS,
        source_id=hit.song_id,
        title=hit.title,
        artist=hit.artist_names[0] if hit.artist_names else None,
        album=None,
        duration_s=None,
        instrumental=hit.instrumental,
        plain=text,
        synced=None,
        language=hit.language,
    )


def needs_fetch(state: LyricsState | None, now: datetime) -> bool:
    """Ask for a track never asked, or one whose retry date has come; found and
    instrumental answers are kept for good."""
    if state is None:
        return True
    if state.status in (SYNCED, PLAIN, INSTRUMENTAL):
        return False
    return state.retry_after is None or now >= state.retry_after


def retry_after(status: str, now: datetime, retry_days: float) -> datetime | None:
    """When a track with this status is asked again: never for an answer, after the retry
    days for "none anywhere", after a day for a refusal."""
    if status == NOT_FOUND:
        return now + timedelta(days=retry_days)
    if status == FAILED:
        return now + FAILED_RETRY
    return None


def query_duration_s(duration_ms: int | None) -> int | None:
    """The duration to send, in whole seconds, or None when outside what LRCLIB accepts."""
    if duration_ms is None:
        return None
    seconds = round(duration_ms / 1000)
    return seconds if MIN_DURATION_S <= seconds <= MAX_DURATION_S else None


def lyrics_file_path(audio_path: str, synced: bool) -> PurePath:
    """Beside the audio file, with its name: ``.lrc`` for synced lyrics, ``.txt`` for plain."""
    return PurePath(audio_path).with_suffix(".lrc" if synced else ".txt")


def file_text(text: str) -> bytes:
    """A lyrics file's bytes: UTF-8, one trailing newline."""
    return (text.rstrip("\n") + "\n").encode("utf-8")
