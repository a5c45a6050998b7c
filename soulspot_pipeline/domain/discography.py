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


@dataclass(frozen=True, slots=True)
class ReleaseTrack:
    recording_mbid: str
    title: str
    disc_number: int
    track_number: int
    duration_ms: int | None = None
    isrc: str | None = None


@dataclass(frozen=True)
class Release:
    mbid: str
    title: str
    status: str | None = None
    date: str | None = None
    tracks: tuple[ReleaseTrack, ...] = field(default=())


def choose_release(releases: Sequence[Release]) -> Release | None:
    """The release that stands for its group: official first, then the earliest dated."""
    return min(
        releases,
        key=lambda r: ((r.status or "").lower() != "official", not r.date, r.date or "", r.mbid),
        default=None,
    )


def _int(value: str | int | None) -> int | None:
    """A number musicbrainzngs gives as text; None when absent or not a number."""
    try:
        return int(value) if value is not None and value != "" else None
    except (TypeError, ValueError):
        return None


def release_summaries(group: Mapping) -> list[Release]:
    """The releases of a release-group lookup (``inc=releases``, musicbrainzngs' shape)."""
    return [
        Release(r["id"], r.get("title", ""), r.get("status"), r.get("date"))
        for r in group.get("release-list") or ()
        if r.get("id")
    ]


def release_with_tracks(obj: Mapping) -> Release:
    """A release lookup with recordings (musicbrainzngs' shape) as its tracks in order."""
    tracks = []
    for disc, medium in enumerate(obj.get("medium-list") or (), start=1):
        disc_number = _int(medium.get("position")) or disc
        for index, track in enumerate(medium.get("track-list") or (), start=1):
            recording = track.get("recording") or {}
            if not recording.get("id"):
                continue
            isrcs = sorted(recording.get("isrc-list") or ())
            tracks.append(
                ReleaseTrack(
                    recording["id"],
                    recording.get("title") or track.get("title") or "",
                    disc_number,
                    _int(track.get("position")) or index,
                    _int(recording.get("length")) or _int(track.get("length")),
                    isrcs[0] if isrcs else None,
                )
            )
    return Release(obj["id"], obj.get("title", ""), obj.get("status"), obj.get("date"), tuple(tracks))


def missing_tracks(release: Release, present: Iterable[tuple[str | None, str | None]]) -> list[ReleaseTrack]:
    """The release's tracks that none of ``present`` ((recording mbid, title) of the owned
    tracks of the album) is: by recording id first, then by title without featured
    artists and edition notes."""
    mbids, titles = set(), set()
    for mbid, title in present:
        if mbid:
            mbids.add(mbid)
        if title:
            titles.add(track_title_key(title))
    return [t for t in release.tracks if t.recording_mbid not in mbids and track_title_key(t.title) not in titles]


# -- providers' shapes ------------------------------------------------------------------


def musicbrainz_group(obj: Mapping) -> ReleaseGroup:
    """A release group from a MusicBrainz browse (musicbrainzngs' shape)."""
    return ReleaseGroup(
        key=f"rg:{obj['id']}",
        source=MUSICBRAINZ,
        title=obj.get("title", ""),
        primary_type=obj.get("primary-type") or obj.get("type"),
        secondary_types=tuple(obj.get("secondary-type-list") or ()),
        first_release_date=obj.get("first-release-date") or None,
        release_group_mbid=obj["id"],
    )


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
        title=obj.get("name", ""),
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
