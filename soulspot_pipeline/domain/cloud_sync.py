"""One sync of one cloud source: everything it lists, collected before anything is written.

Works on any ``CloudSource``. An endpoint the provider refuses is recorded as
unavailable and the others go on; its likes are then left as they were (an endpoint we
could not read says nothing about what the user un-liked). A sub-request that fails (one
album's track list, one playlist's items) marks that album or playlist unavailable and
its endpoint ``partial``; the rest of the endpoint is stored. Every item left out is
counted by endpoint and reason. Login and provider failures of a whole listing
propagate: the sync fails as a whole and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import TypeVar

from soulspot_pipeline.domain.cloud import (
    DISABLED,
    DUPLICATE,
    REFERENCE,
    UNAVAILABLE,
    CloudAlbum,
    CloudArtist,
    CloudPlaylist,
    CloudSource,
    CloudTrack,
    EndpointUnavailable,
    Liked,
    ProviderError,
    SavedAlbum,
    Skipped,
)

ENDPOINTS = ("liked tracks", "saved albums", "followed artists", "playlists")
# Together, the listings of every album's tracks and of every playlist's items.
ALBUM_TRACKS = "album tracks"
PLAYLIST_ITEMS = "playlist items"
# Sub-requests that fail one after another after their retries: the provider is failing,
# not one album or playlist, so the sync stops rather than wait out every one of them.
FAILED_SUBREQUESTS_IN_A_ROW = 3

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class EndpointOutcome:
    status: str  # ok | partial | unavailable
    items: int = 0
    detail: str | None = None


@dataclass
class SourceSync:
    source: str
    artists: dict[str, CloudArtist] = field(default_factory=dict)
    albums: dict[str, CloudAlbum] = field(default_factory=dict)
    tracks: dict[str, CloudTrack] = field(default_factory=dict)
    # kind -> item id -> provider's added-at; only kinds whose endpoint answered.
    likes: dict[str, dict[str, str | None]] = field(default_factory=dict)
    # Albums whose track list was read this time (the others keep their stored tracks).
    album_tracks: dict[str, list[str]] = field(default_factory=dict)
    playlists: list[CloudPlaylist] | None = None  # None: the list could not be read
    # Playlists whose items were read this time (the others keep their stored items).
    playlist_items: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    # The listings and the albums' and playlists' own rows ("album 12 tracks", "playlist 34").
    endpoints: dict[str, EndpointOutcome] = field(default_factory=dict)
    # listing ("liked tracks", "album 12 tracks", "playlist 34") -> reason -> items left out
    skips: dict[str, Counter[str]] = field(default_factory=dict)
    # Album and playlist rows read fine this time: an earlier failure of theirs is over.
    items_read: set[str] = field(default_factory=set)

    @property
    def skipped(self) -> Counter[str]:
        """Items left out, by reason, over every endpoint."""
        total: Counter[str] = Counter()
        for counts in self.skips.values():
            total.update(counts)
        return total

    def skipped_by_listing(self) -> dict[str, Counter[str]]:
        """Items left out per endpoint, every album's and every playlist's listing taken together."""
        grouped: dict[str, Counter[str]] = {}
        for name, counts in self.skips.items():
            grouped.setdefault(listing_of(name), Counter()).update(counts)
        return grouped

    @property
    def read_endpoints(self) -> set[str]:
        """Listings and album or playlist rows read this time (their skip counts are current)."""
        listings = {
            name for name in ENDPOINTS if name in self.endpoints and self.endpoints[name].status != "unavailable"
        }
        return listings | self.items_read

    @property
    def unavailable_items(self) -> dict[str, str | None]:
        """Album and playlist rows that could not be read this time, with why."""
        return {name: o.detail for name, o in self.endpoints.items() if name not in ENDPOINTS and o.status != "ok"}

    @property
    def partial(self) -> bool:
        return any(o.status == "partial" for o in self.endpoints.values())

    def skip(self, endpoint: str, reason: str, count: int = 1) -> None:
        if count > 0:
            self.skips.setdefault(endpoint, Counter())[reason] += count

    def add_artist(self, artist: CloudArtist) -> None:
        if not artist.artist_id:
            return
        known = self.artists.get(artist.artist_id)
        # Full artist objects (followed) carry genres and images; keep the richer one.
        if known is None or (not known.genres and artist.genres) or (not known.image_url and artist.image_url):
            self.artists[artist.artist_id] = artist

    def add_album(self, album: CloudAlbum) -> None:
        self.add_artist(album.artist)
        known = self.albums.get(album.album_id)
        if known is None or _rank(album) > _rank(known):
            self.albums[album.album_id] = album

    def add_track(self, track: CloudTrack) -> None:
        self.add_artist(track.artist)
        if track.album is not None:
            self.add_album(track.album)
        known = self.tracks.get(track.track_id)
        if known is None or (known.isrc is None and track.isrc is not None):
            self.tracks[track.track_id] = track


def listing_of(row: str) -> str:
    """The endpoint an album's or playlist's own row belongs to."""
    if row in ENDPOINTS:
        return row
    return ALBUM_TRACKS if row.startswith("album ") else PLAYLIST_ITEMS


def _rank(album: CloudAlbum) -> tuple[bool, int]:
    """Which of two records of one album to keep: one naming its artist, then the fuller."""
    named = bool(album.artist.artist_id or album.artist.name) and not album.artist_inferred
    known = (album.album_type, album.release_date, album.total_tracks, album.upc, album.image_url)
    return named, sum(v is not None for v in known)


class _SubRequests:
    """Failures of sub-requests: each one marks its album or playlist, and a run of
    provider errors in a row stops the sync."""

    def __init__(self, sync: SourceSync):
        self.sync = sync
        self.in_a_row = 0
        self.failed: Counter[str] = Counter()  # parent endpoint -> items that could not be read

    def failed_with(self, parent: str, row: str, exc: EndpointUnavailable | ProviderError) -> None:
        if isinstance(exc, EndpointUnavailable):
            detail = f"HTTP {exc.status}: {exc.message}"
        else:
            self.in_a_row += 1
            detail = str(exc)
        self.sync.endpoints[row] = EndpointOutcome("unavailable", 0, detail[:300])
        self.sync.skip(parent, UNAVAILABLE)
        self.failed[parent] += 1
        if isinstance(exc, ProviderError) and self.in_a_row >= FAILED_SUBREQUESTS_IN_A_ROW:
            raise ProviderError(
                f"{self.sync.source}: {self.in_a_row} requests in a row failed after their retries (the last, "
                f"{row}: {exc}); the provider is failing, not one item. The next sync tries again"
            ) from None

    def succeeded(self, row: str) -> None:
        self.in_a_row = 0
        self.sync.items_read.add(row)


def collect(
    source: CloudSource,
    *,
    playlist_modes: Mapping[str, str] | None = None,
    known_versions: Mapping[str, str | None] | None = None,
    progress: Callable[[str], None] | None = None,
) -> SourceSync:
    """Read everything ``source`` offers. Playlists set to disabled are not read; a
    playlist whose version (snapshot) is unchanged keeps its stored items."""
    playlist_modes = playlist_modes or {}
    known_versions = known_versions or {}
    sync = SourceSync(source.name)
    sub = _SubRequests(sync)
    say = progress or (lambda _: None)

    def liked_tracks() -> int:
        tracks = source.liked_tracks()
        return _read_likes(sync, "track", "liked tracks", tracks, CloudTrack, lambda t: t.track_id, sync.add_track)

    def saved_albums() -> int:
        likes = sync.likes.setdefault("album", {})
        for saved in _listed(sync, "saved albums", source.saved_albums(), SavedAlbum):
            album = saved.liked.item
            if not isinstance(album, CloudAlbum):
                raise TypeError(f"{source.name} listed a {type(album).__name__} among saved albums")
            if album.album_id in likes:
                sync.skip("saved albums", DUPLICATE)
                continue
            sync.add_album(album)
            likes[album.album_id] = saved.liked.added_at
            row = f"album {album.album_id} tracks"
            try:
                listed = list(saved.tracks())
            except (EndpointUnavailable, ProviderError) as exc:
                sub.failed_with("saved albums", row, exc)
                continue
            sub.succeeded(row)
            ids: dict[str, None] = {}
            for item in listed:
                if isinstance(item, Skipped):
                    sync.skip(row, item.reason)
                elif item.track_id in ids:
                    sync.skip(row, DUPLICATE)
                else:
                    sync.add_track(item)
                    ids[item.track_id] = None
            sync.album_tracks[album.album_id] = list(ids)
        return len(likes)

    def followed_artists() -> int:
        artists = source.followed_artists()
        return _read_likes(
            sync, "artist", "followed artists", artists, CloudArtist, lambda a: a.artist_id, sync.add_artist
        )

    def playlists() -> int:
        listed: dict[str, CloudPlaylist] = {}
        for playlist in _listed(sync, "playlists", source.playlists(), CloudPlaylist):
            if playlist.playlist_id in listed:
                sync.skip("playlists", DUPLICATE)
                continue
            listed[playlist.playlist_id] = playlist
        sync.playlists = list(listed.values())
        for playlist in sync.playlists:
            mode = playlist_modes.get(playlist.playlist_id, REFERENCE)
            if mode == DISABLED:
                continue
            if playlist.version and known_versions.get(playlist.playlist_id) == playlist.version:
                continue
            row = f"playlist {playlist.playlist_id}"
            try:
                items = source.playlist_items(playlist.playlist_id)
            except (EndpointUnavailable, ProviderError) as exc:
                sub.failed_with("playlists", row, exc)
                continue
            sub.succeeded(row)
            seen: dict[str, str | None] = {}
            for track, added_at in items.tracks:
                if track.track_id in seen:
                    sync.skip(row, DUPLICATE)
                    continue
                sync.add_track(track)
                seen[track.track_id] = added_at
            for reason, count in items.skipped.items():
                sync.skip(row, reason, count)
            sync.playlist_items[playlist.playlist_id] = list(seen.items())
        return len(sync.playlists)

    readers = (liked_tracks, saved_albums, followed_artists, playlists)
    for endpoint, read in zip(ENDPOINTS, readers, strict=True):
        say(f"{source.name}: reading {endpoint}")
        try:
            count = read()
        except EndpointUnavailable as exc:
            sync.endpoints[endpoint] = EndpointOutcome("unavailable", 0, f"HTTP {exc.status}: {exc.message}"[:300])
            continue
        failed = sub.failed[endpoint]
        if failed:
            what = "album track lists" if endpoint == "saved albums" else "playlists' items"
            sync.endpoints[endpoint] = EndpointOutcome("partial", count, f"{failed} of {count} {what} unavailable")
        else:
            sync.endpoints[endpoint] = EndpointOutcome("ok", count)
    for kind, endpoint in (("track", "liked tracks"), ("album", "saved albums"), ("artist", "followed artists")):
        if kind in sync.likes and sync.endpoints[endpoint].status == "unavailable":
            del sync.likes[kind]
    refused = {name: sync.endpoints[name].detail for name in ENDPOINTS if sync.endpoints[name].status == "unavailable"}
    if len(refused) == len(ENDPOINTS):
        # Nothing readable at all is an account or configuration problem, not a restriction.
        details = "; ".join(f"{name}: {detail}" for name, detail in refused.items())
        raise ProviderError(f"{source.name} refused every endpoint ({details}); check the account and its settings")
    return sync


def _read_likes(
    sync: SourceSync,
    kind: str,
    endpoint: str,
    listing: Iterable[Liked | Skipped],
    item_type: type[T],
    key: Callable[[T], str],
    add: Callable[[T], None],
) -> int:
    """Store a listing of liked tracks or followed artists once each, in ``sync.likes[kind]``."""
    likes = sync.likes.setdefault(kind, {})
    for liked in _listed(sync, endpoint, listing, Liked):
        item = liked.item
        if not isinstance(item, item_type):
            raise TypeError(f"{sync.source} listed a {type(item).__name__} among {endpoint}")
        item_id = key(item)
        if item_id in likes:
            sync.skip(endpoint, DUPLICATE)
            continue
        add(item)
        likes[item_id] = liked.added_at
    return len(likes)


def _listed(sync: SourceSync, endpoint: str, items: Iterable[T | Skipped], kind: type[T]) -> list[T]:
    """The usable items of a listing, its skipped ones counted.

    The listing is read to its end first: one that fails half-way fails as a whole (no
    partial likes, which would read as un-likes).
    """
    usable: list[T] = []
    for item in list(items):
        if isinstance(item, Skipped):
            sync.skip(endpoint, item.reason)
        elif isinstance(item, kind):
            usable.append(item)
        else:
            raise TypeError(f"{sync.source} listed a {type(item).__name__} among {endpoint}")
    return usable
