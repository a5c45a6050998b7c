"""What a cloud music service tells us, in one shape for every provider.

A provider module (Spotify, Deezer, later Tidal or Apple Music) implements
``CloudSource``: it turns its API into these records. The sync, the raw tables, the
merge and the ownership rules only ever see these records, so adding a provider never
touches them.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Literal, Protocol

LikeKind = Literal["track", "album", "artist"]

PLAYLIST_MODES = ("reference", "own", "disabled")
REFERENCE, OWN, DISABLED = PLAYLIST_MODES


@dataclass(frozen=True, slots=True)
class CloudArtist:
    artist_id: str
    name: str
    genres: tuple[str, ...] = ()
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class CloudAlbum:
    album_id: str
    title: str
    artist: CloudArtist
    album_type: str | None = None
    release_date: str | None = None
    total_tracks: int | None = None
    upc: str | None = None
    image_url: str | None = None


@dataclass(frozen=True, slots=True)
class CloudTrack:
    track_id: str
    title: str
    artist: CloudArtist
    album: CloudAlbum | None
    isrc: str | None = None
    duration_ms: int | None = None
    track_number: int | None = None
    disc_number: int | None = None


@dataclass(frozen=True, slots=True)
class Liked:
    """A like, save or follow: the item and when the user added it (provider time)."""

    item: CloudTrack | CloudAlbum | CloudArtist
    added_at: str | None = None


@dataclass(frozen=True, slots=True)
class CloudPlaylist:
    playlist_id: str
    name: str
    owner: str | None
    version: str | None  # Spotify's snapshot_id, Deezer's checksum: unchanged = same items
    track_count: int | None = None


@dataclass(slots=True)
class PlaylistItems:
    tracks: list[tuple[CloudTrack, str | None]] = field(default_factory=list)  # (track, added_at)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count


class EndpointUnavailable(Exception):
    """The provider removed or forbids this endpoint (for this app or account)."""

    def __init__(self, endpoint: str, status: int | None, message: str):
        super().__init__(f"{endpoint}: {message}")
        self.endpoint = endpoint
        self.status = status
        self.message = message


class LoginRequired(Exception):
    """The provider needs the user to log in (again); the message says how."""


class ProviderError(Exception):
    """The provider kept failing after the retries."""


class CloudSource(Protocol):
    """One cloud music service. Each method yields everything, following pages to the end.

    A method raises ``EndpointUnavailable`` when the provider refuses that endpoint,
    ``LoginRequired`` when credentials are missing or refused, ``ProviderError`` when it
    keeps failing.
    """

    name: str

    def liked_tracks(self) -> Iterator[Liked]: ...

    def saved_albums(self) -> Iterator[tuple[Liked, list[CloudTrack]]]: ...

    def followed_artists(self) -> Iterator[Liked]: ...

    def playlists(self) -> Iterator[CloudPlaylist]: ...

    def playlist_items(self, playlist_id: str) -> PlaylistItems: ...
