"""Lyrics: which answer a track keeps, whether LRC text is really synced, when to ask again,
and where a lyrics file goes. Plain functions over plain data, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import PurePath

LRCLIB = "lrclib"

# What a track's row says; the first three are answers kept for good.
SYNCED, PLAIN, INSTRUMENTAL, NOT_FOUND, FAILED = "synced", "plain", "instrumental", "not_found", "failed"
STATUSES = (SYNCED, PLAIN, INSTRUMENTAL, NOT_FOUND, FAILED)
FOUND = (SYNCED, PLAIN)
# A refusal of this one track (a validation error): asked again after a day, not every run.
FAILED_RETRY = timedelta(days=1)

# LRCLIB's duration parameter must lie in 1..3600 seconds.
MIN_DURATION_S, MAX_DURATION_S = 1, 3600

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
