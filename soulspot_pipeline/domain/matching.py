"""Fuzzy identity of tracks and albums when no identifier links them.

Used only after MBID, ISRC, provider id and exact normalized name found nothing, and
only among tracks of the same artist: "Hello" by Adele never meets "Hello" by Lionel
Richie. The title must be close on its own; album and duration then have to agree
enough that a live take or a different song of the same name stays apart.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rapidfuzz import fuzz

from soulspot_pipeline.domain.text import normalize_name

TITLE_WEIGHT, ALBUM_WEIGHT, DURATION_WEIGHT = 0.6, 0.2, 0.2
MIN_TITLE = 0.88
ACCEPT = 0.90
# Durations this close are the same recording; this far apart they never are.
DURATION_SAME_S, DURATION_DIFFERENT_S = 3.0, 15.0

_EDITION_WORDS = (
    r"remaster(?:ed)?|deluxe|expanded|anniversary|edition|bonus|special|collector'?s|"
    r"reissue|version|super deluxe|\d{4}"
)
_EDITION = re.compile(rf"\s*[\(\[][^\)\]]*\b(?:{_EDITION_WORDS})\b[^\)\]]*[\)\]]", re.IGNORECASE)
_DASH_EDITION = re.compile(rf"\s+-\s+[^-]*\b(?:{_EDITION_WORDS})\b.*$", re.IGNORECASE)
# "feat." anywhere, but "with" only in brackets: "Stay With Me" is a title, "(with X)" a credit.
_FEATURING = re.compile(
    r"\s*[\(\[]\s*(?:feat\.?|ft\.?|featuring|with)\s+[^\)\]]*[\)\]]|\s+(?:feat\.|ft\.|featuring)\s+.*$",
    re.IGNORECASE,
)


def base_title(title: str | None) -> str:
    """A title without edition notes: "Tank (Remastered)", "Tank - 2011 Remaster" -> "tank"."""
    text = _EDITION.sub("", title or "")
    text = _DASH_EDITION.sub("", text)
    return normalize_name(text) or normalize_name(title)


def track_title_key(title: str | None) -> str:
    """A track title without featured artists or edition notes, normalized."""
    return base_title(_FEATURING.sub("", title or "")) or normalize_name(title)


@dataclass(frozen=True, slots=True)
class TrackFacts:
    title: str
    album: str | None
    duration_ms: int | None


@dataclass(frozen=True, slots=True)
class MatchScore:
    title: float
    album: float
    duration: float
    total: float
    accepted: bool


def length_gap(a_ms: int | None, b_ms: int | None, free_s: float, full_s: float) -> float | None:
    """0 within ``free_s`` seconds, 1 from ``full_s`` apart, linear between; None when a length is unknown."""
    if not a_ms or not b_ms:
        return None
    delta = abs(a_ms - b_ms) / 1000
    if delta <= free_s:
        return 0.0
    return min(1.0, (delta - free_s) / (full_s - free_s))


def duration_score(a: int | None, b: int | None) -> float | None:
    """1 within a few seconds, 0 from far apart, linear between; None when a length is unknown."""
    gap = length_gap(a, b, DURATION_SAME_S, DURATION_DIFFERENT_S)
    return None if gap is None else 1 - gap


def score_tracks(wanted: TrackFacts, candidate: TrackFacts) -> MatchScore:
    """How surely two tracks of the same artist are one; unknown parts count half."""
    title = fuzz.ratio(track_title_key(wanted.title), track_title_key(candidate.title)) / 100
    album = 0.5
    if wanted.album and candidate.album:
        album = fuzz.token_set_ratio(base_title(wanted.album), base_title(candidate.album)) / 100
    duration = duration_score(wanted.duration_ms, candidate.duration_ms)
    total = TITLE_WEIGHT * title + ALBUM_WEIGHT * album + DURATION_WEIGHT * (0.5 if duration is None else duration)
    accepted = title >= MIN_TITLE and duration != 0.0 and total >= ACCEPT
    return MatchScore(
        round(title, 3), round(album, 3), round(duration if duration is not None else 0.5, 3), round(total, 3), accepted
    )
