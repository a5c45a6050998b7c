"""Scoring MusicBrainz candidates against what the library knows, and deciding.

Never "take the top hit": every candidate gets a weighted score over title, artist,
album and duration, and two thresholds split accept, ambiguous (kept for review, not
applied) and none. Some facts veto on their own: another artist, or a length far from
the file's. An ISRC shared with the track is strong evidence, but still has to carry a
plausible title and artist (ISRCs are sometimes assigned to the wrong recording).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rapidfuzz import fuzz

from soulspot_pipeline.domain.matching import base_title, duration_score, track_title_key
from soulspot_pipeline.domain.text import normalize_name

ACCEPTED, AMBIGUOUS, REJECTED, NONE = "accepted", "ambiguous", "rejected", "none"

TITLE_WEIGHT, ARTIST_WEIGHT, ALBUM_WEIGHT, DURATION_WEIGHT = 0.4, 0.3, 0.15, 0.15
ACCEPT_AT = 0.85
AMBIGUOUS_AT = 0.65
MIN_ARTIST = 0.6  # below this the candidate is another artist's, whatever else matches
ISRC_MIN_TITLE = ISRC_MIN_ARTIST = 0.5
NAME_ACCEPT_AT = 0.95  # artist names: only (near) exact names identify an artist


@dataclass(frozen=True, slots=True)
class ReleaseRef:
    mbid: str
    title: str
    release_group_mbid: str | None
    release_group_type: str | None = None
    date: str | None = None


@dataclass(frozen=True, slots=True)
class ArtistCredit:
    mbid: str
    name: str
    sort_name: str | None = None
    disambiguation: str | None = None


@dataclass(frozen=True, slots=True)
class RecordingCandidate:
    mbid: str
    title: str
    artists: tuple[ArtistCredit, ...]
    length_ms: int | None
    mb_score: int | None = None
    isrcs: tuple[str, ...] = ()
    releases: tuple[ReleaseRef, ...] = ()

    @property
    def artist_phrase(self) -> str:
        return ", ".join(a.name for a in self.artists if a.name)


@dataclass(frozen=True, slots=True)
class WantedTrack:
    title: str
    artist: str
    album: str | None = None
    duration_ms: int | None = None
    isrc: str | None = None


@dataclass(frozen=True, slots=True)
class Scored:
    mbid: str
    title: float
    artist: float
    album: float
    duration: float
    total: float
    isrc_match: bool
    decision: str
    reason: str
    mb_score: int | None = None
    best_release: ReleaseRef | None = None


@dataclass
class Decision:
    """The outcome for one entity: the accepted MBID (if any) and every candidate scored."""

    status: str  # accepted | ambiguous | none
    mbid: str | None
    score: float | None
    reason: str
    candidates: list[Scored] = field(default_factory=list)


def name_similarity(a: str | None, b: str | None) -> float:
    if not a or not b:
        return 0.0
    return fuzz.token_sort_ratio(normalize_name(a), normalize_name(b)) / 100


def score_recording(wanted: WantedTrack, candidate: RecordingCandidate) -> Scored:
    title = fuzz.ratio(track_title_key(wanted.title), track_title_key(candidate.title)) / 100
    artist = max(
        [name_similarity(wanted.artist, a.name) for a in candidate.artists]
        + [name_similarity(wanted.artist, candidate.artist_phrase)],
        default=0.0,
    )
    best_release, album = None, None
    if wanted.album and candidate.releases:
        best_release = max(
            candidate.releases,
            key=lambda r: (
                fuzz.ratio(base_title(wanted.album), base_title(r.title)),
                r.release_group_type == "Album",
                r.mbid,
            ),
        )
        album = fuzz.ratio(base_title(wanted.album), base_title(best_release.title)) / 100
    elif candidate.releases:
        best_release = min(candidate.releases, key=lambda r: (r.date or "9999", r.mbid))
    duration = duration_score(wanted.duration_ms, candidate.length_ms)
    album_value = 0.5 if album is None else album
    duration_value = 0.5 if duration is None else duration
    total = round(
        TITLE_WEIGHT * title + ARTIST_WEIGHT * artist + ALBUM_WEIGHT * album_value + DURATION_WEIGHT * duration_value, 4
    )
    isrc_match = bool(wanted.isrc and wanted.isrc in candidate.isrcs)

    if artist < MIN_ARTIST:
        decision, reason = REJECTED, f"another artist ({candidate.artist_phrase})"
    elif duration == 0.0 and wanted.duration_ms and candidate.length_ms:  # 0.0 is only scored for two known lengths
        decision, reason = REJECTED, f"length differs by {abs(wanted.duration_ms - candidate.length_ms) / 1000:.0f} s"
    elif isrc_match and title >= ISRC_MIN_TITLE and artist >= ISRC_MIN_ARTIST:
        decision, reason = ACCEPTED, "same ISRC, plausible title and artist"
    elif isrc_match:
        decision, reason = REJECTED, "same ISRC but another song"
    elif total >= ACCEPT_AT:
        decision, reason = ACCEPTED, f"score {total:.2f} >= {ACCEPT_AT}"
    elif total >= AMBIGUOUS_AT:
        decision, reason = AMBIGUOUS, f"score {total:.2f} between {AMBIGUOUS_AT} and {ACCEPT_AT}"
    else:
        decision, reason = REJECTED, f"score {total:.2f} < {AMBIGUOUS_AT}"
    return Scored(
        candidate.mbid,
        round(title, 4),
        round(artist, 4),
        round(album_value, 4),
        round(duration_value, 4),
        total,
        isrc_match,
        decision,
        reason,
        candidate.mb_score,
        best_release,
    )


def _rank(scored: Scored) -> tuple:
    return (
        {ACCEPTED: 0, AMBIGUOUS: 1, REJECTED: 2}[scored.decision],
        not scored.isrc_match,
        -scored.total,
        -(scored.mb_score or 0),
        scored.mbid,
    )


def decide(scored: Iterable[Scored], *, nothing_found: str = "no candidate") -> Decision:
    """The best candidate decides: accepted, ambiguous, or none at all."""
    ranked = sorted(scored, key=_rank)
    if not ranked:
        return Decision(NONE, None, None, nothing_found, [])
    best = ranked[0]
    if best.decision == ACCEPTED:
        return Decision(ACCEPTED, best.mbid, best.total, best.reason, ranked)
    if best.decision == AMBIGUOUS:
        return Decision(AMBIGUOUS, None, best.total, f"best candidate {best.mbid} is ambiguous: {best.reason}", ranked)
    return Decision(NONE, None, best.total, f"every candidate refused; best: {best.reason}", ranked)


def identify_track(wanted: WantedTrack, candidates: Sequence[RecordingCandidate]) -> Decision:
    return decide(score_recording(wanted, c) for c in {c.mbid: c for c in candidates}.values())


@dataclass(frozen=True, slots=True)
class NamedCandidate:
    """An artist or release group from a search: its MBID, name and what tells it apart."""

    mbid: str
    name: str
    mb_score: int | None = None
    disambiguation: str | None = None
    artist: str | None = None  # release groups: the credited artist
    release_group_type: str | None = None


def score_named(
    wanted_name: str, candidate: NamedCandidate, *, wanted_artist: str | None = None, edition_blind: bool = False
) -> Scored:
    """An artist (by name) or a release group (by title and artist)."""
    if edition_blind:
        title = fuzz.ratio(base_title(wanted_name), base_title(candidate.name)) / 100
    else:
        title = name_similarity(wanted_name, candidate.name)
    artist = name_similarity(wanted_artist, candidate.artist) if wanted_artist is not None else 1.0
    total = round(0.7 * title + 0.3 * artist if wanted_artist is not None else title, 4)
    if wanted_artist is not None and artist < MIN_ARTIST:
        decision, reason = REJECTED, f"another artist ({candidate.artist})"
    elif title >= NAME_ACCEPT_AT and total >= ACCEPT_AT:
        decision, reason = ACCEPTED, "same name"
    elif total >= AMBIGUOUS_AT:
        decision, reason = AMBIGUOUS, f"similar name ({total:.2f})"
    else:
        decision, reason = REJECTED, f"score {total:.2f} < {AMBIGUOUS_AT}"
    return Scored(
        candidate.mbid, round(title, 4), round(artist, 4), 0.5, 0.5, total, False, decision, reason, candidate.mb_score
    )


def identify_named(wanted_name: str, candidates: Sequence[NamedCandidate], **kwargs) -> Decision:
    """Accepted only when exactly one candidate carries the name: two artists called
    "Nirvana" are ambiguous until something else (a matched recording) tells them apart."""
    scored = [score_named(wanted_name, c, **kwargs) for c in {c.mbid: c for c in candidates}.values()]
    accepted = [s for s in scored if s.decision == ACCEPTED]
    if len(accepted) > 1:
        names = {c.mbid: c for c in candidates}
        listed = "; ".join(f"{names[s.mbid].name} ({names[s.mbid].disambiguation or s.mbid})" for s in accepted[:5])
        scored = [
            Scored(
                s.mbid,
                s.title,
                s.artist,
                s.album,
                s.duration,
                s.total,
                s.isrc_match,
                AMBIGUOUS,
                f"{len(accepted)} candidates share the name: {listed}",
                s.mb_score,
            )
            if s.decision == ACCEPTED
            else s
            for s in scored
        ]
    return decide(scored)


def vote(mbids: Iterable[str | None]) -> tuple[str | None, int, int]:
    """The MBID most of an entity's matched members point at: (mbid, its votes, all votes)."""
    counts = Counter(m for m in mbids if m)
    if not counts:
        return None, 0, 0
    best = max(counts.items(), key=lambda item: (item[1], item[0]))
    return best[0], best[1], sum(counts.values())


# -- MusicBrainz's shapes ---------------------------------------------------------------
# musicbrainzngs' parsed dicts. Any optional field may be absent or None (an empty XML
# element, a JSON mirror's null), and lists may hold None: the readers below take what is
# usable and skip the rest, so one odd object never stops a run.


def mb_int(value: Any) -> int | None:
    """A number musicbrainzngs gives as text (a JSON mirror as a number); None when absent or not a number."""
    if isinstance(value, bool):
        return None
    try:
        return int(value) if value not in (None, "") else None
    except (TypeError, ValueError):
        return None


def mb_text(value: Any) -> str | None:
    """A text field, or None when it is absent, empty or not text."""
    return value if isinstance(value, str) and value else None


def mb_dicts(value: Any) -> Iterator[Mapping]:
    """The objects of a list field (absent, None, or holding None: nothing for those)."""
    if isinstance(value, list | tuple):
        yield from (item for item in value if isinstance(item, Mapping))


def mb_dict(value: Any) -> Mapping:
    return value if isinstance(value, Mapping) else {}


def mb_strings(value: Any) -> list[str]:
    """The texts of a list field such as ``isrc-list`` or ``secondary-type-list``."""
    if not isinstance(value, list | tuple):
        return []
    return [item for item in value if isinstance(item, str) and item]


def credits_of(obj: Mapping) -> tuple[ArtistCredit, ...]:
    """The credited artists of a recording or a release group (those without an id are left out)."""
    found = []
    for credit in mb_dicts(obj.get("artist-credit")):
        artist = mb_dict(credit.get("artist"))
        mbid = mb_text(artist.get("id"))
        if mbid:
            found.append(
                ArtistCredit(
                    mbid,
                    mb_text(artist.get("name")) or mb_text(credit.get("name")) or "",
                    mb_text(artist.get("sort-name")),
                    mb_text(artist.get("disambiguation")),
                )
            )
    return tuple(found)


def parse_recording(obj: Mapping) -> RecordingCandidate | None:
    """A recording from a search or a lookup; None without an id."""
    mbid = mb_text(obj.get("id"))
    if mbid is None:
        return None
    releases = []
    for release in mb_dicts(obj.get("release-list")):
        release_mbid = mb_text(release.get("id"))
        if release_mbid is None:
            continue
        group = mb_dict(release.get("release-group"))
        releases.append(
            ReleaseRef(
                release_mbid,
                mb_text(release.get("title")) or "",
                mb_text(group.get("id")),
                mb_text(group.get("primary-type")) or mb_text(group.get("type")),
                mb_text(release.get("date")),
            )
        )
    return RecordingCandidate(
        mbid=mbid,
        title=mb_text(obj.get("title")) or "",
        artists=credits_of(obj),
        length_ms=mb_int(obj.get("length")),
        mb_score=mb_int(obj.get("ext:score")),
        isrcs=tuple(mb_strings(obj.get("isrc-list"))),
        releases=tuple(releases),
    )


def parse_artist_hit(obj: Mapping) -> NamedCandidate | None:
    mbid = mb_text(obj.get("id"))
    if mbid is None:
        return None
    return NamedCandidate(
        mbid, mb_text(obj.get("name")) or "", mb_int(obj.get("ext:score")), mb_text(obj.get("disambiguation"))
    )


def parse_release_group_hit(obj: Mapping) -> NamedCandidate | None:
    mbid = mb_text(obj.get("id"))
    if mbid is None:
        return None
    return NamedCandidate(
        mbid,
        mb_text(obj.get("title")) or "",
        mb_int(obj.get("ext:score")),
        mb_text(obj.get("disambiguation")),
        ", ".join(c.name for c in credits_of(obj) if c.name) or None,
        mb_text(obj.get("primary-type")) or mb_text(obj.get("type")),
    )


def recordings_in(page: Mapping | None) -> list[RecordingCandidate]:
    """The recordings of a search page."""
    return [c for c in map(parse_recording, mb_dicts(mb_dict(page).get("recording-list"))) if c is not None]


def artists_in(page: Mapping | None) -> list[NamedCandidate]:
    return [c for c in map(parse_artist_hit, mb_dicts(mb_dict(page).get("artist-list"))) if c is not None]


def release_groups_in(page: Mapping | None) -> list[NamedCandidate]:
    return [c for c in map(parse_release_group_hit, mb_dicts(mb_dict(page).get("release-group-list"))) if c is not None]
