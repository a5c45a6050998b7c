"""One sync of one cloud source: everything it lists, collected before anything is written.

Works on any ``CloudSource``. An endpoint the provider refuses is recorded as
unavailable and the others go on; its likes are then left as they were (an endpoint we
could not read says nothing about what the user un-liked). Login and provider failures
propagate: the sync fails as a whole and writes nothing.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from soulspot_pipeline.domain.cloud import (
    DISABLED,
    REFERENCE,
    CloudAlbum,
    CloudArtist,
    CloudPlaylist,
    CloudSource,
    CloudTrack,
    EndpointUnavailable,
    ProviderError,
)

ENDPOINTS = ("liked tracks", "saved albums", "followed artists", "playlists")


@dataclass(frozen=True, slots=True)
class EndpointOutcome:
    status: str  # ok | unavailable
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
    album_tracks: dict[str, list[str]] = field(default_factory=dict)
    playlists: list[CloudPlaylist] | None = None  # None: the list could not be read
    # Playlists whose items were read this time (the others keep their stored items).
    playlist_items: dict[str, list[tuple[str, str | None]]] = field(default_factory=dict)
    endpoints: dict[str, EndpointOutcome] = field(default_factory=dict)
    skipped: Counter = field(default_factory=Counter)

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
        if known is None or _richness(album) > _richness(known):
            self.albums[album.album_id] = album

    def add_track(self, track: CloudTrack) -> None:
        self.add_artist(track.artist)
        if track.album is not None:
            self.add_album(track.album)
        known = self.tracks.get(track.track_id)
        if known is None or (known.isrc is None and track.isrc is not None):
            self.tracks[track.track_id] = track


def _richness(album: CloudAlbum) -> int:
    return sum(
        v is not None for v in (album.album_type, album.release_date, album.total_tracks, album.upc, album.image_url)
    )


def _read(sync: SourceSync, endpoint: str, read: Callable[[], int]) -> None:
    try:
        count = read()
    except EndpointUnavailable as exc:
        sync.endpoints[endpoint] = EndpointOutcome("unavailable", 0, f"HTTP {exc.status}: {exc.message}"[:300])
        return
    sync.endpoints[endpoint] = EndpointOutcome("ok", count)


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
    say = progress or (lambda _: None)

    def liked_tracks() -> int:
        likes = sync.likes.setdefault("track", {})
        for liked in _iterate(source.liked_tracks()):
            sync.add_track(liked.item)
            likes.setdefault(liked.item.track_id, liked.added_at)
        return len(likes)

    def saved_albums() -> int:
        likes = sync.likes.setdefault("album", {})
        for liked, tracks in _iterate(source.saved_albums()):
            album = liked.item
            sync.add_album(album)
            likes.setdefault(album.album_id, liked.added_at)
            for track in tracks:
                sync.add_track(track)
            sync.album_tracks[album.album_id] = list(dict.fromkeys(t.track_id for t in tracks))
        return len(likes)

    def followed_artists() -> int:
        likes = sync.likes.setdefault("artist", {})
        for liked in _iterate(source.followed_artists()):
            sync.add_artist(liked.item)
            likes.setdefault(liked.item.artist_id, liked.added_at)
        return len(likes)

    def playlists() -> int:
        listed = list(dict((p.playlist_id, p) for p in _iterate(source.playlists())).values())
        sync.playlists = listed
        for playlist in listed:
            mode = playlist_modes.get(playlist.playlist_id, REFERENCE)
            if mode == DISABLED:
                continue
            if playlist.version and known_versions.get(playlist.playlist_id) == playlist.version:
                continue
            endpoint = f"playlist {playlist.playlist_id}"
            try:
                items = source.playlist_items(playlist.playlist_id)
            except EndpointUnavailable as exc:
                sync.endpoints[endpoint] = EndpointOutcome("unavailable", 0, f"HTTP {exc.status}: {exc.message}"[:300])
                continue
            seen: dict[str, str | None] = {}
            for track, added_at in items.tracks:
                if track.track_id in seen:
                    sync.skipped["duplicate_in_playlist"] += 1
                    continue
                sync.add_track(track)
                seen[track.track_id] = added_at
            sync.skipped.update(items.skipped)
            sync.playlist_items[playlist.playlist_id] = list(seen.items())
        return len(listed)

    for endpoint, read in zip(ENDPOINTS, (liked_tracks, saved_albums, followed_artists, playlists), strict=True):
        say(f"{source.name}: reading {endpoint}")
        _read(sync, endpoint, read)
    for kind, endpoint in (("track", "liked tracks"), ("album", "saved albums"), ("artist", "followed artists")):
        if kind in sync.likes and sync.endpoints[endpoint].status != "ok":
            del sync.likes[kind]
    refused = {name: sync.endpoints[name].detail for name in ENDPOINTS if sync.endpoints[name].status != "ok"}
    if len(refused) == len(ENDPOINTS):
        # Nothing readable at all is an account or configuration problem, not a restriction.
        details = "; ".join(f"{name}: {detail}" for name, detail in refused.items())
        raise ProviderError(f"{source.name} refused every endpoint ({details}); check the account and its settings")
    return sync


def _iterate(items: Iterable) -> Iterable:
    """Items of a listing; a listing that fails half-way fails as a whole (no partial likes)."""
    return list(items)
