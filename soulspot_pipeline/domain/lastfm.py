"""What Last.fm says about an artist or an album, as the library's genres and similar artists.

Last.fm's tags are free text typed by listeners: genres ("trip hop"), but also opinions
("favorites", "awesome"), habits ("seen live", "albums i own"), years and decades ("1998",
"80s"), places ("french") and the artist's own name. Only genre-like tags are kept: those
with a weight (Last.fm's ``count``, 0-100 relative to the top tag) at or above a threshold,
not on the denylist, not a year or decade, and not the name of the artist or the album.

Plain data in (tag names and counts as the XML gives them: strings), plain data out.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

DEFAULT_MIN_WEIGHT = 10  # of 100: the top tag always has 100
MAX_GENRES = 5  # as many as MusicBrainz's top tags give (domain/enrich.py)

# Tags that say something about the listener or the record, not the music's genre.
NON_GENRES: frozenset[str] = frozenset(
    {
        "seen live",
        "favorites",
        "favourites",
        "favorite",
        "favourite",
        "albums i own",
        "albums i want",
        "owned",
        "own it",
        "love",
        "loved",
        "awesome",
        "amazing",
        "beautiful",
        "best",
        "cool",
        "good",
        "great",
        "epic",
        "classic",
        "classics",
        "masterpiece",
        "check out",
        "to listen",
        "wishlist",
        "spotify",
        "vinyl",
        "cd",
        "music",
        "all",
        "other",
        "unknown",
        "albums",
        "album",
        "female vocalists",
        "male vocalists",
        "female vocalist",
        "male vocalist",
        "female fronted",
        "british",
        "american",
        "english",
        "uk",
        "usa",
        "us",
        "german",
        "french",
        "swedish",
        "canadian",
        "australian",
        "japanese",
        "irish",
        "scottish",
        "icelandic",
        "norwegian",
        "finnish",
        "italian",
        "spanish",
    }
)
# Phrases that mark a tag as personal wherever they occur in it ("my favorite albums", "under 2000 listeners").
_NON_GENRE_PATTERN = re.compile(
    r"\b(?:fav(?:ou?rites?)?|faves?|seen live|i own|my|wishlist|to listen|listened|check out|"
    r"under \d+ listeners|spotify|vinyl|albums? of (?:the|\d{4}))\b"
)
# 1998, 1990s, 90s, 90's, '90s, 2000s: a time, not a genre.
_YEAR_OR_DECADE = re.compile(r"^(?:'?\d{2}'?s|\d{4}'?s?|\d{4}\s*-\s*\d{4})$")
_SPACES = re.compile(r"\s+")


def normalize_tag(name: str) -> str:
    """A tag as the library stores genres: lower case, single spaces, ``_`` as a space."""
    return _SPACES.sub(" ", name.replace("_", " ")).strip().lower()


def tag_weight(count: Any) -> int:
    """Last.fm's ``count``: a number, a string ("100"), or missing (0)."""
    if isinstance(count, bool):
        return 0
    if isinstance(count, int | float):
        return int(count)
    try:
        return int(float(str(count).strip()))
    except ValueError:
        return 0


def is_genre(tag: str, *, not_names: Iterable[str] = ()) -> bool:
    """Whether a normalized tag reads as a genre (and is not one of ``not_names``, normalized)."""
    if not tag or tag in NON_GENRES or _YEAR_OR_DECADE.match(tag) or _NON_GENRE_PATTERN.search(tag):
        return False
    return tag not in {normalize_tag(n) for n in not_names if n}


def genres_from_tags(
    tags: Iterable[Mapping[str, Any]],
    *,
    min_weight: int = DEFAULT_MIN_WEIGHT,
    not_names: Iterable[str] = (),
    limit: int = MAX_GENRES,
) -> list[str]:
    """The genre-like tags of ``tags`` (``{"name", "count"}``), heaviest first, at most ``limit``.

    ``not_names`` are the artist's and the album's names: a tag that only repeats them is dropped."""
    names = list(not_names)
    best: dict[str, int] = {}
    for tag in tags:
        name = normalize_tag(str(tag.get("name") or ""))
        weight = tag_weight(tag.get("count"))
        if weight < min_weight or not is_genre(name, not_names=names):
            continue
        best[name] = max(weight, best.get(name, 0))
    return [name for name, _ in sorted(best.items(), key=lambda t: (-t[1], t[0]))][:limit]


@dataclass(frozen=True)
class SimilarArtist:
    name: str
    mbid: str | None
    match: float  # 0..1, as Last.fm gives it


def similar_artists(listed: Iterable[Mapping[str, Any]]) -> list[SimilarArtist]:
    """Last.fm's similar artists (``{"name", "mbid", "match"}``, strings), best match first;
    nameless ones are left out, an empty MBID is None, a match that is no number is 0."""
    found: dict[str, SimilarArtist] = {}
    for item in listed:
        name = _SPACES.sub(" ", str(item.get("name") or "")).strip()
        if not name:
            continue
        try:
            match = float(str(item.get("match") or "0").strip())
        except ValueError:
            match = 0.0
        mbid = str(item.get("mbid") or "").strip() or None
        if name.casefold() not in found or found[name.casefold()].match < match:
            found[name.casefold()] = SimilarArtist(name, mbid, max(0.0, min(1.0, match)))
    return sorted(found.values(), key=lambda s: (-s.match, s.name.casefold()))
