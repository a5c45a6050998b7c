"""What a cloud music service tells us, in one shape for every provider.

A provider module (Spotify, Deezer, later Tidal or Apple Music) implements
``CloudSource``: it turns its API into these records. The sync, the raw tables, the
merge and the ownership rules only ever see these records, so adding a provider never
touches them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field, replace
from typing import Literal, Protocol
from urllib.parse import parse_qsl, urlsplit

LikeKind = Literal["track", "album", "artist"]

PLAYLIST_MODES = ("reference", "own", "disabled")
REFERENCE, OWN, DISABLED = PLAYLIST_MODES

# Why an item a provider listed was left out. Every one is counted, never dropped silently.
SKIP_REASONS = ("null", "no_id", "local_file", "episode", "duplicate", "unavailable")
NULL, NO_ID, LOCAL_FILE, EPISODE, DUPLICATE, UNAVAILABLE = SKIP_REASONS

# No real library has this many pages in one listing (10,000 pages are 500,000 saved tracks at
# 50 a page); a listing that goes on past it is a server that never stops, not a library.
MAX_PAGES = 10_000


@dataclass(frozen=True, slots=True)
class CloudArtist:
    artist_id: str
    name: str
    genres: tuple[str, ...] = ()
    image_url: str | None = None

    @property
    def known(self) -> bool:
        """Whether the provider said who it is, by id or by name."""
        return bool(self.artist_id or self.name)


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
    # The object named no artist, so the artist is its track's: a guess a listed one beats.
    artist_inferred: bool = False

    def credited_to(self, artist: CloudArtist | None) -> CloudAlbum:
        """This album, credited to ``artist`` (its track's) when it names no artist of its own."""
        if self.artist.known or artist is None or not artist.known:
            return self
        return replace(self, artist=artist, artist_inferred=True)


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


@dataclass(frozen=True, slots=True)
class Skipped:
    """An item of a listing that is not one we can use, and why (one of ``SKIP_REASONS``)."""

    reason: str


@dataclass(frozen=True, slots=True)
class SavedAlbum:
    """A saved album and how to read its tracks.

    The track list is a request of its own (or more pages of one) that may fail on its
    own; the sync calls ``tracks`` and records a failure against this album alone.
    """

    liked: Liked
    tracks: Callable[[], Iterable[CloudTrack | Skipped]]


@dataclass(slots=True)
class PlaylistItems:
    tracks: list[tuple[CloudTrack, str | None]] = field(default_factory=list)  # (track, added_at)
    skipped: dict[str, int] = field(default_factory=dict)  # reason -> count

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


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
    """The provider kept failing after the retries, or answered what cannot be used."""


class PagingLoop(ProviderError):
    """A listing whose next links go round in circles or never end."""


def rebase_url(url: str, base: str, default_base: str) -> str | None:
    """A provider's link (``next``) moved onto the configured ``base`` URL.

    Providers name their public host in links (``https://api.spotify.com/v1/...``); a proxy
    or stand-in configured instead must see every page, and credentials must only ever go
    to the configured host. The part after the configured base's path, or else after the
    public base's path, is kept. None when the link lies outside both.
    """
    parts = urlsplit(url)
    path = parts.path
    for candidate in (base, default_base):
        prefix = urlsplit(candidate).path
        prefix = prefix if prefix.endswith("/") else prefix + "/"
        if path.startswith(prefix):
            rest = path[len(prefix) :]
            root = base if base.endswith("/") else base + "/"
            return root + rest + (f"?{parts.query}" if parts.query else "")
    return None


def page_key(url: str) -> tuple[str, tuple[tuple[str, str], ...]]:
    """What makes two page URLs the same page: the path and the query, in any order."""
    parts = urlsplit(url)
    return parts.path.rstrip("/"), tuple(sorted(parse_qsl(parts.query, keep_blank_values=True)))


class PageGuard:
    """Stops a listing before it asks for a page it already read, or past ``max_pages``.

    ``visit`` is called with each page's URL before it is requested; it raises
    ``PagingLoop`` naming the provider, the endpoint and the loop.
    """

    def __init__(self, provider: str, endpoint: str, max_pages: int = MAX_PAGES):
        self.provider = provider
        self.endpoint = endpoint
        self.max_pages = max_pages
        self._seen: set[tuple[str, tuple[tuple[str, str], ...]]] = set()

    @property
    def pages(self) -> int:
        return len(self._seen)

    def visit(self, url: str) -> None:
        key = page_key(url)
        if key in self._seen:
            raise PagingLoop(
                f"{self.endpoint}: {self.provider}'s paging loops: the next page ({url}) was already read, "
                f"{self.pages} page(s) in; stopped instead of asking again. The server (or a proxy in "
                "between) repeats its next links; the next sync tries again"
            )
        if len(self._seen) >= self.max_pages:
            raise PagingLoop(
                f"{self.endpoint}: {self.provider}'s paging did not end after {self.max_pages} pages "
                f"(the next would be {url}); stopped, since no real library is that long. The server "
                "(or a proxy in between) keeps naming new pages; the next sync tries again"
            )
        self._seen.add(key)


class CloudSource(Protocol):
    """One cloud music service. Each method yields everything, following pages to the end.

    What a listing holds that is not a usable item (null, without an id, a local file, an
    episode) is yielded as ``Skipped`` with its reason, so the sync can count it; repeats
    are counted by the sync. A method raises ``EndpointUnavailable`` when the provider
    refuses that endpoint, ``LoginRequired`` when credentials are missing or refused,
    ``ProviderError`` when it keeps failing.
    """

    name: str

    def liked_tracks(self) -> Iterator[Liked | Skipped]: ...

    def saved_albums(self) -> Iterator[SavedAlbum | Skipped]: ...

    def followed_artists(self) -> Iterator[Liked | Skipped]: ...

    def playlists(self) -> Iterator[CloudPlaylist | Skipped]: ...

    def playlist_items(self, playlist_id: str) -> PlaylistItems: ...


# Reading provider answers, where any field may be missing, null or of another type.


def json_text(value: object) -> str | None:
    """A non-empty string, else None."""
    return value if isinstance(value, str) and value else None


def json_int(value: object) -> int | None:
    """A JSON integer (not a bool), else None."""
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def json_object(value: object) -> dict:
    """An object, else an empty one."""
    return value if isinstance(value, dict) else {}
