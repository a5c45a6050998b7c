"""What MusicBrainz says about an artist, a release group, a release or a recording,
as the library's enriched fields. Plain dicts in (musicbrainzngs' shape), fields out."""

from __future__ import annotations

from typing import Any

GENRES_FROM_TOP_TAGS = 5


def _tags(obj: dict) -> list[str]:
    tags = [(t.get("name"), int(t.get("count") or 0)) for t in obj.get("tag-list") or () if t.get("name")]
    return [name for name, _ in sorted(tags, key=lambda t: (-t[1], t[0]))]


def _genres(obj: dict) -> list[str]:
    # musicbrainzngs 0.7 cannot ask for MusicBrainz's curated genres; the most-voted tags
    # are what the genres are drawn from.
    genres = [g.get("name") for g in obj.get("genre-list") or () if g.get("name")]
    return genres or _tags(obj)[:GENRES_FROM_TOP_TAGS]


def _int(value: Any) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def artist_fields(obj: dict) -> dict[str, Any]:
    return {
        "sort_name": obj.get("sort-name"),
        "country": obj.get("country"),
        "artist_type": obj.get("type"),
        "disambiguation": obj.get("disambiguation"),
        "tags": _tags(obj) or None,
        "genres": _genres(obj) or None,
    }


def release_group_fields(obj: dict) -> dict[str, Any]:
    primary = obj.get("primary-type") or obj.get("type")
    return {
        "release_date": obj.get("first-release-date") or None,
        "album_type": primary.lower() if primary else None,
        "secondary_types": [t.lower() for t in obj.get("secondary-type-list") or ()] or None,
        "tags": _tags(obj) or None,
        "genres": _genres(obj) or None,
    }


def release_fields(obj: dict) -> tuple[dict[str, Any], dict[str, dict[str, Any]]]:
    """The album's counts and country, and per recording MBID its length and ISRC."""
    media = obj.get("medium-list") or []
    tracks: dict[str, dict[str, Any]] = {}
    total = 0
    for medium in media:
        listed = medium.get("track-list") or []
        total += _int(medium.get("track-count")) or len(listed)
        for track in listed:
            recording = track.get("recording") or {}
            if recording.get("id"):
                tracks[recording["id"]] = recording_fields(recording, fallback_length=track.get("length"))
    album = {"country": obj.get("country"), "medium_count": len(media) or None, "total_tracks": total or None}
    return album, tracks


def recording_fields(obj: dict, fallback_length: Any = None) -> dict[str, Any]:
    isrcs = sorted(obj.get("isrc-list") or ())
    return {"duration_ms": _int(obj.get("length")) or _int(fallback_length), "isrc": isrcs[0] if isrcs else None}
