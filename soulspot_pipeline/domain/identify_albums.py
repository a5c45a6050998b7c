"""Identifying the library album by album: one release search per cluster, not one per track.

A cluster whose files all carry recording MBIDs needs no request at all; one whose
files all name the same release costs a single lookup. Any other album costs one
release search and a lookup of the few hits that look closest, whose tracklists are
then matched against the files. Single files without an album are left to the
per-track recording search. Works on any ``ReleaseSource``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

from soulspot_pipeline.domain.album_match import (
    ACCEPTED,
    NONE,
    PARTIAL,
    AlbumCluster,
    AlbumDecision,
    ReleaseCandidate,
    ReleaseMatch,
    TrackResult,
    album_title_part,
    artist_vetoed,
    choose_among,
    choose_release,
    match_release,
    parse_release,
    releases_in,
    search_hit_distance,
)
from soulspot_pipeline.domain.identify import ReleaseRef

LOOKUPS_PER_CLUSTER = 3
# An album search costs a search and a lookup or more: for fewer files than this, searching
# each file's recording costs no more and needs no tracklist.
MIN_SEARCHED_FILES = 3
# A looked-up release this close, every file fitting and every length within a second, ends
# the lookups: the next hits rank lower already, and each lookup is a request (one a second at
# the public server). Lengths a few seconds off fit, but are how a remaster differs from its
# original: the next hit may be the edition the files are.
CLEAR_FIT = 0.05
CLEAR_LENGTH_MS = 1000


class ReleaseSource(Protocol):
    def search_releases(
        self, album: str, artist: str, track_count: int, year: int | None
    ) -> tuple[str, list[ReleaseCandidate]]: ...

    def release(self, mbid: str) -> ReleaseCandidate | None: ...


class RawReleaseSource(Protocol):
    """What answers in musicbrainzngs' dicts (the MusicBrainz resource)."""

    def search_releases_raw(
        self, album: str, artist: str | None, track_count: int | None = None, year: int | None = None
    ) -> tuple[str, Mapping]: ...

    def release_with_tracks_raw(self, mbid: str) -> Mapping | None: ...


@dataclass(frozen=True)
class ParsedReleases:
    """A ``ReleaseSource`` over a ``RawReleaseSource``: its answers parsed."""

    raw: RawReleaseSource

    def search_releases(
        self, album: str, artist: str, track_count: int, year: int | None
    ) -> tuple[str, list[ReleaseCandidate]]:
        query, page = self.raw.search_releases_raw(album, artist, track_count, year)
        return query, releases_in(page)

    def release(self, mbid: str) -> ReleaseCandidate | None:
        return parse_release(self.raw.release_with_tracks_raw(mbid))


def _from_tags(cluster: AlbumCluster) -> AlbumDecision:
    results = tuple(
        TrackResult(t.track_id, t.recording_mbid, t.release_mbid, None, 0.0) for t in cluster.tracks if t.recording_mbid
    )
    return AlbumDecision(
        cluster.key, ACCEPTED, "every file carries its recording MBID", None, rule="tags", tag_results=results
    )


def _with_tag_check(decision: AlbumDecision, cluster: AlbumCluster) -> AlbumDecision:
    """Files whose recording tag names another recording than the one they were matched to."""
    if decision.chosen is None:
        return decision
    matched = {a.track_id: a.recording_mbid for a in decision.chosen.assignments}
    conflicts = tuple(
        t.track_id
        for t in cluster.tracks
        if t.recording_mbid and t.track_id in matched and matched[t.track_id] != t.recording_mbid
    )
    if not conflicts:
        return decision
    return replace(
        decision,
        tag_conflicts=conflicts,
        reason=f"{decision.reason}; {len(conflicts)} file(s) tagged with another recording",
    )


def _complete(looked_up: ReleaseCandidate, hit: ReleaseCandidate | None) -> ReleaseCandidate:
    """A lookup made without artist credits or release group still knows them from the search hit."""
    if hit is None:
        return looked_up
    return replace(
        looked_up,
        artists=looked_up.artists or hit.artists,
        release_group_mbid=looked_up.release_group_mbid or hit.release_group_mbid,
        release_group_type=looked_up.release_group_type or hit.release_group_type,
        mb_score=looked_up.mb_score if looked_up.mb_score is not None else hit.mb_score,
    )


def _fits_clearly(cluster: AlbumCluster, match: ReleaseMatch) -> bool:
    if match.status != ACCEPTED or match.distance > CLEAR_FIT:
        return False
    lengths = {t.track_id: t.duration_ms for t in cluster.tracks}
    printed = {(t.medium, t.position): t.length_ms for t in match.release.tracks}
    for fit in match.assignments:
        ours, theirs = lengths.get(fit.track_id), printed.get((fit.medium, fit.position))
        if ours and theirs and abs(ours - theirs) > CLEAR_LENGTH_MS:
            return False
    return True


def identify_album(
    cluster: AlbumCluster, source: ReleaseSource, *, lookups_per_cluster: int = LOOKUPS_PER_CLUSTER
) -> AlbumDecision | None:
    """One cluster's decision; None for a single file without an album, or an untagged album of
    fewer than ``MIN_SEARCHED_FILES`` files (left to the per-track search)."""
    if cluster.is_singleton or not cluster.tracks:
        return None
    if all(t.recording_mbid for t in cluster.tracks):
        return _from_tags(cluster)
    tagged_releases = {t.release_mbid for t in cluster.tracks}
    tagged = next(iter(tagged_releases)) if len(tagged_releases) == 1 else None
    if tagged is not None:
        release = source.release(tagged)
        if release is not None:
            # The files chose this release themselves: its verdict stands, even a rejection.
            decision = choose_release(cluster, [release], rule="release_tag", query=f"release:{tagged}")
            return _with_tag_check(decision, cluster)
        # The tagged release is gone from MusicBrainz (deleted): search as for an untagged album.
    if len(cluster.tracks) < MIN_SEARCHED_FILES:
        return None

    query, hits = source.search_releases(cluster.album or "", cluster.artist, len(cluster.tracks), cluster.year)
    unique = {h.mbid: h for h in hits}
    ranked = sorted(
        (h for h in unique.values() if not artist_vetoed(cluster, h)),
        key=lambda h: (search_hit_distance(cluster, h), -(h.mb_score or 0), h.mbid),
    )
    if not ranked:
        reason = "release search found nothing" if not unique else "every release found is another artist's"
        return AlbumDecision(cluster.key, NONE, reason, None, rule="album_search", query=query)
    matched = _look_up(cluster, ranked[:lookups_per_cluster], source)
    return _with_tag_check(choose_among(cluster, matched, rule="album_search", query=query), cluster)


def _look_up(
    cluster: AlbumCluster, hits: Sequence[ReleaseCandidate | ReleaseRef], source: ReleaseSource
) -> list[ReleaseMatch]:
    """The hits' releases with their tracklists, each matched against the files, in order, until
    one fits them clearly."""
    matched: list[ReleaseMatch] = []
    for hit in {h.mbid: h for h in hits}.values():
        release = source.release(hit.mbid)
        if release is None:
            continue
        matched.append(
            match_release(cluster, _complete(release, hit) if isinstance(hit, ReleaseCandidate) else release)
        )
        if _fits_clearly(cluster, matched[-1]):
            break
    return matched


def choose_edition(
    cluster: AlbumCluster,
    releases: Sequence[ReleaseRef],
    source: ReleaseSource,
    *,
    lookups: int = LOOKUPS_PER_CLUSTER,
) -> AlbumDecision | None:
    """Which of ``releases`` (each holding every recording of the cluster, as an original and its
    remaster do) the files are, by their tracklists; None when there is no choice to make."""
    if len(releases) < 2 or len(cluster.tracks) < MIN_SEARCHED_FILES:
        return None
    ranked = sorted(releases, key=lambda r: (album_title_part(cluster.album, r.title), r.date or "9999", r.mbid))
    query = "releases of the recordings: " + " ".join(r.mbid for r in ranked[:lookups])
    return choose_among(cluster, _look_up(cluster, ranked[:lookups], source), rule="recording_releases", query=query)


def identify_albums(
    clusters: Sequence[AlbumCluster],
    source: ReleaseSource,
    *,
    lookups_per_cluster: int = LOOKUPS_PER_CLUSTER,
    progress: Callable[[str], None] | None = None,
) -> list[AlbumDecision]:
    """A decision for every cluster with an album, in the clusters' order; single files and
    small untagged albums are left to the per-track search."""
    say = progress or (lambda _: None)
    albums = [c for c in clusters if not c.is_singleton]
    say(f"identifying {len(albums)} albums ({len(clusters) - len(albums)} single files left to track search)")
    decisions = []
    for n, cluster in enumerate(albums, 1):
        decision = identify_album(cluster, source, lookups_per_cluster=lookups_per_cluster)
        if decision is not None:
            decisions.append(decision)
        if n % 25 == 0:
            say(f"matched {n} of {len(albums)} albums")
    return decisions


def track_results(decision: AlbumDecision) -> list[TrackResult]:
    """Per-file results of an accepted or partial decision (only the files that fit a track)."""
    if decision.status not in (ACCEPTED, PARTIAL):
        return []
    if decision.rule == "tags":
        return list(decision.tag_results)
    if decision.chosen is None:
        return []
    release = decision.chosen.release
    return [
        TrackResult(a.track_id, a.recording_mbid, release.mbid, release.release_group_mbid, a.distance)
        for a in decision.chosen.assignments
        if a.recording_mbid
    ]
