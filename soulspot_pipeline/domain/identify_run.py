"""One identification pass over the library: which requests to make, in which order.

Tracks with an ISRC are looked up many at a time (one search per batch of ISRCs).
Local files that are left are matched album by album (``identify_albums``: one release
search per album, not one recording search per track), and what neither settles is
searched track by track. Artists and albums take their MBIDs from the recordings their
tracks matched, and are searched for only when that says nothing. Works on any
``MusicBrainzLike`` (the resource, or anything shaped like it).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Protocol

from soulspot_pipeline.domain.acoustid import AcoustidMatch
from soulspot_pipeline.domain.album_match import AlbumCluster, AlbumDecision, LocalTrack, ReleaseMatch, cluster_tracks
from soulspot_pipeline.domain.identify import (
    ACCEPTED,
    NONE,
    REJECTED,
    Decision,
    NamedCandidate,
    RecordingCandidate,
    ReleaseRef,
    Scored,
    WantedTrack,
    identify_named,
    identify_track,
    name_similarity,
    vote,
)
from soulspot_pipeline.domain.identify_albums import ReleaseSource, choose_edition, identify_albums
from soulspot_pipeline.domain.matching import base_title, duration_score

# AcoustID's score says how well the fingerprints agree; from this on, a match identifies the
# file whatever its tags say (a misnamed file is what fingerprints are for).
ACOUSTID_ACCEPT = 0.85
CREDIT_MATCH = 0.85  # a credited artist is ours when the names are this close
RELEASE_MATCH = 0.85  # a matched release is our album when the titles are this close


class MusicBrainzLike(Protocol):
    def recordings_by_isrc(self, isrcs: list[str]) -> dict[str, list[RecordingCandidate]]: ...

    def search_recordings(self, title: str, artist: str) -> tuple[str, list[RecordingCandidate]]: ...

    def search_artists(self, name: str) -> tuple[str, list[NamedCandidate]]: ...

    def search_release_groups(self, title: str, artist: str) -> tuple[str, list[NamedCandidate]]: ...


@dataclass(frozen=True, slots=True)
class TrackTodo:
    track_id: str
    title: str
    artist_id: str
    artist: str
    album_id: str | None
    album: str | None
    duration_ms: int | None
    isrc: str | None
    facts_hash: str


@dataclass(frozen=True, slots=True)
class NamedTodo:
    entity_id: str
    name: str
    artist: str | None  # albums: the album artist
    facts_hash: str


# A candidate as MusicBrainz has it: (title, artist, album, length).
Shown = tuple[str | None, str | None, str | None, int | None]


@dataclass
class Outcome:
    """One entity's identification: the rule and query that produced its candidates."""

    entity_type: str
    entity_id: str
    rule: str
    query: str | None
    decision: Decision
    facts_hash: str
    release_mbid: str | None = None
    # mbid -> (title, artist, album, length) as MusicBrainz has them, for match_candidates.
    shown: dict[str, Shown] = field(default_factory=dict)


def _show_recordings(candidates: Sequence[RecordingCandidate], scored: Sequence[Scored]) -> dict[str, Shown]:
    by_mbid = {c.mbid: c for c in candidates}
    return {
        s.mbid: (
            by_mbid[s.mbid].title,
            by_mbid[s.mbid].artist_phrase,
            s.best_release.title if s.best_release else None,
            by_mbid[s.mbid].length_ms,
        )
        for s in scored
    }


@dataclass
class LibraryIdentification:
    outcomes: list[Outcome]
    albums: list[AlbumDecision]  # every album cluster matched against releases
    clusters: dict[str, AlbumCluster] = field(default_factory=dict)  # by key


def _album_outcomes(decision: AlbumDecision, todo: Mapping[str, TrackTodo]) -> list[tuple[Outcome, RecordingCandidate]]:
    """The tracks an accepted or partial release settles, each with the recording it took."""
    chosen: ReleaseMatch | None = decision.chosen
    if chosen is None:
        return []
    release = chosen.release
    ref = ReleaseRef(release.mbid, release.title, release.release_group_mbid, release.release_group_type, release.date)
    on_release = {(t.medium, t.position): t for t in release.tracks}
    settled = []
    for fit in chosen.assignments:
        track = todo.get(fit.track_id)
        printed = on_release.get((fit.medium, fit.position))
        if track is None or printed is None or not fit.recording_mbid:
            continue
        recording = RecordingCandidate(
            fit.recording_mbid, printed.title, printed.artists or release.artists, printed.length_ms, releases=(ref,)
        )
        total = round(1 - fit.distance, 4)
        reason = (
            f"track {fit.medium}-{fit.position} of {release.title} [{release.mbid}]: "
            f"track distance {fit.distance:.3f}, album {decision.status} at {chosen.distance:.3f}"
        )
        scored = Scored(
            fit.recording_mbid,
            round(1 - fit.title_part, 4),
            round(1 - chosen.parts.get("artist", 0.0), 4),
            round(1 - chosen.parts.get("album", 0.0), 4),
            round(1 - (fit.length_part or 0.0), 4),
            total,
            False,
            ACCEPTED,
            reason,
            best_release=ref,
        )
        outcome = Outcome(
            "track",
            track.track_id,
            "album_match",
            decision.query,
            Decision(ACCEPTED, fit.recording_mbid, total, reason, [scored]),
            track.facts_hash,
            release_mbid=release.mbid,
            shown={fit.recording_mbid: (printed.title, recording.artist_phrase, release.title, printed.length_ms)},
        )
        settled.append((outcome, recording))
    return settled


def acoustid_outcome(todo: TrackTodo, matches: Sequence[AcoustidMatch]) -> Outcome | None:
    """The track's identification by its fingerprint; None when AcoustID knows no recording.
    Recordings sharing the best score (one fingerprint, several recordings) are told apart by
    how well they fit the file's own title and artist."""
    if not matches:
        return None
    ranked = sorted(
        matches,
        key=lambda m: (
            -m.score,
            -(name_similarity(todo.title, m.title) + name_similarity(todo.artist, m.artist_credit)),
            m.recording_mbid,
        ),
    )
    best = ranked[0]
    accepted = best.score >= ACOUSTID_ACCEPT
    scored = [
        Scored(
            m.recording_mbid,
            round(name_similarity(todo.title, m.title), 4),
            round(name_similarity(todo.artist, m.artist_credit), 4),
            0.5,
            round(duration_score(todo.duration_ms, round(m.duration_s * 1000) if m.duration_s else None) or 0.5, 4),
            round(m.score, 4),
            False,
            ACCEPTED if accepted and m is best else REJECTED,
            f"AcoustID fingerprint score {m.score:.2f}",
        )
        for m in ranked
    ]
    if accepted:
        decision = Decision(ACCEPTED, best.recording_mbid, scored[0].total, scored[0].reason, scored)
    else:
        decision = Decision(
            NONE, None, scored[0].total, f"best fingerprint score {best.score:.2f} < {ACOUSTID_ACCEPT}", scored
        )
    shown: dict[str, Shown] = {
        m.recording_mbid: (
            m.title,
            m.artist_credit,
            m.release_group_titles[0] if m.release_group_titles else None,
            round(m.duration_s * 1000) if m.duration_s else None,
        )
        for m in ranked
    }
    return Outcome(
        "track", todo.track_id, "acoustid", f"acoustid:{best.acoustid}", decision, todo.facts_hash, shown=shown
    )


def _shared_releases(
    cluster: AlbumCluster, matched: Mapping[str, tuple[RecordingCandidate, Scored]]
) -> list[ReleaseRef]:
    """The releases every track of the cluster's matched recording is on."""
    shared: dict[str, ReleaseRef] | None = None
    for track in cluster.tracks:
        on = {r.mbid: r for r in matched[track.track_id][0].releases}
        shared = on if shared is None else {m: r for m, r in shared.items() if m in on}
    return list((shared or {}).values())


def identify_library(
    tracks: Sequence[TrackTodo],
    artists: Sequence[NamedTodo],
    albums: Sequence[NamedTodo],
    mb: MusicBrainzLike,
    progress: Callable[[str], None] | None = None,
    *,
    local: Mapping[str, LocalTrack] | None = None,
    release_source: ReleaseSource | None = None,
) -> LibraryIdentification:
    """``local``: the file facts of tracks on disk (track id -> facts), matched album by album
    against ``release_source`` (``ParsedReleases`` of the resource); without them every track is searched on its own."""
    say = progress or (lambda _: None)
    outcomes: list[Outcome] = []
    album_decisions: list[AlbumDecision] = []
    clusters: list[AlbumCluster] = []
    matched: dict[str, tuple[RecordingCandidate, Scored]] = {}  # track id -> its accepted recording

    def settle(todo: TrackTodo, rule: str, query: str | None, candidates: list[RecordingCandidate]) -> Outcome:
        wanted = WantedTrack(todo.title, todo.artist, todo.album, todo.duration_ms, todo.isrc)
        decision = identify_track(wanted, candidates)
        outcome = Outcome(
            "track",
            todo.track_id,
            rule,
            query,
            decision,
            todo.facts_hash,
            shown=_show_recordings(candidates, decision.candidates),
        )
        if decision.status == ACCEPTED:
            best = decision.candidates[0]
            matched[todo.track_id] = ({c.mbid: c for c in candidates}[best.mbid], best)
        return outcome

    with_isrc = [(t, t.isrc) for t in tracks if t.isrc]
    say(f"identifying {len(tracks)} tracks ({len(with_isrc)} by ISRC), {len(artists)} artists, {len(albums)} albums")
    by_isrc = mb.recordings_by_isrc([isrc for _, isrc in with_isrc]) if with_isrc else {}
    searched = [t for t in tracks if not t.isrc]
    for todo, isrc in with_isrc:
        candidates = by_isrc.get(isrc) or []
        if not candidates:
            searched.append(todo)  # MusicBrainz does not know the ISRC: search by name
            continue
        outcomes.append(settle(todo, "isrc", f"isrc:{isrc}", candidates))
    if local and release_source is not None:
        editions = release_source
        # Files of one album found by ISRC: their recordings may be on several releases (an
        # original and its remaster share them); the tracklists tell which the files are.
        for cluster in cluster_tracks(
            local[t.track_id] for t, _ in with_isrc if t.track_id in matched and t.track_id in local
        ):
            shared = _shared_releases(cluster, matched)
            ref = shared[0] if len(shared) == 1 else None  # one release holds them all: no request
            edition = choose_edition(cluster, shared, editions)
            if edition is not None and edition.chosen is not None:
                album_decisions.append(edition)
                clusters.append(cluster)
                chosen = edition.chosen.release
                ref = ReleaseRef(
                    chosen.mbid, chosen.title, chosen.release_group_mbid, chosen.release_group_type, chosen.date
                )
            if ref is None or len(cluster.tracks) < 2:
                continue
            for track in cluster.tracks:
                recording, scored = matched[track.track_id]
                matched[track.track_id] = (recording, replace(scored, best_release=ref))
        left = {t.track_id: t for t in searched}
        searched_clusters = cluster_tracks(local[t.track_id] for t in searched if t.track_id in local)
        album_decisions += identify_albums(searched_clusters, editions, progress=say)
        clusters += searched_clusters
        for album_decision in album_decisions:
            for outcome, recording in _album_outcomes(album_decision, left):
                outcomes.append(outcome)
                matched[outcome.entity_id] = (recording, outcome.decision.candidates[0])
        searched = [t for t in searched if t.track_id not in matched]
    for n, todo in enumerate(searched, 1):
        query, candidates = mb.search_recordings(todo.title, todo.artist)
        outcomes.append(settle(todo, "recording_search", query, candidates))
        if n % 50 == 0:
            say(f"searched {n} of {len(searched)} tracks without a known ISRC")

    tracks_of_artist: dict[str, list[str]] = defaultdict(list)
    tracks_of_album: dict[str, list[str]] = defaultdict(list)
    for todo in tracks:
        if todo.track_id in matched:
            tracks_of_artist[todo.artist_id].append(todo.track_id)
            if todo.album_id:
                tracks_of_album[todo.album_id].append(todo.track_id)

    for artist in artists:
        credits = [
            (credit.mbid, credit.name)
            for track_id in tracks_of_artist.get(artist.entity_id, ())
            for credit in matched[track_id][0].artists
            if name_similarity(artist.name, credit.name) >= CREDIT_MATCH
        ]
        if credits:
            outcomes.append(_from_votes("artist", artist, [m for m, _ in credits], dict(credits)))
            continue
        query, named = mb.search_artists(artist.name)
        decision = identify_named(artist.name, named)
        shown: dict[str, Shown] = {c.mbid: (c.name, c.disambiguation, None, None) for c in named}
        outcomes.append(
            Outcome("artist", artist.entity_id, "artist_search", query, decision, artist.facts_hash, shown=shown)
        )

    for album in albums:
        found = [matched[track_id][1].best_release for track_id in tracks_of_album.get(album.entity_id, ())]
        # (release group, release) of each matched release that is this album
        releases = [
            (r.release_group_mbid, r)
            for r in found
            if r is not None
            and r.release_group_mbid
            and name_similarity(base_title(album.name), base_title(r.title)) >= RELEASE_MATCH
        ]
        if releases:
            outcome = _from_votes(
                "album",
                album,
                [group for group, _ in releases],
                {group: r.title for group, r in releases},
            )
            if outcome.decision.mbid:
                outcome.release_mbid = vote(r.mbid for group, r in releases if group == outcome.decision.mbid)[0]
            outcomes.append(outcome)
            continue
        if not album.artist:
            continue
        query, named = mb.search_release_groups(album.name, album.artist)
        decision = identify_named(album.name, named, wanted_artist=album.artist, edition_blind=True)
        shown = {c.mbid: (c.name, c.artist, c.release_group_type, None) for c in named}
        outcomes.append(
            Outcome("album", album.entity_id, "release_group_search", query, decision, album.facts_hash, shown=shown)
        )
    return LibraryIdentification(outcomes, album_decisions, {c.key: c for c in clusters})


def _from_votes(entity_type: str, todo: NamedTodo, mbids: list[str], names: dict[str, str]) -> Outcome:
    """The MBID the entity's matched recordings agree on (a plain majority of them)."""
    winner, votes, total = vote(mbids)
    counts = {m: mbids.count(m) for m in set(mbids)}
    scored = [
        Scored(
            mbid,
            1.0,
            1.0,
            0.5,
            0.5,
            round(n / total, 4),
            False,
            ACCEPTED if mbid == winner and votes * 2 > total else REJECTED,
            f"credited on {n} of {total} matched recordings",
            None,
        )
        for mbid, n in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]
    if scored[0].decision == ACCEPTED:
        decision = Decision(ACCEPTED, winner, scored[0].total, scored[0].reason, scored)
    else:
        decision = Decision(NONE, None, scored[0].total, f"matched recordings disagree: {scored[0].reason}", scored)
    return Outcome(
        entity_type,
        todo.entity_id,
        "from_recordings",
        None,
        decision,
        todo.facts_hash,
        shown={m: (names.get(m), None, None, None) for m in counts},
    )
