"""Every source -> one deduplicated library of artists, albums and tracks, with ownership.

Sources are local files and what each cloud provider told us. Identity keys are tried
strongest first: MusicBrainz id, then ISRC (tracks) or UPC (albums), then the
provider's own id, then a normalized name; a track none of them finds is compared by
title, album and duration with the tracks of its artist (``domain.matching``). Every
key that resolved is remembered in a registry, so entity ids stay stable across runs
and each merge can be explained. A weaker key never joins an entity that already
carries a different MusicBrainz id.

Nothing here knows a provider by name: a source is a name and its rank in
``source_order``, which decides whose title wins when sources disagree.
"""

from __future__ import annotations

import uuid
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import PurePath
from typing import Any, TypeVar

from soulspot_pipeline.domain.file_choice import keep_order
from soulspot_pipeline.domain.matching import DURATION_SAME_S, TrackFacts, base_title, score_tracks
from soulspot_pipeline.domain.ownership import (
    Decision,
    Reason,
    container_state,
    effective_decision,
    track_state,
)
from soulspot_pipeline.domain.text import normalize_name

_V = TypeVar("_V")

_ID_NAMESPACE = uuid.UUID("6f1d7a52-3c1e-4b8e-9a55-2f0c9e5b7d11")
UNKNOWN_ARTIST = "Unknown Artist"
LOCAL = "local"
WANTED = "discography"  # tracks of release groups the user requested from the discography
REQUEST = "request"  # tracks the user requested by link or search (library.request_tracks)


# The enriched columns and, per entity type, the observation key a source provides them in.
ENRICHED_FIELDS: dict[str, dict[str, str | None]] = {
    "artist": {
        "sort_name": None,
        "genres": "genres",
        "tags": None,
        "country": None,
        "artist_type": None,
        "disambiguation": None,
    },
    "album": {
        "album_type": "album_type",
        "secondary_types": None,
        "release_date": "release_date",
        "total_tracks": "total_tracks",
        "medium_count": None,
        "genres": None,
        "tags": None,
        "country": None,
    },
    "track": {"duration_ms": "duration_ms", "isrc": "isrc"},
}


@dataclass(frozen=True, slots=True)
class RegisteredKey:
    entity_type: str
    key: str
    entity_id: str
    rule: str


@dataclass(frozen=True, slots=True)
class SourceLink:
    """Which entity a provider's item became, by which rule (and score, when fuzzy)."""

    entity_type: str
    source: str
    source_id: str
    entity_id: str
    matched_by: str
    score: float | None = None


@dataclass
class MergeInputs:
    """Everything the merge reads. Cloud rows carry ``source`` and the provider's ids;
    ``owned_since`` is set on rows the user liked, saved, followed or auto-owns."""

    local_files: Sequence[Mapping[str, Any]] = ()
    cloud_artists: Sequence[Mapping[str, Any]] = ()
    cloud_albums: Sequence[Mapping[str, Any]] = ()
    cloud_tracks: Sequence[Mapping[str, Any]] = ()
    # Tracks of requested discography gaps (library.wanted_tracks): owned and requested.
    wanted_tracks: Sequence[Mapping[str, Any]] = ()
    # Tracks requested by link or search (library.request_tracks), in a provider's shape: owned and requested.
    requested_tracks: Sequence[Mapping[str, Any]] = ()
    registry: Mapping[tuple[str, str], str] = field(default_factory=dict)
    identities: Mapping[str, str] = field(default_factory=dict)
    previous_states: Mapping[str, str] = field(default_factory=dict)
    previous_matches: Mapping[str, tuple[str, str]] = field(default_factory=dict)
    previous_links: Mapping[tuple[str, str, str], tuple[str, str, float | None]] = field(default_factory=dict)
    decisions: Mapping[str, Decision] = field(default_factory=dict)
    requests: Mapping[str, datetime] = field(default_factory=dict)
    # The state of each track's download where one was tried, and when it last changed (library.downloads).
    transfers: Mapping[str, tuple[str, datetime]] = field(default_factory=dict)
    # Accepted MusicBrainz identifications: (entity_type, id) -> (mbid, release mbid).
    identified: Mapping[tuple[str, str], tuple[str, str | None]] = field(default_factory=dict)
    # Values of the enriched fields from MusicBrainz and the user: (type, id) -> field -> source -> value.
    metadata: Mapping[tuple[str, str], Mapping[str, Mapping[str, Any]]] = field(default_factory=dict)
    source_order: Sequence[str] = (LOCAL,)
    # Whose value of an enriched field wins (genres, dates, types, durations, ...).
    metadata_order: Sequence[str] = ("manual", "musicbrainz", LOCAL)
    auto_queue: bool = False


@dataclass
class MergeResult:
    artists: dict[str, dict[str, Any]] = field(default_factory=dict)
    albums: dict[str, dict[str, Any]] = field(default_factory=dict)
    tracks: dict[str, dict[str, Any]] = field(default_factory=dict)
    new_keys: list[RegisteredKey] = field(default_factory=list)
    track_files: list[tuple[str, str, str, bool]] = field(default_factory=list)
    links: list[SourceLink] = field(default_factory=list)
    rules: Counter = field(default_factory=Counter)
    aliases: list[tuple[str, str, str, str]] = field(default_factory=list)  # (type, alias, entity, reason)
    field_sources: list[tuple[str, str, str, str]] = field(default_factory=list)  # (type, id, field, source)


def _add_key(keys: dict[str, tuple[str, ...]], entity_id: str, key: str) -> None:
    known = keys.get(entity_id, ())
    if key not in known:
        keys[entity_id] = (*known, key)


class _Resolver:
    """Resolves identity keys to entity ids against the registry, registering new keys."""

    def __init__(self, registry: Mapping[tuple[str, str], str], identities: Mapping[str, str]):
        self.registry = dict(registry)
        self.identity = dict(identities)  # entity id -> its MusicBrainz id, where known
        # Tuples, not sets: a track has one or two of each, and a set costs four times a tuple.
        self.isrcs: dict[str, tuple[str, ...]] = {}  # track id -> the ISRCs that led to it
        # track id -> the album positions of the local files that led to it (their "pos:" keys)
        self.positions: dict[str, tuple[str, ...]] = {}
        # track id -> the lengths (s) of the files without an album that led to it (their "len:" keys)
        self.lengths: dict[str, tuple[int, ...]] = {}
        for (entity_type, key), entity_id in self.registry.items():
            if entity_type == "track" and key.startswith("isrc:"):
                _add_key(self.isrcs, entity_id, key)
            if entity_type == "track" and key.startswith("pos:"):
                _add_key(self.positions, entity_id, key)
            if entity_type == "track" and key.startswith("len:"):
                self.lengths[entity_id] = (*self.lengths.get(entity_id, ()), _seconds(key))
        self.new_keys: list[RegisteredKey] = []

    def lookup(self, entity_type: str, keys: Sequence[tuple[str, str]], identity: str | None) -> tuple[str, str] | None:
        """The entity an existing key names (strongest first) and that key's rule."""
        isrc = next((key for rule, key in keys if rule == "isrc"), None)
        position = next((key for rule, key in keys if rule == "position"), None)
        length = next((_seconds(key) for rule, key in keys if rule == "length"), None)
        for rule, key in keys:
            candidate = self.registry.get((entity_type, key))
            if candidate is None:
                continue
            other = self.identity.get(candidate)
            if identity and other and other != identity:
                continue  # same name, different MusicBrainz entity
            if isrc and self.isrcs.get(candidate) and isrc not in self.isrcs[candidate]:
                continue  # same name, different recording ("Interlude" twice on one album)
            if position and self.positions.get(candidate) and position not in self.positions[candidate]:
                continue  # same title at another place of the album: an "Intro" on each disc, a second "Interlude"
            if length is not None and self.lengths.get(candidate) and _apart(length, self.lengths[candidate]):
                continue  # same title, no album, another length: a live take, a radio edit
            return candidate, rule
        return None

    def bind(
        self, entity_type: str, keys: Sequence[tuple[str, str]], entity_id: str, identity: str | None, rule: str
    ) -> None:
        if identity and not self.identity.get(entity_id):
            self.identity[entity_id] = identity
        for key_rule, key in keys:
            if key_rule == "isrc":
                _add_key(self.isrcs, entity_id, key)
            if key_rule == "position":
                _add_key(self.positions, entity_id, key)
            if key_rule == "length" and (entity_type, key) not in self.registry:
                self.lengths[entity_id] = (*self.lengths.get(entity_id, ()), _seconds(key))
            if (entity_type, key) not in self.registry:
                self.registry[(entity_type, key)] = entity_id
                self.new_keys.append(RegisteredKey(entity_type, key, entity_id, rule if rule == "fuzzy" else key_rule))

    def resolve(self, entity_type: str, keys: Sequence[tuple[str, str]], identity: str | None) -> tuple[str, str]:
        """The entity for ``keys`` ((rule, key) strongest first) and the rule that found it."""
        found = self.lookup(entity_type, keys, identity)
        if found is None:
            found = (new_entity_id(entity_type, keys[0][1]), "new")
        self.bind(entity_type, keys, found[0], identity, found[1])
        return found


def _seconds(length_key: str) -> int:
    return int(length_key.rsplit(":", 1)[1])


def _apart(seconds: int, lengths: tuple[int, ...]) -> bool:
    """Whether a file of ``seconds`` is too far from every file of a track to be that track: copies
    of one recording (a FLAC and its MP3) are within a second or two; a radio edit, a live take
    or a remix is further."""
    return all(abs(seconds - other) > DURATION_SAME_S for other in lengths)


def new_entity_id(entity_type: str, key: str) -> str:
    return str(uuid.uuid5(_ID_NAMESPACE, f"{entity_type}:{key}"))


def _artist_keys(
    name: str | None, mbid: str | None = None, source: str | None = None, source_id: str | None = None
) -> list[tuple[str, str]]:
    keys = [("mbid", f"mbid:{mbid}")] if mbid else []
    if source and source_id:
        keys.append((source, f"{source}:{source_id}"))
    keys.append(("name", f"name:{normalize_name(name or UNKNOWN_ARTIST)}"))
    return keys


def _album_keys(
    artist_id: str,
    title: str,
    *,
    rg: str | None = None,
    release: str | None = None,
    source: str | None = None,
    source_id: str | None = None,
    upc: str | None = None,
) -> list[tuple[str, str]]:
    keys = []
    if rg:
        keys.append(("mbid", f"rg:{rg}"))
    if release:
        keys.append(("mbid", f"release:{release}"))
    if upc:
        keys.append(("upc", f"upc:{upc.lstrip('0')}"))
    if source and source_id:
        keys.append((source, f"{source}:{source_id}"))
    keys.append(("name", f"name:{artist_id}:{normalize_name(title)}"))
    keys.append(("edition", f"base:{artist_id}:{base_title(title)}"))
    return keys


def _most_common(values: Iterable[Any]) -> Any:
    counts = Counter(v for v in values if v is not None and v != "")
    if not counts:
        return None
    best = max(counts.values())
    return min(v for v, n in counts.items() if n == best)


def _first(observations: Sequence[Mapping[str, Any]], key: str) -> Any:
    """The value of the best-ranked observation that has one (most common among equals)."""
    for _, group in _by_rank(observations):
        value = _most_common(o.get(key) for o in group)
        if value is not None:
            return value
    return None


def _root(parent: Mapping[str, str], x: str) -> str:
    """The id ``x`` was united into, following ``parent`` (union-find) to its end."""
    while parent.get(x, x) != x:
        x = parent[x]
    return x


def _inherit(mapping: dict[str, _V], alias: str, survivor: str) -> None:
    """The survivor takes the alias's value, unless it has one of its own."""
    if alias in mapping and survivor not in mapping:
        mapping[survivor] = mapping[alias]


def _by_rank(observations: Sequence[Mapping[str, Any]]) -> list[tuple[int, list[Mapping[str, Any]]]]:
    groups: dict[int, list[Mapping[str, Any]]] = defaultdict(list)
    for o in observations:
        groups[o["rank"]].append(o)
    return sorted(groups.items())


class _Merge:
    def __init__(self, inputs: MergeInputs):
        self.inputs = inputs
        self.rank = {source: n for n, source in enumerate(inputs.source_order)}
        self.resolver = _Resolver(inputs.registry, inputs.identities)
        self.result = MergeResult()
        self.artist_obs: dict[str, list[dict]] = defaultdict(list)
        self.album_obs: dict[str, list[dict]] = defaultdict(list)
        self.track_obs: dict[str, list[dict]] = defaultdict(list)
        self.cloud_artist: dict[tuple[str, str], str] = {}
        self.cloud_album: dict[tuple[str, str], str] = {}
        self.artist_tracks: dict[str, list[tuple[str, TrackFacts]]] = defaultdict(list)
        self.track_rule: dict[str, str] = {}  # path -> the rule that placed the file
        self.alias: dict[tuple[str, str], str] = {}  # (type, alias id) -> the entity it joined
        self.decisions = dict(inputs.decisions)
        self.requests = dict(inputs.requests)

    def source_rank(self, source: str) -> int:
        return self.rank.get(source, len(self.rank))

    # -- resolution -----------------------------------------------------------------

    def link(
        self, entity_type: str, source: str, source_id: str, entity_id: str, rule: str, score: float | None = None
    ) -> None:
        before = self.inputs.previous_links.get((entity_type, source, source_id))
        if before and before[0] == entity_id:
            _, rule, score = before  # how it was first linked, not today's registry hit
        self.result.links.append(SourceLink(entity_type, source, source_id, entity_id, rule, score))

    def add_local_files(self) -> None:
        files = sorted(
            self.inputs.local_files,
            key=lambda r: (r.get("recording_mbid") is None, r.get("artist_mbid") is None, r["path"]),
        )
        rank = self.source_rank(LOCAL)
        track_rule = self.track_rule
        # The files of an album observe their artist and album alike: one observation object
        # serves them all (the list still holds it once per file, so counts are the same).
        artist_seen: dict[str, dict] = {}
        album_seen: dict[tuple, dict] = {}
        for row in files:
            artist_name = row.get("artist") or row.get("albumartist") or UNKNOWN_ARTIST
            artist_id, _ = self.resolver.resolve(
                "artist", _artist_keys(artist_name, row.get("artist_mbid")), row.get("artist_mbid")
            )
            self.artist_obs[artist_id].append(
                artist_seen.setdefault(artist_name, {"rank": rank, "source": LOCAL, "name": artist_name})
            )

            album_id = None
            if row.get("album"):
                albumartist_name = row.get("albumartist") or artist_name
                albumartist_mbid = row.get("albumartist_mbid") or (
                    row.get("artist_mbid")
                    if not row.get("albumartist") or row.get("albumartist") == artist_name
                    else None
                )
                albumartist_id, _ = self.resolver.resolve(
                    "artist", _artist_keys(albumartist_name, albumartist_mbid), albumartist_mbid
                )
                self.artist_obs[albumartist_id].append(
                    artist_seen.setdefault(albumartist_name, {"rank": rank, "source": LOCAL, "name": albumartist_name})
                )
                album_id, _ = self.resolver.resolve(
                    "album",
                    _album_keys(
                        albumartist_id, row["album"], rg=row.get("release_group_mbid"), release=row.get("release_mbid")
                    ),
                    row.get("release_group_mbid"),
                )
                album = (
                    album_id,
                    albumartist_id,
                    row["album"],
                    row.get("release_group_mbid"),
                    row.get("release_mbid"),
                    row.get("date"),
                    row.get("track_total"),
                )
                observed = album_seen.get(album)
                if observed is None:
                    observed = album_seen[album] = {
                        "rank": rank,
                        "source": LOCAL,
                        "artist_id": albumartist_id,
                        "title": row["album"],
                        "release_group_mbid": row.get("release_group_mbid"),
                        "release_mbid": row.get("release_mbid"),
                        "release_date": row.get("date"),
                        "total_tracks": row.get("track_total"),
                    }
                self.album_obs[album_id].append(observed)

            track_keys = []
            if row.get("recording_mbid"):
                track_keys.append(("mbid", f"mbid:{row['recording_mbid']}"))
            if row.get("isrc"):
                track_keys.append(("isrc", f"isrc:{row['isrc']}"))
            if row.get("title"):
                name = f"{artist_id}:{album_id or '-'}:{normalize_name(row['title'])}"
                if album_id and row.get("track_number"):
                    # Before the name: a second file of one title joins by name only at the same place.
                    place = f"{row.get('disc_number') or 1}:{row['track_number']}"
                    track_keys.append(("position", f"pos:{name}:{place}"))
                elif not album_id and row.get("duration_ms"):
                    # Without an album, the length tells two songs of one title apart (a new one's id is
                    # made from this key); copies of one song, seconds apart, still join by the name.
                    track_keys.append(("length", f"len:{name}:{round(row['duration_ms'] / 1000)}"))
                track_keys.append(("name", f"name:{name}"))
            else:
                # Without a title a file has no identity beyond itself.
                track_keys.append(("path", f"path:{row['path']}"))
            track_id, rule = self.resolver.resolve("track", track_keys, row.get("recording_mbid"))
            before = self.inputs.previous_matches.get(row["path"])
            track_rule[row["path"]] = before[1] if before and before[0] == track_id else rule
            self.add_track_obs(
                track_id,
                {
                    "rank": rank,
                    "source": LOCAL,
                    "source_id": row["path"],
                    "artist_id": artist_id,
                    "album_id": album_id,
                    "album_title": row.get("album"),
                    "title": row.get("title") or PurePath(row["path"]).stem,
                    "isrc": row.get("isrc"),
                    "recording_mbid": row.get("recording_mbid"),
                    "duration_ms": row.get("duration_ms"),
                    "track_number": row.get("track_number"),
                    "disc_number": row.get("disc_number"),
                    "owned_since": row.get("first_seen_at"),
                    "file": row,
                },
            )

    def add_track_obs(self, track_id: str, obs: dict) -> None:
        if track_id not in self.track_obs:
            self.artist_tracks[obs["artist_id"]].append(
                (track_id, TrackFacts(obs["title"], obs.get("album_title"), obs.get("duration_ms")))
            )
        self.track_obs[track_id].append(obs)

    def cloud_artist_id(self, source: str, artist_id: str | None, name: str | None) -> str:
        known = self.cloud_artist.get((source, artist_id or ""))
        if known:
            return known
        entity_id, _ = self.resolver.resolve("artist", _artist_keys(name, source=source, source_id=artist_id), None)
        if artist_id:
            self.cloud_artist[(source, artist_id)] = entity_id
        self.artist_obs[entity_id].append(
            {"rank": self.source_rank(source), "source": source, "name": name or UNKNOWN_ARTIST}
        )
        return entity_id

    def add_cloud_artists(self) -> None:
        for row in sorted(
            self.inputs.cloud_artists, key=lambda r: (self.source_rank(r["source"]), r["source"], r["artist_id"])
        ):
            source, source_id = row["source"], row["artist_id"]
            entity_id, rule = self.resolver.resolve(
                "artist", _artist_keys(row["name"], source=source, source_id=source_id), None
            )
            self.cloud_artist[(source, source_id)] = entity_id
            self.artist_obs[entity_id].append(
                {
                    "rank": self.source_rank(source),
                    "source": source,
                    "name": row["name"],
                    "genres": tuple(row.get("genres") or ()) or None,
                    f"{source}_id": source_id,
                    "owned_since": row.get("owned_since"),
                }
            )
            self.link("artist", source, source_id, entity_id, rule)

    def add_cloud_albums(self) -> None:
        for row in sorted(
            self.inputs.cloud_albums, key=lambda r: (self.source_rank(r["source"]), r["source"], r["album_id"])
        ):
            source, source_id = row["source"], row["album_id"]
            artist_id = self.cloud_artist_id(source, row.get("artist_id"), row.get("artist_name"))
            keys = _album_keys(artist_id, row["title"], source=source, source_id=source_id, upc=row.get("upc"))
            entity_id, rule = self.resolver.resolve("album", keys, None)
            self.cloud_album[(source, source_id)] = entity_id
            self.album_obs[entity_id].append(
                {
                    "rank": self.source_rank(source),
                    "source": source,
                    "artist_id": artist_id,
                    "title": row["title"],
                    "album_type": row.get("album_type"),
                    "release_date": row.get("release_date"),
                    "total_tracks": row.get("total_tracks"),
                    f"{source}_id": source_id,
                    "owned_since": row.get("owned_since"),
                }
            )
            self.link("album", source, source_id, entity_id, rule)

    def add_cloud_tracks(self) -> None:
        for row in sorted(
            self.inputs.cloud_tracks, key=lambda r: (self.source_rank(r["source"]), r["source"], r["track_id"])
        ):
            source, source_id = row["source"], row["track_id"]
            artist_id = self.cloud_artist_id(source, row.get("artist_id"), row.get("artist_name"))
            album_id = self.cloud_album.get((source, row.get("album_id") or ""))
            album_title = self.album_obs[album_id][-1]["title"] if album_id else None
            keys = [(source, f"{source}:{source_id}")]
            if row.get("isrc"):
                keys.insert(0, ("isrc", f"isrc:{row['isrc']}"))
            keys.append(("name", f"name:{artist_id}:{album_id or '-'}:{normalize_name(row['title'])}"))
            facts = TrackFacts(row["title"], album_title, row.get("duration_ms"))
            entity_id, rule, score = self.place_track(keys, None, artist_id, facts, row.get("isrc"))
            self.add_track_obs(
                entity_id,
                {
                    "rank": self.source_rank(source),
                    "source": source,
                    "source_id": source_id,
                    "artist_id": artist_id,
                    "album_id": album_id,
                    "album_title": album_title,
                    "title": row["title"],
                    "isrc": row.get("isrc"),
                    "duration_ms": row.get("duration_ms"),
                    "track_number": row.get("track_number"),
                    "disc_number": row.get("disc_number"),
                    f"{source}_id": source_id,
                    "owned_since": row.get("owned_since"),
                },
            )
            self.link("track", source, source_id, entity_id, rule, score)

    def add_wanted_tracks(self) -> None:
        """Requested release groups' tracks, keyed by their MusicBrainz ids so the files that
        arrive for them later (tagged with those ids) join the same entities."""
        rank = self.source_rank(WANTED)
        for row in sorted(
            self.inputs.wanted_tracks, key=lambda r: (r["release_key"], r["disc_number"], r["track_number"])
        ):
            artist_id, _ = self.resolver.resolve(
                "artist", _artist_keys(row["artist_name"], row.get("artist_mbid")), row.get("artist_mbid")
            )
            self.artist_obs[artist_id].append({"rank": rank, "source": WANTED, "name": row["artist_name"]})
            album_id, _ = self.resolver.resolve(
                "album",
                _album_keys(
                    artist_id, row["album_title"], rg=row.get("release_group_mbid"), release=row.get("release_mbid")
                ),
                row.get("release_group_mbid"),
            )
            self.album_obs[album_id].append(
                {
                    "rank": rank,
                    "source": WANTED,
                    "artist_id": artist_id,
                    "title": row["album_title"],
                    "release_group_mbid": row.get("release_group_mbid"),
                    "release_mbid": row.get("release_mbid"),
                    "album_type": row.get("album_type"),
                    "release_date": row.get("release_date"),
                    "total_tracks": row.get("total_tracks"),
                    "owned_since": row["requested_at"],
                }
            )
            keys = [("mbid", f"mbid:{row['recording_mbid']}")]
            if row.get("isrc"):
                keys.append(("isrc", f"isrc:{row['isrc']}"))
            keys.append(("name", f"name:{artist_id}:{album_id}:{normalize_name(row['title'])}"))
            track_id, _ = self.resolver.resolve("track", keys, row["recording_mbid"])
            self.add_track_obs(
                track_id,
                {
                    "rank": rank,
                    "source": WANTED,
                    "artist_id": artist_id,
                    "album_id": album_id,
                    "album_title": row["album_title"],
                    "title": row["title"],
                    "isrc": row.get("isrc"),
                    "recording_mbid": row["recording_mbid"],
                    "duration_ms": row.get("duration_ms"),
                    "track_number": row["track_number"],
                    "disc_number": row["disc_number"],
                    "owned_since": row["requested_at"],
                    "requested_at": row["requested_at"],
                },
            )

    def add_requested_tracks(self) -> None:
        """Tracks requested by link or search: keyed as their provider's cloud tracks are (so a
        like of the same track is the same entity), owned and requested since the request."""
        rank = self.source_rank(REQUEST)
        for row in sorted(self.inputs.requested_tracks, key=lambda r: (r["source"], r["source_track_id"])):
            provider, source_id = row["source"], row["source_track_id"]
            mbid = source_id if provider == "musicbrainz" else None
            if mbid:  # a MusicBrainz recording: its ids are MBIDs
                artist_id, _ = self.resolver.resolve(
                    "artist", _artist_keys(row["artist_name"], row.get("source_artist_id")), row.get("source_artist_id")
                )
                self.artist_obs[artist_id].append({"rank": rank, "source": REQUEST, "name": row["artist_name"]})
            else:
                artist_id = self.cloud_artist_id(provider, row.get("source_artist_id"), row.get("artist_name"))
            album_id = self.requested_album(row, artist_id, rank) if row.get("album_title") else None
            keys = [("mbid", f"mbid:{mbid}")] if mbid else [(provider, f"{provider}:{source_id}")]
            if row.get("isrc"):
                keys.insert(0, ("isrc", f"isrc:{row['isrc']}"))
            keys.append(("name", f"name:{artist_id}:{album_id or '-'}:{normalize_name(row['title'])}"))
            facts = TrackFacts(row["title"], row.get("album_title"), row.get("duration_ms"))
            entity_id, rule, score = self.place_track(keys, mbid, artist_id, facts, row.get("isrc"))
            self.add_track_obs(
                entity_id,
                {
                    "rank": rank,
                    "source": REQUEST,
                    "provider": provider,
                    "source_id": source_id,
                    "artist_id": artist_id,
                    "album_id": album_id,
                    "album_title": row.get("album_title"),
                    "title": row["title"],
                    "isrc": row.get("isrc"),
                    "recording_mbid": mbid,
                    "duration_ms": row.get("duration_ms"),
                    "track_number": row.get("track_number"),
                    "disc_number": row.get("disc_number"),
                    f"{provider}_id": source_id,
                    "owned_since": row["requested_at"],
                    "requested_at": row["requested_at"],
                },
            )
            self.link("track", REQUEST, f"{provider}:{source_id}", entity_id, rule, score)

    def requested_album(self, row: Mapping[str, Any], artist_id: str, rank: int) -> str:
        """The album of a requested track: the provider's album the library knows, else one resolved
        from its name (its artist's, else the track artist's); not owned by itself."""
        provider, source_album_id = row["source"], row.get("source_album_id")
        known = self.cloud_album.get((provider, source_album_id or ""))
        if known:
            return known
        album_artist_id = artist_id
        if row.get("album_artist_name") and row.get("album_artist_name") != row.get("artist_name"):
            if provider == "musicbrainz":
                album_artist_id, _ = self.resolver.resolve("artist", _artist_keys(row["album_artist_name"]), None)
            else:
                album_artist_id = self.cloud_artist_id(
                    provider, row.get("source_album_artist_id"), row["album_artist_name"]
                )
        mb = provider == "musicbrainz"
        keys = _album_keys(
            album_artist_id,
            row["album_title"],
            release=source_album_id if mb else None,
            source=None if mb else provider,
            source_id=None if mb else source_album_id,
        )
        album_id, _ = self.resolver.resolve("album", keys, None)
        if source_album_id:
            self.cloud_album[(provider, source_album_id)] = album_id
        self.album_obs[album_id].append(
            {
                "rank": rank,
                "source": REQUEST,
                "provider": provider,
                "artist_id": album_artist_id,
                "title": row["album_title"],
                "album_type": row.get("album_type"),
                "release_date": row.get("release_date"),
                "total_tracks": row.get("total_tracks"),
                **({} if mb else {f"{provider}_id": source_album_id}),
                **({"release_mbid": source_album_id} if mb else {}),
            }
        )
        return album_id

    def place_track(
        self, keys: list[tuple[str, str]], mbid: str | None, artist_id: str, facts: TrackFacts, isrc: str | None
    ) -> tuple[str, str, float | None]:
        """A provider's track: the entity a key names, else the best fuzzy match among its artist's
        tracks, else a new one; bound to its keys. (entity id, rule, fuzzy score)."""
        found = self.resolver.lookup("track", keys, mbid)
        score = None
        if found is None:
            fuzzy = self.fuzzy_track(artist_id, facts, isrc)
            if fuzzy is not None:
                found, score = (fuzzy[0], "fuzzy"), fuzzy[1]
        if found is None:
            found = (new_entity_id("track", keys[0][1]), "new")
        entity_id, rule = found
        self.resolver.bind("track", keys, entity_id, mbid, rule)
        return entity_id, rule, score

    def fuzzy_track(self, artist_id: str, facts: TrackFacts, isrc: str | None) -> tuple[str, float] | None:
        best = None
        known = self.resolver.isrcs
        for track_id, candidate in self.artist_tracks.get(artist_id, ()):
            if isrc and known.get(track_id) and f"isrc:{isrc}" not in known[track_id]:
                continue  # two ISRCs are two recordings, however alike their names
            score = score_tracks(facts, candidate)
            if score.accepted and (best is None or score.total > best[1]):
                best = (track_id, score.total)
        return best

    # -- entities and ownership --------------------------------------------------------

    # -- identity: entities that turn out to be one ---------------------------------------

    def identity_keys(self, entity_type: str, entity_id: str, observations: Sequence[Mapping[str, Any]]) -> set[str]:
        identified = self.inputs.identified.get((entity_type, entity_id))
        if entity_type == "artist":
            mbid = (identified or (None,))[0] or self.resolver.identity.get(entity_id)
            return {f"mbid:{mbid}"} if mbid else set()
        if entity_type == "album":
            mbid = (identified or (None,))[0] or _first(observations, "release_group_mbid")
            return {f"rg:{mbid}"} if mbid else set()
        keys = {f"isrc:{o['isrc']}" for o in observations if o.get("isrc")}
        learned = self.inputs.metadata.get(("track", entity_id), {}).get("isrc", {}).get("musicbrainz")
        if learned:
            keys.add(f"isrc:{learned}")
        mbid = (identified or (None,))[0] or _first(observations, "recording_mbid")
        if mbid:
            keys.add(f"mbid:{mbid}")
        return keys

    def unite(self) -> None:
        """Entities of one type sharing an MBID (or, tracks, an ISRC) become one: the
        smallest id stays, the others become its aliases, with every observation, link and
        decision moved over."""
        for entity_type, observations_of in (
            ("artist", self.artist_obs),
            ("album", self.album_obs),
            ("track", self.track_obs),
        ):
            parent: dict[str, str] = {}
            holder: dict[str, str] = {}
            reasons: dict[str, str] = {}
            for entity_id in sorted(observations_of):
                for key in sorted(self.identity_keys(entity_type, entity_id, observations_of[entity_id])):
                    other = holder.setdefault(key, entity_id)
                    a, b = _root(parent, other), _root(parent, entity_id)
                    if a != b:
                        keep, drop = min(a, b), max(a, b)
                        parent[drop] = keep
                        reasons[drop] = f"same {key.split(':', 1)[0]} {key.split(':', 1)[1]}"
            for entity_id in sorted(parent):
                survivor = _root(parent, entity_id)
                observations_of[survivor].extend(observations_of.pop(entity_id))
                self.alias[(entity_type, entity_id)] = survivor
                self.result.aliases.append((entity_type, entity_id, survivor, reasons[entity_id]))
                _inherit(self.decisions, entity_id, survivor)
                _inherit(self.requests, entity_id, survivor)
                _inherit(self.resolver.identity, entity_id, survivor)
            if entity_type != "track":
                column = f"{entity_type}_id"
                for observations in (*self.album_obs.values(), *self.track_obs.values()):
                    for o in observations:
                        if o.get(column) and (entity_type, o[column]) in self.alias:
                            o[column] = self.alias[(entity_type, o[column])]
        self.result.links = [
            SourceLink(
                link.entity_type,
                link.source,
                link.source_id,
                self.alias.get((link.entity_type, link.entity_id), link.entity_id),
                link.matched_by,
                link.score,
            )
            for link in self.result.links
        ]

    def register_identifications(self) -> None:
        """Identified MBIDs become keys, so files tagged with them later join the same entity."""
        for (entity_type, entity_id), (mbid, release_mbid) in sorted(self.inputs.identified.items()):
            entity_id = self.alias.get((entity_type, entity_id), entity_id)
            if (
                entity_id
                not in {"artist": self.artist_obs, "album": self.album_obs, "track": self.track_obs}[entity_type]
            ):
                continue
            keys = [("identified", f"{'rg' if entity_type == 'album' else 'mbid'}:{mbid}")]
            if release_mbid:
                keys.append(("identified", f"release:{release_mbid}"))
            self.resolver.bind(entity_type, keys, entity_id, mbid if entity_type != "album" else None, "identified")

    def enriched(self, entity_type: str, entity_id: str, observations: Sequence[Mapping[str, Any]], row: dict) -> None:
        """Fill the enriched columns by precedence (manual > MusicBrainz > providers > files)
        and remember each value's source."""
        stored = self.inputs.metadata.get((entity_type, entity_id), {})
        for column, observed_as in ENRICHED_FIELDS[entity_type].items():
            chosen = None
            for source in self.inputs.metadata_order:
                value = stored.get(column, {}).get(source)
                if value is None and observed_as:
                    value = _first([o for o in observations if o["source"] == source], observed_as)
                if value not in (None, "", [], ()):
                    chosen = (value, source)
                    break
            if chosen is None:
                row[column] = None
                continue
            value, source = chosen
            row[column] = list(value) if isinstance(value, tuple) else value
            self.result.field_sources.append((entity_type, entity_id, column, source))

    def decision(self, *entity_ids: str | None) -> Decision | None:
        return effective_decision(*(self.decisions.get(e) for e in entity_ids if e))

    def provider_ids(self, observations: Sequence[Mapping[str, Any]]) -> dict[str, str | None]:
        # A requested track carries the id of the provider it came from (its "provider").
        sources = {o.get("provider", o["source"]) for o in observations if o["source"] != LOCAL}
        return {
            f"{s}_id": _first([o for o in observations if o.get("provider", o["source"]) == s], f"{s}_id")
            for s in sources
        }

    def build_tracks(self) -> None:
        inputs = self.inputs
        # The matching is over, and each track's observations are done with once it is built:
        # they go as the tracks come (the two together are most of the merge's memory).
        self.artist_tracks.clear()
        for track_id in list(self.track_obs):
            observations = self.track_obs.pop(track_id)
            # The file a track points at is the one a duplicate group keeps (present and good first).
            files = [o["file"] for o in observations if "file" in o]
            if len(files) > 1:
                files.sort(key=keep_order)
            best = files[0] if files else None
            # A broken file is on disk but is no copy of the track: it never counts as its file.
            present = best is not None and not best.get("missing") and not best.get("broken")
            broken = not present and any(f.get("broken") and not f.get("missing") for f in files)
            artist_id = _first(observations, "artist_id")
            album_id = _first(observations, "album_id")
            reasons = [
                Reason(o["source"], o["owned_since"]) for o in observations if o.get("owned_since") or "file" in o
            ]
            requested = [t for t in (self.requests.get(track_id), *(o.get("requested_at") for o in observations)) if t]
            transfer, transfer_at = inputs.transfers.get(track_id, (None, None))
            ownership, download, active = track_state(
                reasons,
                self.decision(track_id, album_id, artist_id),
                file_present=present,
                requested_at=max(requested, default=None),
                auto_queue=inputs.auto_queue,
                transfer=transfer,
                transfer_at=transfer_at,
                file_broken=broken,
            )
            identified = inputs.identified.get(("track", track_id)) or (None,)
            primary = self.primary(active, (), observations)
            self.result.tracks[track_id] = {
                "track_id": track_id,
                "title": best.get("title") or PurePath(best["path"]).stem if best else _first(observations, "title"),
                "artist_id": artist_id,
                "album_id": album_id,
                "recording_mbid": _first(observations, "recording_mbid") or identified[0],
                **self.provider_ids(observations),
                "track_number": _first(observations, "track_number"),
                "disc_number": _first(observations, "disc_number"),
                "ownership_state": ownership,
                "download_state": download,
                "primary_source": primary,
                "local_path": best["path"] if best is not None and present else None,
                "audio_format": best.get("format") if best else None,
                "bitrate": best.get("bitrate") if best else None,
                "sample_rate": best.get("sample_rate") if best else None,
                "bit_depth": best.get("bit_depth") if best else None,
            }
            self.enriched("track", track_id, observations, self.result.tracks[track_id])
            for row in files:
                path = row["path"]
                rule = self.track_rule[path]
                self.result.track_files.append((path, track_id, rule, row is best))
                self.result.rules[rule] += 1

    def build_albums(self) -> None:
        member_states: dict[str, list[str]] = defaultdict(list)
        member_sources: dict[str, list[str]] = defaultdict(list)
        for track in self.result.tracks.values():
            if track["album_id"]:
                member_states[track["album_id"]].append(track["ownership_state"])
                if track["ownership_state"] == "owned":
                    member_sources[track["album_id"]].append(track["primary_source"])
        for album_id, observations in self.album_obs.items():
            artist_id = _first(observations, "artist_id")
            reasons = [Reason(o["source"], o["owned_since"]) for o in observations if o.get("owned_since")]
            state, active = container_state(reasons, self.decision(album_id, artist_id), member_states[album_id])
            identified = self.inputs.identified.get(("album", album_id)) or (None, None)
            self.result.albums[album_id] = {
                "album_id": album_id,
                "title": _first(observations, "title"),
                "artist_id": artist_id,
                "release_group_mbid": _first(observations, "release_group_mbid") or identified[0],
                "release_mbid": _first(observations, "release_mbid") or identified[1],
                **self.provider_ids(observations),
                "ownership_state": state,
                "primary_source": self.primary(active, member_sources[album_id], observations),
            }
            self.enriched("album", album_id, observations, self.result.albums[album_id])

    def primary(self, active: Sequence[Reason], owned_member_sources: Sequence[str], observations) -> str:
        """The source that owns it: its own reason, else that of its owned members, else the best-ranked one."""
        candidates = [r.source for r in active] or list(owned_member_sources) or [o["source"] for o in observations]
        return min(candidates, key=lambda s: (self.source_rank(s), s))

    def build_artists(self) -> None:
        member_states: dict[str, list[str]] = defaultdict(list)
        member_sources: dict[str, list[str]] = defaultdict(list)
        for entity in (*self.result.albums.values(), *self.result.tracks.values()):
            member_states[entity["artist_id"]].append(entity["ownership_state"])
            if entity["ownership_state"] == "owned":
                member_sources[entity["artist_id"]].append(entity["primary_source"])
        for artist_id, observations in self.artist_obs.items():
            reasons = [Reason(o["source"], o["owned_since"]) for o in observations if o.get("owned_since")]
            state, active = container_state(reasons, self.decision(artist_id), member_states[artist_id])
            self.result.artists[artist_id] = {
                "artist_id": artist_id,
                "name": _first(observations, "name"),
                "artist_mbid": self.resolver.identity.get(artist_id),
                **self.provider_ids(observations),
                "ownership_state": state,
                "primary_source": self.primary(active, member_sources[artist_id], observations),
            }
            self.enriched("artist", artist_id, observations, self.result.artists[artist_id])


def merge_library(inputs: MergeInputs) -> MergeResult:
    """Deduplicate every source into entities with their ownership (see the module doc).

    ``registry``: (entity_type, key) -> entity id from earlier runs; ``identities``:
    entity id -> MusicBrainz id; ``previous_matches`` (path -> (track, rule)) and
    ``previous_links`` keep the rule that first placed an item while it stays put.
    """
    merge = _Merge(inputs)
    merge.add_local_files()
    merge.add_cloud_artists()
    merge.add_cloud_albums()
    merge.add_cloud_tracks()
    merge.add_wanted_tracks()
    merge.add_requested_tracks()
    merge.unite()
    merge.register_identifications()
    merge.build_tracks()
    merge.build_albums()
    merge.build_artists()
    merge.result.new_keys = merge.resolver.new_keys
    return merge.result


def superseded_states(
    previous_states: Mapping[str, str], current_ids: Iterable[str], decisions: Mapping[str, Decision] | None = None
) -> dict[str, str]:
    """Entities no source maps to any more: discovered (ignored stays ignored)."""
    current = set(current_ids)
    decisions = decisions or {}
    return {
        entity_id: container_state((), decisions.get(entity_id), ())[0]
        for entity_id, state in previous_states.items()
        if entity_id not in current
    }
