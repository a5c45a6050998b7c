"""Matching a folder's album against MusicBrainz releases, the way beets and Picard do.

Local files are grouped into album clusters; each cluster is compared with a few
candidate releases as a whole. Files are assigned to a release's tracks one-to-one at
minimal total cost (track number, title, length), and the release is judged by a
weighted distance over album title, artist, how well the tracks fit, tracks missing,
files left over and year. A whole album agreeing is far stronger evidence than any one
title: an edition whose lengths fit wins over a remaster whose lengths do not, and a
10-file folder picks the 10-track original over the 12-track deluxe.
"""

from __future__ import annotations

import hashlib
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import lru_cache
from typing import Any

from munkres import Munkres
from rapidfuzz import fuzz

from soulspot_pipeline.domain.identify import (
    MIN_ARTIST,
    ArtistCredit,
    credits_of,
    mb_dict,
    mb_dicts,
    mb_int,
    mb_text,
    name_similarity,
)
from soulspot_pipeline.domain.matching import base_title, length_gap, track_title_key
from soulspot_pipeline.domain.text import normalize_name

ACCEPTED, PARTIAL, REJECTED, NONE = "accepted", "partial", "rejected", "none"

# Album-level weights, close to beets' (album and artist 3 each; tracks dominate).
ALBUM_WEIGHT, ARTIST_WEIGHT, TRACKS_WEIGHT = 3.0, 3.0, 4.0
MISSING_WEIGHT, UNMATCHED_WEIGHT, YEAR_WEIGHT = 1.5, 1.5, 0.5
# Per-track weights: the title says most, the length tells editions apart, the number breaks ties.
TRACK_NUMBER_WEIGHT, TRACK_TITLE_WEIGHT, TRACK_LENGTH_WEIGHT = 1.0, 3.0, 2.0
# Lengths this close are the same master; this far apart, another recording or edit.
LENGTH_FREE_S, LENGTH_FULL_S = 2.0, 30.0
YEAR_FULL_SPAN = 10  # years apart for the year part to reach 1 (remasters are often years later)
# The share of the album part left to edition notes ("Deluxe Edition"): tags often leave the note
# out, and lengths a few seconds off on every track say more about which edition the files are.
EDITION_SHARE = 0.05

# Acceptance. A release is accepted at distance <= ACCEPT_MAX with every file fitting a
# track (beets' "strong recommendation" sits at 0.04, its "medium" at 0.25; 0.15 leaves
# room for misspelt titles and a missing track or two, not for another album). Partial:
# at least PARTIAL_SHARE of the files fit and the distance stays <= PARTIAL_MAX, so the
# fitting files can be identified while the rest go to per-track search.
ACCEPT_MAX = 0.15
PARTIAL_MAX = 0.3
PARTIAL_SHARE = 2 / 3
# A file "fits" the track it is assigned to at a per-track distance up to this: a wrong
# title with the right length, or the right title 30 s off, does not.
TRACK_FIT_MAX = 0.3

_DISC_FOLDER = re.compile(r"^(?:cd|disc|disk|dvd)\s*[-_. ]?\s*(\d{1,2})\b", re.IGNORECASE)
_DISC_SUFFIX = re.compile(
    r"\s*(?:[\(\[]\s*(?:cd|disc|disk)\s*\d{1,2}[^\)\]]*[\)\]]|[-,:]?\s+(?:cd|disc|disk)\s*\d{1,2})\s*$", re.IGNORECASE
)
_FEATURING = re.compile(r"\s*[\(\[]?\s*\b(?:feat\.?|ft\.|featuring)\s+.*$", re.IGNORECASE)
_YEAR = re.compile(r"^\s*(\d{4})")


# -- local files and their clusters --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class LocalTrack:
    track_id: str
    title: str
    artist: str
    album_artist: str | None
    album: str | None
    folder: str
    track_number: int | None
    disc_number: int | None
    duration_ms: int | None
    year: int | None
    recording_mbid: str | None = None  # from the file's tags
    release_mbid: str | None = None  # from the file's tags


@dataclass(frozen=True, slots=True)
class AlbumCluster:
    """The files of one album as the library has them (or one file without an album)."""

    key: str  # stable across runs: derived from folder, artist and album (or the track id)
    artist: str
    album: str | None  # None: a single file without an album tag
    year: int | None
    disc_count: int
    tracks: tuple[LocalTrack, ...]

    @property
    def is_singleton(self) -> bool:
        return self.album is None


def _split_folder(folder: str) -> tuple[str, str]:
    trimmed = folder.rstrip("/\\")
    cut = max(trimmed.rfind("/"), trimmed.rfind("\\"))
    return (trimmed[:cut], trimmed[cut + 1 :]) if cut >= 0 else ("", trimmed)


def disc_of_folder(folder: str) -> int | None:
    """The disc a folder such as "CD2", "Disc 1" or "disc-3 (Live)" holds, else None."""
    match = _DISC_FOLDER.match(_split_folder(folder)[1].strip())
    return int(match.group(1)) or None if match else None


def album_folder(folder: str) -> str:
    """The album's own folder: a disc subfolder counts as its parent."""
    parent, _ = _split_folder(folder)
    return parent if disc_of_folder(folder) is not None and parent else folder.rstrip("/\\")


def album_key_title(album: str) -> str:
    """An album title for grouping: "Album (Disc 2)" and "Album - CD1" are "album"."""
    return normalize_name(_DISC_SUFFIX.sub("", album)) or normalize_name(album)


def _main_artist(artist: str) -> str:
    return normalize_name(_FEATURING.sub("", artist)) or normalize_name(artist)


def _most_common(values: Iterable[Any]) -> Any:
    counts = Counter(v for v in values if v not in (None, ""))
    if not counts:
        return None
    return min(counts.items(), key=lambda item: (-item[1], str(item[0])))[0]


def _stable_key(*parts: str) -> str:
    return hashlib.sha1("\x1f".join(parts).encode("utf-8")).hexdigest()[:16]


def _track_order(track: LocalTrack) -> tuple:
    return (track.disc_number or 1, track.track_number or 10_000, normalize_name(track.title), track.track_id)


def cluster_tracks(tracks: Iterable[LocalTrack]) -> list[AlbumCluster]:
    """Album clusters: same album folder (disc subfolders included), album artist and album title.

    Tracks without an album artist join the album artist most of their folder-mates carry,
    else group by their own artist with any "feat." part dropped. A disc number missing
    from the tags is taken from a "CD2" folder name. A track without an album tag is a
    cluster of its own.
    """
    buckets: dict[tuple[str, str], list[LocalTrack]] = {}
    singletons: list[AlbumCluster] = []
    for track in tracks:
        disc = disc_of_folder(track.folder)
        if track.disc_number is None and disc is not None:
            track = replace(track, disc_number=disc)
        if not track.album or not album_key_title(track.album):
            singletons.append(AlbumCluster(f"track:{track.track_id}", track.artist, None, track.year, 1, (track,)))
            continue
        buckets.setdefault((album_folder(track.folder), album_key_title(track.album)), []).append(track)

    clusters: list[AlbumCluster] = []
    for (folder, title_key), members in buckets.items():
        tagged = Counter(normalize_name(t.album_artist) for t in members if t.album_artist)
        majority = min(tagged.items(), key=lambda item: (-item[1], item[0]))[0] if tagged else None
        groups: dict[str, list[LocalTrack]] = {}
        for track in members:
            if track.album_artist:
                artist_key = normalize_name(track.album_artist)
            else:
                artist_key = majority if majority is not None else _main_artist(track.artist)
            groups.setdefault(artist_key, []).append(track)
        for artist_key, group in groups.items():
            ordered = tuple(sorted(group, key=_track_order))
            discs = {t.disc_number or 1 for t in ordered}
            clusters.append(
                AlbumCluster(
                    key=f"album:{_stable_key(folder, artist_key, title_key)}",
                    artist=_most_common(t.album_artist for t in ordered)
                    or _most_common(_FEATURING.sub("", t.artist) or t.artist for t in ordered)
                    or "",
                    album=_most_common(_DISC_SUFFIX.sub("", t.album or "").strip() or t.album for t in ordered),
                    year=_most_common(t.year for t in ordered),
                    disc_count=max(discs),
                    tracks=ordered,
                )
            )
    ordered_clusters = sorted(
        clusters, key=lambda c: (album_folder(c.tracks[0].folder), normalize_name(c.artist), c.album or "", c.key)
    )
    singletons.sort(key=lambda c: (c.tracks[0].folder, c.key))
    return ordered_clusters + singletons


# -- releases as MusicBrainz has them --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReleaseTrack:
    recording_mbid: str | None
    title: str
    artists: tuple[ArtistCredit, ...]
    position: int  # the track's number on its medium
    medium: int  # 1-based
    length_ms: int | None


@dataclass(frozen=True, slots=True)
class ReleaseCandidate:
    mbid: str
    title: str
    artists: tuple[ArtistCredit, ...]
    release_group_mbid: str | None
    release_group_type: str | None
    date: str | None
    country: str | None
    track_count: int | None
    mb_score: int | None
    tracks: tuple[ReleaseTrack, ...] = ()  # empty for a search hit: only a lookup lists them
    medium_count: int | None = None

    @property
    def artist_phrase(self) -> str:
        return ", ".join(a.name for a in self.artists if a.name)

    @property
    def year(self) -> int | None:
        match = _YEAR.match(self.date or "")
        return int(match.group(1)) if match else None


def _medium_tracks(medium: Mapping, medium_number: int) -> list[ReleaseTrack]:
    found = []
    # Data tracks are the audio files of an MP3 CD: they are the album's tracks too.
    rows = [*mb_dicts(medium.get("track-list")), *mb_dicts(medium.get("data-track-list"))]
    for index, track in enumerate(rows, 1):
        recording = mb_dict(track.get("recording"))
        found.append(
            ReleaseTrack(
                recording_mbid=mb_text(recording.get("id")),
                # The track's own title and length are what the release prints; the recording's are shared.
                title=mb_text(track.get("title")) or mb_text(recording.get("title")) or "",
                artists=credits_of(track) or credits_of(recording),
                position=mb_int(track.get("position")) or mb_int(track.get("number")) or index,
                medium=medium_number,
                length_ms=mb_int(track.get("length")) or mb_int(recording.get("length")),
            )
        )
    return found


def parse_release(obj: Mapping | None) -> ReleaseCandidate | None:
    """A release from a search or a lookup (with recordings and media); None without an id."""
    release = mb_dict(obj)
    if "release" in release and "id" not in release:  # a whole lookup answer: {"release": {...}}
        release = mb_dict(release.get("release"))
    mbid = mb_text(release.get("id"))
    if mbid is None:
        return None
    media = list(mb_dicts(release.get("medium-list")))
    tracks: list[ReleaseTrack] = []
    for index, medium in enumerate(media, 1):
        tracks.extend(_medium_tracks(medium, mb_int(medium.get("position")) or index))
    group = mb_dict(release.get("release-group"))
    listed_count = mb_int(release.get("medium-track-count"))
    if listed_count is None and media:
        counts = [mb_int(m.get("track-count")) for m in media]
        listed_count = sum(c for c in counts if c is not None) if any(c is not None for c in counts) else None
    return ReleaseCandidate(
        mbid=mbid,
        title=mb_text(release.get("title")) or "",
        artists=credits_of(release),
        release_group_mbid=mb_text(group.get("id")),
        release_group_type=mb_text(group.get("primary-type")) or mb_text(group.get("type")),
        date=mb_text(release.get("date")),
        country=mb_text(release.get("country")),
        track_count=len(tracks) if tracks else listed_count,
        mb_score=mb_int(release.get("ext:score")),
        tracks=tuple(tracks),
        medium_count=mb_int(release.get("medium-count")) or (len(media) or None),
    )


def releases_in(page: Mapping | None) -> list[ReleaseCandidate]:
    """The releases of a ``search_releases`` page."""
    return [c for c in map(parse_release, mb_dicts(mb_dict(page).get("release-list"))) if c is not None]


# -- distance ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrackAssignment:
    track_id: str
    recording_mbid: str | None
    position: int
    medium: int
    distance: float
    number_part: float | None  # None: the file has no track number
    title_part: float
    length_part: float | None  # None: a length is unknown


@dataclass(frozen=True, slots=True)
class ReleaseMatch:
    release: ReleaseCandidate
    distance: float
    parts: dict[str, float]  # each in [0, 1]; unknown parts (a year nobody knows) are left out
    assignments: tuple[TrackAssignment, ...]  # the files that fit a track
    unmatched_track_ids: tuple[str, ...]  # files that fit no track of this release
    missing_positions: tuple[tuple[int, int], ...]  # (medium, position) of tracks no file fits
    status: str  # accepted | partial | rejected
    reason: str


@dataclass(frozen=True, slots=True)
class TrackResult:
    """One file's identification through its album."""

    track_id: str
    recording_mbid: str
    release_mbid: str | None
    release_group_mbid: str | None
    distance: float


@dataclass(frozen=True, slots=True)
class AlbumDecision:
    cluster_key: str
    status: str  # accepted | partial | rejected | none
    reason: str
    chosen: ReleaseMatch | None
    matches: tuple[ReleaseMatch, ...] = ()  # every release compared, best first
    rule: str = "album_search"  # tags | release_tag | album_search
    query: str | None = None
    tag_results: tuple[TrackResult, ...] = ()  # rule "tags": what the files' own MBIDs say
    tag_conflicts: tuple[str, ...] = ()  # files whose recording tag disagrees with the match


def length_part(local_ms: int | None, release_ms: int | None) -> float | None:
    """0 within LENGTH_FREE_S, 1 from LENGTH_FULL_S apart, linear between; None when unknown."""
    return length_gap(local_ms, release_ms, LENGTH_FREE_S, LENGTH_FULL_S)


@lru_cache(maxsize=8192)
def _title_key(title: str) -> str:
    # Every file meets every track of a release: the keys are worth keeping.
    return track_title_key(title)


def title_part(local: str, release: str) -> float:
    """Title dissimilarity: edition notes and featured artists do not count, misspellings little."""
    return 1 - fuzz.ratio(_title_key(local), _title_key(release)) / 100


def number_part(local: LocalTrack, track: ReleaseTrack, absolute: int) -> float | None:
    """0 for the same number (on the same disc, or counted across discs), 0.5 for another disc, else 1."""
    if local.track_number is None:
        return None
    if local.track_number == track.position and local.disc_number in (None, track.medium):
        return 0.0
    if local.track_number == absolute and local.disc_number in (None, 1):
        return 0.0  # numbered straight through all discs
    if local.track_number == track.position:
        return 0.5
    return 1.0


def _weighted(parts: Iterable[tuple[float | None, float]]) -> float:
    known = [(value, weight) for value, weight in parts if value is not None]
    total = sum(weight for _, weight in known)
    return sum(value * weight for value, weight in known) / total if total else 0.0


def track_distance(local: LocalTrack, track: ReleaseTrack, absolute: int) -> TrackAssignment:
    number = number_part(local, track, absolute)
    title = title_part(local.title, track.title)
    length = length_part(local.duration_ms, track.length_ms)
    distance = _weighted(((number, TRACK_NUMBER_WEIGHT), (title, TRACK_TITLE_WEIGHT), (length, TRACK_LENGTH_WEIGHT)))
    if local.recording_mbid and local.recording_mbid == track.recording_mbid:
        distance = 0.0  # the file's own tag names this recording
    return TrackAssignment(
        local.track_id,
        track.recording_mbid,
        track.position,
        track.medium,
        round(distance, 4),
        None if number is None else round(number, 4),
        round(title, 4),
        None if length is None else round(length, 4),
    )


def album_title_part(local: str | None, release: str) -> float:
    """Mostly the titles without edition notes; the notes themselves count EDITION_SHARE."""
    if not local:
        return 0.5
    base = fuzz.ratio(base_title(local), base_title(release)) / 100
    full = fuzz.ratio(normalize_name(local), normalize_name(release)) / 100
    return (1 - EDITION_SHARE) * (1 - base) + EDITION_SHARE * (1 - full)


def artist_part(local: str, artists: Sequence[ArtistCredit]) -> float | None:
    """1 - the best similarity to a credited artist or the whole credit; None when either side names nobody."""
    if not artists or not local:
        return None
    phrase = ", ".join(a.name for a in artists if a.name)
    return 1 - max([name_similarity(local, a.name) for a in artists] + [name_similarity(local, phrase)])


def year_part(local: int | None, release: int | None) -> float | None:
    if not local or not release:
        return None
    return min(1.0, abs(local - release) / YEAR_FULL_SPAN)


def _assign(tracks: Sequence[LocalTrack], release: ReleaseCandidate) -> list[TrackAssignment]:
    """The one-to-one assignment of files to release tracks with the least total distance."""
    ordered = sorted(release.tracks, key=lambda t: (t.medium, t.position))
    if not tracks or not ordered:
        return []
    table = [[track_distance(local, rt, n) for n, rt in enumerate(ordered, 1)] for local in tracks]
    costs = [[cell.distance for cell in row] for row in table]
    # Munkres pads a rectangular matrix itself; files beyond the tracklist stay unassigned.
    return [table[row][col] for row, col in Munkres().compute(costs)]


def _explain(parts: Mapping[str, float]) -> str:
    return ", ".join(f"{name} {value:.2f}" for name, value in parts.items())


def match_release(cluster: AlbumCluster, release: ReleaseCandidate) -> ReleaseMatch:
    """How far the cluster is from the release, with the files assigned to its tracks."""
    if not release.tracks:
        return ReleaseMatch(
            release, 1.0, {}, (), tuple(t.track_id for t in cluster.tracks), (), REJECTED, "no tracklist"
        )
    assigned = _assign(cluster.tracks, release)
    fitting = [a for a in assigned if a.distance <= TRACK_FIT_MAX]
    fitting_ids = {a.track_id for a in fitting}
    fitted_slots = {(a.medium, a.position) for a in fitting}
    unmatched = tuple(t.track_id for t in cluster.tracks if t.track_id not in fitting_ids)
    missing = tuple(
        sorted({(t.medium, t.position) for t in release.tracks if (t.medium, t.position) not in fitted_slots})
    )
    files = len(cluster.tracks)
    # A file that fits nothing counts as a whole track's distance here and again as unmatched.
    per_file = [a.distance for a in fitting] + [1.0] * (files - len(fitting))
    candidates: dict[str, float | None] = {
        "album": album_title_part(cluster.album, release.title),
        "artist": artist_part(cluster.artist, release.artists),
        "tracks": sum(per_file) / files if files else 1.0,
        "missing": len(missing) / len(release.tracks),
        "unmatched": len(unmatched) / files if files else 0.0,
        "year": year_part(cluster.year, release.year),
    }
    weights = {
        "album": ALBUM_WEIGHT,
        "artist": ARTIST_WEIGHT,
        "tracks": TRACKS_WEIGHT,
        "missing": MISSING_WEIGHT,
        "unmatched": UNMATCHED_WEIGHT,
        "year": YEAR_WEIGHT,
    }
    parts = {name: round(value, 4) for name, value in candidates.items() if value is not None}
    distance = round(_weighted((value, weights[name]) for name, value in parts.items()), 4)
    share = len(fitting) / files if files else 0.0
    artist = parts.get("artist")
    if artist is not None and 1 - artist < MIN_ARTIST:
        status, reason = REJECTED, f"another artist ({release.artist_phrase})"
    elif distance <= ACCEPT_MAX and not unmatched:
        status, reason = ACCEPTED, f"distance {distance:.3f} <= {ACCEPT_MAX}"
    elif distance <= PARTIAL_MAX and share >= PARTIAL_SHARE:
        status = PARTIAL
        reason = f"{len(fitting)} of {files} files fit, distance {distance:.3f}"
    else:
        status = REJECTED
        reason = f"distance {distance:.3f}, {len(fitting)} of {files} files fit"
    return ReleaseMatch(
        release,
        distance,
        parts,
        tuple(sorted(fitting, key=lambda a: (a.medium, a.position))),
        unmatched,
        missing,
        status,
        f"{reason} ({_explain(parts)})",
    )


_STATUS_ORDER = {ACCEPTED: 0, PARTIAL: 1, REJECTED: 2}


def _rank(match: ReleaseMatch) -> tuple:
    return (
        _STATUS_ORDER[match.status],
        match.distance,
        match.release.release_group_type != "Album",
        -(match.release.mb_score or 0),
        match.release.date or "9999",
        match.release.mbid,
    )


def choose_release(
    cluster: AlbumCluster,
    candidates: Sequence[ReleaseCandidate],
    *,
    rule: str = "album_search",
    query: str | None = None,
) -> AlbumDecision:
    """Every candidate matched and ranked; the best accepted or partial one is chosen."""
    matched = [match_release(cluster, c) for c in {c.mbid: c for c in candidates}.values()]
    return choose_among(cluster, matched, rule=rule, query=query)


def choose_among(
    cluster: AlbumCluster,
    matched: Sequence[ReleaseMatch],
    *,
    rule: str = "album_search",
    query: str | None = None,
) -> AlbumDecision:
    """``choose_release`` for releases already matched against the cluster (one match each)."""
    matches = sorted(matched, key=_rank)
    if not matches:
        return AlbumDecision(cluster.key, NONE, "no candidate release", None, (), rule, query)
    best = matches[0]
    if best.status == REJECTED:
        return AlbumDecision(
            cluster.key, REJECTED, f"every release refused; best: {best.reason}", None, tuple(matches), rule, query
        )
    return AlbumDecision(
        cluster.key,
        best.status,
        f"{best.release.title} [{best.release.mbid}]: {best.reason}",
        best,
        tuple(matches),
        rule,
        query,
    )


def search_hit_distance(cluster: AlbumCluster, hit: ReleaseCandidate) -> float:
    """A cheap distance from a search hit alone (title, artist, track count), to pick what to look up."""
    artist = artist_part(cluster.artist, hit.artists)
    count = None
    if hit.track_count:
        count = min(1.0, abs(hit.track_count - len(cluster.tracks)) / max(hit.track_count, len(cluster.tracks)))
    return round(
        _weighted(
            (
                (album_title_part(cluster.album, hit.title), ALBUM_WEIGHT),
                (artist, ARTIST_WEIGHT),
                (count, TRACKS_WEIGHT),
            )
        ),
        4,
    )


def artist_vetoed(cluster: AlbumCluster, hit: ReleaseCandidate) -> bool:
    part = artist_part(cluster.artist, hit.artists)
    return part is not None and 1 - part < MIN_ARTIST
