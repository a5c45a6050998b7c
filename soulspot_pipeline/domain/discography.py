"""Discographies against the library: which release groups of an owned artist are missing,
which are new, and which tracks of a partly owned album are not there.

A release group counts as owned when one of the artist's own owned albums carries its
MusicBrainz id, or, for albums without an id (or with one MusicBrainz does not list for
the artist), when their titles agree once case, punctuation and edition notes
("(Remastered)", "- Deluxe Edition") are set aside. Only the artist's own albums count:
an album of the same title by someone else never fills a gap.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from soulspot_pipeline.domain.enrich import medium_tracks
from soulspot_pipeline.domain.identify import mb_dict, mb_dicts, mb_int, mb_strings, mb_text
from soulspot_pipeline.domain.matching import base_title, track_title_key
from soulspot_pipeline.domain.ownership import IGNORED, OWNED

MISSING, REQUESTED = "missing", "requested"
GAP_STATUSES = (MISSING, IGNORED, REQUESTED)
DEFAULT_PRIMARY_TYPES = ("album", "ep")
DEFAULT_EXCLUDED_SECONDARY = ("compilation", "live", "remix", "dj-mix", "demo", "soundtrack")
MUSICBRAINZ, SPOTIFY = "musicbrainz", "spotify"


@dataclass(frozen=True, slots=True)
class ReleaseGroup:
    """One entry of an artist's discography, as MusicBrainz (or Spotify) lists it."""

    key: str  # "rg:<mbid>" or "spotify:<album id>"
    source: str
    title: str
    primary_type: str | None
    secondary_types: tuple[str, ...] = ()
    first_release_date: str | None = None
    release_group_mbid: str | None = None
    spotify_album_id: str | None = None

    @property
    def release_type(self) -> str:
        """ "album", "ep + live", ...: the primary type with its secondary types."""
        return " + ".join([(self.primary_type or "other").lower(), *(t.lower() for t in self.secondary_types)])


@dataclass(frozen=True, slots=True)
class LibraryAlbum:
    album_id: str
    title: str
    ownership_state: str
    release_group_mbid: str | None = None
    spotify_id: str | None = None


@dataclass(frozen=True)
class TypePolicy:
    """Which release types the user collects: primary types in, secondary types out."""

    primary: frozenset[str] = frozenset(DEFAULT_PRIMARY_TYPES)
    excluded_secondary: frozenset[str] = frozenset(DEFAULT_EXCLUDED_SECONDARY)

    @classmethod
    def of(cls, primary: Iterable[str], excluded_secondary: Iterable[str]) -> TypePolicy:
        return cls(
            frozenset(t.strip().lower() for t in primary if t.strip()),
            frozenset(t.strip().lower() for t in excluded_secondary if t.strip()),
        )

    def collects(self, group: ReleaseGroup) -> bool:
        if (group.primary_type or "other").lower() not in self.primary:
            return False
        return not any(t.lower() in self.excluded_secondary for t in group.secondary_types)


@dataclass(frozen=True, slots=True)
class DiscographyEntry:
    group: ReleaseGroup
    counted: bool  # of a type the user collects
    album_id: str | None  # the library album that is this release group
    matched_by: str | None  # release_group_mbid | spotify_id | title
    owned: bool


def match_discography(
    groups: Sequence[ReleaseGroup], albums: Sequence[LibraryAlbum], policy: TypePolicy
) -> list[DiscographyEntry]:
    """Each release group of one artist with the artist's library album that is it, if any."""
    by_mbid = {a.release_group_mbid: a for a in albums if a.release_group_mbid}
    by_spotify = {a.spotify_id: a for a in albums if a.spotify_id}
    listed = {g.release_group_mbid for g in groups if g.release_group_mbid}
    # An album with an id MusicBrainz lists is that group and no other; the rest match by title.
    by_title: dict[str, LibraryAlbum] = {}
    for album in sorted(albums, key=lambda a: (a.ownership_state != OWNED, a.album_id)):
        if album.release_group_mbid not in listed:
            by_title.setdefault(base_title(album.title), album)
    entries = []
    for group in groups:
        matched: LibraryAlbum | None = None
        rule: str | None = None
        if group.release_group_mbid and group.release_group_mbid in by_mbid:
            matched, rule = by_mbid[group.release_group_mbid], "release_group_mbid"
        elif group.spotify_album_id and group.spotify_album_id in by_spotify:
            matched, rule = by_spotify[group.spotify_album_id], "spotify_id"
        elif base_title(group.title) in by_title:
            matched, rule = by_title[base_title(group.title)], "title"
        entries.append(
            DiscographyEntry(
                group,
                policy.collects(group),
                matched.album_id if matched else None,
                rule,
                matched is not None and matched.ownership_state == OWNED,
            )
        )
    return entries


def gap_status(entry: DiscographyEntry, decision: str | None, album_state: str | None) -> str | None:
    """The gap's status, or None when it is no gap (owned, or a type not collected).

    The user's decision on the gap wins; an album the user ignored in the library is an
    ignored gap; a requested gap stays requested until its album is owned.
    """
    if entry.owned or not (entry.counted or decision == REQUESTED):
        return None
    if decision in (IGNORED, REQUESTED):
        return decision
    if album_state == IGNORED:
        return IGNORED
    return MISSING


def new_release_keys(groups: Sequence[ReleaseGroup], seen_before: set[str], artist_seen_before: bool) -> set[str]:
    """Release groups first seen now. An artist's first browse finds nothing new: its whole
    back catalogue is not news."""
    if not artist_seen_before:
        return set()
    return {g.key for g in groups if g.key not in seen_before}


# -- releases and their tracks ---------------------------------------------------------

TRACK, PREGAP, DATA = "track", "pregap", "data"


@dataclass(frozen=True, slots=True)
class ReleaseTrack:
    recording_mbid: str
    title: str  # as printed on the release (MusicBrainz's track title), else the recording's
    disc_number: int
    track_number: int  # the position on its medium: 0 for a pregap (hidden) track
    duration_ms: int | None = None
    isrc: str | None = None
    recording_title: str | None = None  # the recording's own title, when the release prints another
    kind: str = TRACK  # track | pregap | data


@dataclass(frozen=True)
class Release:
    mbid: str
    title: str
    status: str | None = None
    date: str | None = None
    tracks: tuple[ReleaseTrack, ...] = field(default=())


@dataclass(frozen=True, slots=True)
class OwnedTrack:
    """An owned track of an album, as the library knows it."""

    recording_mbid: str | None
    title: str | None
    disc_number: int | None = None
    track_number: int | None = None


def choose_release(releases: Sequence[Release]) -> Release | None:
    """The release that stands for its group: official first, then the earliest dated."""
    return min(
        releases,
        key=lambda r: ((r.status or "").lower() != "official", not r.date, r.date or "", r.mbid),
        default=None,
    )


def release_summaries(group: Mapping) -> list[Release]:
    """The releases of a release-group lookup (``inc=releases``, musicbrainzngs' shape)."""
    return [
        Release(mbid, mb_text(r.get("title")) or "", mb_text(r.get("status")), mb_text(r.get("date")))
        for r in mb_dicts(group.get("release-list"))
        if (mbid := mb_text(r.get("id")))
    ]


def release_with_tracks(obj: Mapping, mbid: str | None = None) -> Release:
    """A release lookup with recordings (musicbrainzngs' shape) as its tracks in order, as the
    release counts them: each medium's pregap track (position 0), its tracks, its data tracks.
    ``mbid`` stands in for an answer without an id. A track without a recording is left out:
    nothing could own it or download it."""
    tracks = []
    for disc, medium in enumerate(mb_dicts(obj.get("medium-list")), start=1):
        disc_number = mb_int(medium.get("position")) or disc
        listed = sum(1 for kind, _ in medium_tracks(medium) if kind == TRACK)
        index = {TRACK: 0, DATA: listed}
        for kind, track in medium_tracks(medium):
            if kind != PREGAP:
                index[kind] += 1
            recording = mb_dict(track.get("recording"))
            recording_mbid = mb_text(recording.get("id"))
            if not recording_mbid:
                continue
            position = mb_int(track.get("position"))
            recording_title = mb_text(recording.get("title"))
            printed = mb_text(track.get("title"))
            isrcs = sorted(mb_strings(recording.get("isrc-list")))
            tracks.append(
                ReleaseTrack(
                    recording_mbid,
                    printed or recording_title or "",
                    disc_number,
                    position if position is not None else (0 if kind == PREGAP else index[kind]),
                    mb_int(recording.get("length")) or mb_int(track.get("length")),
                    isrcs[0] if isrcs else None,
                    recording_title if printed and recording_title != printed else None,
                    kind,
                )
            )
    return Release(
        mb_text(obj.get("id")) or mbid or "",
        mb_text(obj.get("title")) or "",
        mb_text(obj.get("status")),
        mb_text(obj.get("date")),
        tuple(tracks),
    )


def _title_keys(track: ReleaseTrack) -> set[str]:
    return {k for k in (track_title_key(track.title), track_title_key(track.recording_title)) if k}


def missing_tracks(release: Release, owned: Iterable[OwnedTrack]) -> list[ReleaseTrack]:
    """The release's tracks that no owned track of the album is. Each owned track stands for
    one release track, found by recording id first, then by position (disc and track number),
    then by title (the release's track title or the recording's, without featured artists and
    edition notes). A position is taken only from an owned track without a recording id (one
    with another id is another recording) whose title names no other track of the release (a
    file numbered after another edition is the track its title says)."""
    left = list(release.tracks)
    unclaimed = list(owned)
    discs = {t.disc_number for t in release.tracks}
    only_disc = next(iter(discs)) if len(discs) == 1 else None
    every_title = set().union(*map(_title_keys, release.tracks))

    def owned_keys(o: OwnedTrack, rule: str) -> list[object]:
        if rule == "mbid":
            return [o.recording_mbid] if o.recording_mbid else []
        if rule == "position":
            disc = o.disc_number if o.disc_number is not None else only_disc
            if o.recording_mbid or o.track_number is None or disc is None:
                return []
            return [(disc, o.track_number)]
        key = track_title_key(o.title)
        return [key] if key else []

    def release_keys(t: ReleaseTrack, rule: str) -> list[object]:
        if rule == "mbid":
            return [t.recording_mbid]
        if rule == "position":
            return [(t.disc_number, t.track_number)]
        return [key for key in sorted(_title_keys(t))]

    def fits(t: ReleaseTrack, o: OwnedTrack, rule: str) -> bool:
        title = track_title_key(o.title)
        return rule != "position" or not title or title not in every_title or title in _title_keys(t)

    for rule in ("mbid", "position", "title"):
        index: dict[object, list[int]] = {}
        for n, o in enumerate(unclaimed):
            for key in owned_keys(o, rule):
                index.setdefault(key, []).append(n)
        claimed: set[int] = set()
        still = []
        for track in left:
            match = next(
                (
                    n
                    for key in release_keys(track, rule)
                    for n in index.get(key, ())
                    if n not in claimed and fits(track, unclaimed[n], rule)
                ),
                None,
            )
            if match is None:
                still.append(track)
            else:
                claimed.add(match)
        left = still
        unclaimed = [o for n, o in enumerate(unclaimed) if n not in claimed]
    return left


# -- providers' shapes ------------------------------------------------------------------


def musicbrainz_group(obj: Mapping) -> ReleaseGroup:
    """A release group from a MusicBrainz browse (musicbrainzngs' shape); the caller leaves out
    groups without an id."""
    mbid = mb_text(obj.get("id"))
    return ReleaseGroup(
        key=f"rg:{mbid or ''}",
        source=MUSICBRAINZ,
        title=mb_text(obj.get("title")) or "",
        primary_type=mb_text(obj.get("primary-type")) or mb_text(obj.get("type")),
        secondary_types=tuple(mb_strings(obj.get("secondary-type-list"))),
        first_release_date=mb_text(obj.get("first-release-date")),
        release_group_mbid=mbid,
    )


def musicbrainz_groups(objs: Iterable[object]) -> list[ReleaseGroup]:
    """The release groups of a browse that have an id."""
    return [musicbrainz_group(o) for o in objs if isinstance(o, Mapping) and mb_text(o.get("id"))]


# Spotify cannot tell an EP from a single; its compilations are albums that collect.
_SPOTIFY_TYPES = {"album": ("Album", ()), "single": ("Single", ()), "compilation": ("Album", ("Compilation",))}


def spotify_group(obj: Mapping) -> ReleaseGroup | None:
    """A release group from Spotify's artist albums, or None for albums the artist only appears on."""
    if (obj.get("album_group") or obj.get("album_type")) == "appears_on" or not obj.get("id"):
        return None
    primary, secondary = _SPOTIFY_TYPES.get((obj.get("album_type") or "").lower(), ("Other", ()))
    return ReleaseGroup(
        key=f"spotify:{obj['id']}",
        source=SPOTIFY,
        title=obj.get("name") or "",
        primary_type=primary,
        secondary_types=secondary,
        first_release_date=obj.get("release_date") or None,
        spotify_album_id=obj["id"],
    )


def collapse_editions(groups: Sequence[ReleaseGroup]) -> list[ReleaseGroup]:
    """One entry per title for a source that lists every edition as its own album (Spotify):
    the earliest edition stands for the rest."""
    chosen: dict[tuple[str, str], ReleaseGroup] = {}
    for group in sorted(groups, key=lambda g: (g.first_release_date or "9999", g.key)):
        chosen.setdefault((group.release_type, base_title(group.title)), group)
    return sorted(chosen.values(), key=lambda g: (g.first_release_date or "9999", g.key))
