"""What MusicBrainz says about an artist, a release group, a release or a recording,
as the library's enriched fields. Plain dicts in (musicbrainzngs' shape), fields out.

Any optional field may be absent or None: a field that says nothing gives None."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from soulspot_pipeline.domain.identify import mb_dict, mb_dicts, mb_int, mb_strings, mb_text

GENRES_FROM_TOP_TAGS = 5


def _tags(obj: Mapping) -> list[str]:
    tags = [
        (name, mb_int(t.get("count")) or 0) for t in mb_dicts(obj.get("tag-list")) if (name := mb_text(t.get("name")))
    ]
    return [name for name, _ in sorted(tags, key=lambda t: (-t[1], t[0]))]


def _genres(obj: Mapping) -> list[str]:
    # musicbrainzngs 0.7 cannot ask for MusicBrainz's curated genres; the most-voted tags
    # are what the genres are drawn from.
    genres = [name for g in mb_dicts(obj.get("genre-list")) if (name := mb_text(g.get("name")))]
    return genres or _tags(obj)[:GENRES_FROM_TOP_TAGS]


def artist_fields(obj: Mapping) -> dict[str, Any]:
    return {
        "sort_name": mb_text(obj.get("sort-name")),
        "country": mb_text(obj.get("country")),
        "artist_type": mb_text(obj.get("type")),
        "disambiguation": mb_text(obj.get("disambiguation")),
        "tags": _tags(obj) or None,
        "genres": _genres(obj) or None,
    }


def release_group_fields(obj: Mapping) -> dict[str, Any]:
    primary = mb_text(obj.get("primary-type")) or mb_text(obj.get("type"))
    return {
        "release_date": mb_text(obj.get("first-release-date")),
        "album_type": primary.lower() if primary else None,
        "secondary_types": [t.lower() for t in mb_strings(obj.get("secondary-type-list"))] or None,
        "tags": _tags(obj) or None,
        "genres": _genres(obj) or None,
    }


def medium_tracks(medium: Mapping) -> Iterator[tuple[str, Mapping]]:
    """A medium's tracks as the release counts them, each with its kind: the pregap (hidden)
    track first, then the tracks, then the data tracks. musicbrainzngs puts the pregap under
    ``pregap`` and data tracks under ``data-track-list``, outside ``track-list``."""
    pregap = medium.get("pregap")
    if isinstance(pregap, Mapping):
        yield "pregap", pregap
    for track in mb_dicts(medium.get("track-list")):
        yield "track", track
    for track in mb_dicts(medium.get("data-track-list")):
        yield "data", track


def medium_track_count(medium: Mapping) -> int:
    """How many tracks a medium has, pregap and data tracks included (``track-count`` leaves them out)."""
    tracks = mb_int(medium.get("track-count"))
    data = mb_int(medium.get("data-track-count"))
    listed = list(medium_tracks(medium))
    return (
        (1 if any(kind == "pregap" for kind, _ in listed) else 0)
        + (tracks if tracks is not None else sum(kind == "track" for kind, _ in listed))
        + (data if data is not None else sum(kind == "data" for kind, _ in listed))
    )


def release_fields(obj: Mapping) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The album's counts and country, and per recording MBID its length and ISRC."""
    media = list(mb_dicts(obj.get("medium-list")))
    tracks: dict[str, dict[str, Any]] = {}
    total = 0
    for medium in media:
        total += medium_track_count(medium)
        for _, track in medium_tracks(medium):
            recording = mb_dict(track.get("recording"))
            mbid = mb_text(recording.get("id"))
            if mbid:
                tracks[mbid] = recording_fields(recording, fallback_length=track.get("length"))
    album = {"country": mb_text(obj.get("country")), "medium_count": len(media) or None, "total_tracks": total or None}
    return album, tracks


def recording_fields(obj: Mapping, fallback_length: Any = None) -> dict[str, Any]:
    isrcs = sorted(mb_strings(obj.get("isrc-list")))
    return {"duration_ms": mb_int(obj.get("length")) or mb_int(fallback_length), "isrc": isrcs[0] if isrcs else None}
