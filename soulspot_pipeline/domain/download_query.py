"""What to type into a Soulseek search for a wanted track.

Soulseek peers match every word of a query against their file paths, so a query only finds
files whose path holds all of its words. Queries therefore keep just the words a file name is
sure to carry: no featured artists, no edition notes, no punctuation. Version words ("live",
"remix", ...) stay when the wanted title has them: they name a different recording.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

VERSION_WORDS = ("live", "remix", "karaoke", "instrumental", "acoustic", "demo", "cover")

_FEAT = r"(?:feat\.?|ft\.?|featuring)"
_FEAT_BRACKET = re.compile(rf"[\(\[]\s*(?:{_FEAT}|with)\s+([^\)\]]*)[\)\]]", re.IGNORECASE)
# Unbracketed "feat. X" runs to the next bracket or " - " note; bare "with" is left alone
# because it is often part of a title ("Stay With Me").
_FEAT_TAIL = re.compile(rf"(?<!\w){_FEAT}\s+(.*?)(?=\s+[-–—]\s+|[\(\[]|$)", re.IGNORECASE)
_BRACKET = re.compile(r"[\(\[\{]([^\)\]\}]*)[\)\]\}]")
_DASH_NOTE = re.compile(r"\s+[-–—]\s+(.*)$")
_SPACES = re.compile(r"\s+")
# Fewer letters and digits than this match nearly every file; Soulseek servers ignore such queries.
MIN_QUERY_CHARS = 3


@dataclass(frozen=True, slots=True)
class WantedTrack:
    track_id: str
    artist: str
    title: str
    album: str | None = None
    duration_ms: int | None = None
    track_number: int | None = None
    disc_number: int | None = None
    album_track_count: int | None = None
    isrc: str | None = None
    recording_mbid: str | None = None


@dataclass(frozen=True, slots=True)
class SearchQuery:
    tier: str
    text: str


@dataclass(frozen=True, slots=True)
class TitleParts:
    """A title split into the words every copy carries and the notes some copies add.

    "One More Time (feat. X) - Radio Edit" -> core "One More Time", notes ("Radio Edit",),
    featured ("X",).
    """

    core: str
    notes: tuple[str, ...]
    featured: tuple[str, ...]


def drop_featuring(text: str) -> tuple[str, tuple[str, ...]]:
    """Text without "(feat. X)", "ft. X", "(with X)" credits, and the featured names."""
    featured = [m.strip() for m in _FEAT_BRACKET.findall(text) if m.strip()]
    text = _FEAT_BRACKET.sub(" ", text)
    featured += [m.strip() for m in _FEAT_TAIL.findall(text) if m.strip()]
    return _FEAT_TAIL.sub(" ", text), tuple(featured)


def split_title(title: str | None) -> TitleParts:
    """Separate featured artists, bracketed notes and a " - note" suffix from a title or name."""
    text, featured = drop_featuring(title or "")
    notes = [m.strip() for m in _BRACKET.findall(text) if m.strip()]
    text = _BRACKET.sub(" ", text)
    dash = _DASH_NOTE.search(text)
    if dash and text[: dash.start()].strip():
        notes.append(dash.group(1).strip())
        text = text[: dash.start()]
    core = _SPACES.sub(" ", text).strip()
    if not core:
        # A title made only of brackets ("(Untitled)") is its own core.
        core, notes = " ".join(notes), []
    return TitleParts(core, tuple(notes), featured)


def _query_words(text: str | None) -> list[str]:
    """Lowercase words of letters (any script), marks and digits; everything else splits words."""
    text = unicodedata.normalize("NFC", text or "").lower()
    kept = "".join(c if unicodedata.category(c)[0] in "LMN" else " " for c in text)
    return kept.split()


def _version_words_in(parts: TitleParts, words: tuple[str, ...] = VERSION_WORDS) -> list[str]:
    """Version words a title's notes name: "Song (Live at Wembley)" -> ["live"]."""
    found: list[str] = []
    for note in parts.notes:
        for word in _query_words(note):
            if word in words and word not in found:
                found.append(word)
    return found


def search_queries(track: WantedTrack) -> list[SearchQuery]:
    """Queries from most to least specific: artist+title, title+album, title alone."""
    title = split_title(track.title)
    title_words = _query_words(title.core) + [w for w in _version_words_in(title) if w not in _query_words(title.core)]
    artist_words = _query_words(split_title(track.artist).core)
    album_words = _query_words(split_title(track.album).core) if track.album else []
    tiers = (
        ("artist_title", artist_words + title_words if artist_words and title_words else []),
        ("title_album", title_words + album_words if album_words and title_words else []),
        ("title", title_words),
    )
    queries: list[SearchQuery] = []
    seen: set[str] = set()
    for tier, words in tiers:
        # A word twice adds nothing: peers match words, not phrases.
        words = list(dict.fromkeys(words))
        text = " ".join(words)
        if not _specific_enough(words) or text in seen:
            continue
        seen.add(text)
        queries.append(SearchQuery(tier, text))
    return queries


def album_query(artist: str, album: str | None) -> SearchQuery | None:
    """The query for a whole album (``album`` tier): artist and album title, edition notes left out."""
    words = list(dict.fromkeys(_query_words(split_title(artist).core) + _query_words(split_title(album).core)))
    if not album or not _specific_enough(words):
        return None
    return SearchQuery("album", " ".join(words))


def _specific_enough(words: list[str]) -> bool:
    if not words:
        return False
    if len(words) == 1 and len(words[0]) <= 2:
        return False
    return sum(len(w) for w in words) >= MIN_QUERY_CHARS
