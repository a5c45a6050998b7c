"""Local files -> deduplicated artists, albums and tracks.

Identity keys are tried strongest first: MusicBrainz id, then ISRC (tracks), then a
normalized name key (artist; album artist + album; artist + album + title). Every key
that resolved is remembered in a registry, so entity ids stay stable across runs and
each merge can be explained. A weaker key never joins an entity that already carries a
different MusicBrainz id: two artists of the same name with different MBIDs stay apart.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from soulspot_pipeline.domain.ownership import container_state, local_track_state
from soulspot_pipeline.domain.text import normalize_name

_ID_NAMESPACE = uuid.UUID("6f1d7a52-3c1e-4b8e-9a55-2f0c9e5b7d11")
UNKNOWN_ARTIST = "Unknown Artist"

# Lossless first, then by bitrate: the file a track points at when it has several.
_LOSSLESS = frozenset({"flac", "alac", "wavpack", "ape", "aiff", "wav", "tak", "oggflac", "trueaudio", "optimfrog", "dsf", "dsdiff"})


@dataclass(frozen=True, slots=True)
class RegisteredKey:
    entity_type: str
    key: str
    entity_id: str
    rule: str


@dataclass
class MergeResult:
    artists: dict[str, dict[str, Any]] = field(default_factory=dict)
    albums: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_keys: list[RegisteredKey] = field(default_factory=list)
    track_files: list[tuple[str, str, str, bool]] = field(default_factory=list)
    rules: Counter = field(default_factory=Counter)


class _Resolver:
    """Resolves identity keys to entity ids against the registry, registering new keys."""

    def __init__(self, registry: Mapping[tuple[str, str], str], identities: Mapping[str, str]):
        self.registry = dict(registry)
        self.identity = dict(identities)  # entity id -> its MusicBrainz id, where known
        self.new_keys: list[RegisteredKey] = []

    def resolve(self, entity_type: str, keys: Sequence[tuple[str, str]], identity: str | None) -> tuple[str, str]:
        """The entity for ``keys`` ((rule, key) strongest first) and the rule that found it."""
        entity_id, matched_rule = None, None
        for rule, key in keys:
            candidate = self.registry.get((entity_type, key))
            if candidate is None:
                continue
            other = self.identity.get(candidate)
            if identity and other and other != identity:
                continue  # same name, different MusicBrainz entity
            entity_id, matched_rule = candidate, rule
            break
        if entity_id is None:
            rule, key = keys[0]
            entity_id = str(uuid.uuid5(_ID_NAMESPACE, f"{entity_type}:{key}"))
            matched_rule = "new"
        if identity and not self.identity.get(entity_id):
            self.identity[entity_id] = identity
        for rule, key in keys:
            if (entity_type, key) not in self.registry:
                self.registry[(entity_type, key)] = entity_id
                self.new_keys.append(RegisteredKey(entity_type, key, entity_id, rule))
        return entity_id, matched_rule


def _artist_keys(name: str | None, mbid: str | None) -> list[tuple[str, str]]:
    keys = [("mbid", f"mbid:{mbid}")] if mbid else []
    keys.append(("name", f"name:{normalize_name(name or UNKNOWN_ARTIST)}"))
    return keys


def _file_rank(row: Mapping[str, Any]) -> tuple:
    return (
        bool(row.get("missing")),
        (row.get("format") or "") not in _LOSSLESS,
        -(row.get("bitrate") or 0),
        row["path"],
    )


def _most_common(values: Iterable[Any]) -> Any:
    counts = Counter(v for v in values if v is not None and v != "")
    if not counts:
        return None
    best = max(counts.values())
    return min(v for v, n in counts.items() if n == best)


def merge_local_files(
    files: Sequence[Mapping[str, Any]],
    registry: Mapping[tuple[str, str], str],
    identities: Mapping[str, str],
    previous_states: Mapping[str, str],
    *,
    auto_queue: bool,
    previous_matches: Mapping[str, tuple[str, str]] | None = None,
) -> MergeResult:
    """Deduplicate local files into entities.

    ``files``: rows of ``library.local_files``; ``registry``: (entity_type, key) ->
    entity id from earlier runs; ``identities``: entity id -> MusicBrainz id of entities
    that have one; ``previous_states``: entity id -> ownership_state of local entities
    already in the library (those no file maps to any more come back in the result with
    their new state only); ``previous_matches``: path -> (track id, rule) of the last
    run, so a file that still belongs to the same track keeps the rule that first put it
    there (later runs find it by whichever key the registry learned first).
    """
    previous_matches = previous_matches or {}
    resolver = _Resolver(registry, identities)
    result = MergeResult()
    # Files with MusicBrainz ids first, so named-only files join identified entities.
    ordered = sorted(files, key=lambda r: (r.get("recording_mbid") is None, r.get("artist_mbid") is None, r["path"]))

    track_rows: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    track_rule: dict[str, str] = {}
    album_rows: dict[str, list[Mapping[str, Any]]] = defaultdict(list)
    artist_names: dict[str, list[str]] = defaultdict(list)
    artist_of_album: dict[str, list[str]] = defaultdict(list)
    album_of_track: dict[str, list[str | None]] = defaultdict(list)
    artist_of_track: dict[str, list[str]] = defaultdict(list)

    for row in ordered:
        artist_name = row.get("artist") or row.get("albumartist") or UNKNOWN_ARTIST
        artist_id, _ = resolver.resolve("artist", _artist_keys(artist_name, row.get("artist_mbid")), row.get("artist_mbid"))
        artist_names[artist_id].append(artist_name)

        album_id = None
        if row.get("album"):
            albumartist_name = row.get("albumartist") or artist_name
            albumartist_mbid = row.get("albumartist_mbid") or (
                row.get("artist_mbid") if not row.get("albumartist") or row.get("albumartist") == artist_name else None
            )
            albumartist_id, _ = resolver.resolve(
                "artist", _artist_keys(albumartist_name, albumartist_mbid), albumartist_mbid
            )
            artist_names[albumartist_id].append(albumartist_name)
            album_keys = []
            if row.get("release_group_mbid"):
                album_keys.append(("mbid", f"rg:{row['release_group_mbid']}"))
            if row.get("release_mbid"):
                album_keys.append(("mbid", f"release:{row['release_mbid']}"))
            album_keys.append(("name", f"name:{albumartist_id}:{normalize_name(row['album'])}"))
            album_id, _ = resolver.resolve("album", album_keys, row.get("release_group_mbid"))
            album_rows[album_id].append(row)
            artist_of_album[album_id].append(albumartist_id)

        track_keys = []
        if row.get("recording_mbid"):
            track_keys.append(("mbid", f"mbid:{row['recording_mbid']}"))
        if row.get("isrc"):
            track_keys.append(("isrc", f"isrc:{row['isrc']}"))
        if row.get("title"):
            track_keys.append(("name", f"name:{artist_id}:{album_id or '-'}:{normalize_name(row['title'])}"))
        else:
            # Without a title a file has no identity beyond itself.
            track_keys.append(("path", f"path:{row['path']}"))
        track_id, rule = resolver.resolve("track", track_keys, row.get("recording_mbid"))
        track_rows[track_id].append(row)
        before = previous_matches.get(row["path"])
        track_rule[row["path"]] = before[1] if before and before[0] == track_id else rule
        album_of_track[track_id].append(album_id)
        artist_of_track[track_id].append(artist_id)

    for track_id, rows in track_rows.items():
        rows = sorted(rows, key=_file_rank)
        best = rows[0]
        present = not best.get("missing")
        ownership, download = local_track_state(
            previous_states.get(track_id), file_present=present, file_known=True, auto_queue=auto_queue
        )
        result.tracks[track_id] = {
            "track_id": track_id,
            "title": best.get("title") or PurePath(best["path"]).stem,
            "artist_id": _most_common(artist_of_track[track_id]),
            "album_id": _most_common(album_of_track[track_id]),
            "isrc": _most_common(r.get("isrc") for r in rows),
            "recording_mbid": _most_common(r.get("recording_mbid") for r in rows),
            "duration_ms": best.get("duration_ms"),
            "track_number": best.get("track_number"),
            "disc_number": best.get("disc_number"),
            "ownership_state": ownership,
            "download_state": download,
            "primary_source": "local",
            "local_path": best["path"] if present else None,
            "audio_format": best.get("format"),
            "bitrate": best.get("bitrate"),
            "sample_rate": best.get("sample_rate"),
            "bit_depth": best.get("bit_depth"),
        }
        for row in rows:
            path = row["path"]
            result.track_files.append((path, track_id, track_rule[path], row is best))
            result.rules[track_rule[path]] += 1

    album_track_states: dict[str, list[str]] = defaultdict(list)
    artist_member_states: dict[str, list[str]] = defaultdict(list)
    for track in result.tracks.values():
        if track["album_id"]:
            album_track_states[track["album_id"]].append(track["ownership_state"])
        artist_member_states[track["artist_id"]].append(track["ownership_state"])

    for album_id, rows in album_rows.items():
        state = container_state(previous_states.get(album_id), album_track_states[album_id])
        artist_id = _most_common(artist_of_album[album_id])
        artist_member_states[artist_id].append(state)
        result.albums[album_id] = {
            "album_id": album_id,
            "title": _most_common(r.get("album") for r in rows),
            "artist_id": artist_id,
            "release_group_mbid": _most_common(r.get("release_group_mbid") for r in rows),
            "release_mbid": _most_common(r.get("release_mbid") for r in rows),
            "release_date": _most_common(r.get("date") for r in rows),
            "total_tracks": max((r.get("track_total") or 0 for r in rows), default=0) or None,
            "ownership_state": state,
            "primary_source": "local",
        }

    for artist_id, names in artist_names.items():
        result.artists[artist_id] = {
            "artist_id": artist_id,
            "name": _most_common(names),
            "artist_mbid": resolver.identity.get(artist_id),
            "ownership_state": container_state(previous_states.get(artist_id), artist_member_states[artist_id]),
            "primary_source": "local",
        }

    result.new_keys = resolver.new_keys
    return result


def superseded_states(
    previous_states: Mapping[str, str], current_ids: Iterable[str]
) -> dict[str, str]:
    """Local entities no file maps to any more: discovered (ignored stays ignored)."""
    current = set(current_ids)
    return {
        entity_id: container_state(state, ())
        for entity_id, state in previous_states.items()
        if entity_id not in current
    }
