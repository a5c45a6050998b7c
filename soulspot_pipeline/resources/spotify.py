"""Spotify through spotipy: the user's saved tracks and albums, followed artists and playlists.

Login is the authorization-code flow with PKCE (no client secret needed): run once with
``soulspot spotify-login``; the refresh token is kept under the data folder, readable by
the owner only, and runs refresh the access token themselves. Every endpoint is treated
as optional, since Spotify withdrew several from development-mode apps in 2026.
"""

import json
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from functools import partial
from http import HTTPStatus
from pathlib import Path
from typing import Any, ClassVar, TypeVar
from urllib.parse import quote, urlencode, urlsplit

import dagster as dg
import requests
import spotipy
from pydantic import Field, PrivateAttr
from spotipy.cache_handler import CacheHandler
from spotipy.oauth2 import SpotifyOauthError

from soulspot_pipeline.domain.cloud import (
    EPISODE,
    LOCAL_FILE,
    MAX_PAGES,
    NO_ID,
    NULL,
    UNAVAILABLE,
    CloudAlbum,
    CloudArtist,
    CloudPlaylist,
    CloudTrack,
    EndpointUnavailable,
    Liked,
    LoginRequired,
    PageGuard,
    PlaylistItems,
    ProviderError,
    SavedAlbum,
    Skipped,
    json_int,
    json_object,
    json_text,
    rebase_url,
)
from soulspot_pipeline.domain.resilience import RetryPolicy, parse_retry_after
from soulspot_pipeline.domain.text import normalize_isrc
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.retrying import CallStats, HttpFailure, call_with_retries
from soulspot_pipeline.settings import SPOTIFY_ACCOUNTS_URL, SPOTIFY_API_URL

SCOPES = ("user-library-read", "user-follow-read", "playlist-read-private", "playlist-read-collaborative")
LOGIN_COMMAND = "soulspot spotify-login"


class _NoRequestDumps(logging.Filter):
    """Drops spotipy's debug dumps of each request: they hold the bearer token, the refresh token or the code."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not str(record.msg).startswith("Sending ")


for _logger in ("spotipy.client", "spotipy.oauth2"):
    logging.getLogger(_logger).addFilter(_NoRequestDumps())


class TokenFile(CacheHandler):
    """The Spotify login on disk: written atomically, mode 0600, in a 0700 folder."""

    def __init__(self, path: Path):
        self.path = path

    def get_cached_token(self) -> dict | None:
        try:
            stored = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise LoginRequired(
                f"the Spotify login file {self.path} cannot be read ({exc}); run `{LOGIN_COMMAND}` again"
            ) from None
        if not isinstance(stored, dict) or not all(
            isinstance(stored.get(k), str) for k in ("access_token", "refresh_token")
        ):
            raise LoginRequired(f"the Spotify login file {self.path} is incomplete; run `{LOGIN_COMMAND}` again")
        return stored

    def save_token_to_cache(self, token_info: dict) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        os.chmod(self.path.parent, 0o700)
        fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=".spotify-token-")
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(token_info, handle)
                handle.flush()
                os.fsync(handle.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise


class StoredLoginPKCE(spotipy.SpotifyPKCE):
    """PKCE against a configurable accounts server; during runs it never prompts.

    Without a stored login, or when Spotify refuses the stored refresh token, a run
    fails with ``LoginRequired`` naming the command to run instead of waiting for input.
    When the accounts server itself fails (5xx, 429), that is an ``HttpFailure`` the
    retry loop waits out, not a lost login.
    """

    def __init__(self, *, accounts_url: str, interactive: bool, **kwargs: Any):
        super().__init__(**kwargs)
        base = accounts_url.rstrip("/")
        self.OAUTH_AUTHORIZE_URL = f"{base}/authorize"
        self.OAUTH_TOKEN_URL = f"{base}/api/token"
        self.interactive = interactive

    def get_access_token(self, code: str | None = None, check_cache: bool = True) -> str:
        if self.interactive or code is not None:
            return super().get_access_token(code=code, check_cache=check_cache)
        stored = self.cache_handler.get_cached_token()
        if stored is None:
            raise LoginRequired(f"no Spotify login is stored yet: run `{LOGIN_COMMAND}` once")
        if not self._is_scope_subset(self.scope, stored.get("scope")):
            raise LoginRequired(
                f"the stored Spotify login lacks the permissions {self.scope!r}: run `{LOGIN_COMMAND}` again"
            )
        try:
            return super().get_access_token(check_cache=True)
        except SpotifyOauthError as exc:
            raise self._oauth_failure(exc) from None

    def force_refresh(self) -> None:
        """Trade the refresh token for a new access token now (after a 401)."""
        stored = self.cache_handler.get_cached_token() or {}
        if not stored.get("refresh_token"):
            raise LoginRequired(f"no Spotify login is stored yet: run `{LOGIN_COMMAND}` once")
        try:
            self.refresh_access_token(stored["refresh_token"])
        except SpotifyOauthError as exc:
            raise self._oauth_failure(exc) from None

    def _oauth_failure(self, exc: SpotifyOauthError) -> Exception:
        # spotipy raises SpotifyOauthError while handling the HTTP error, which holds the status.
        response = getattr(exc.__context__, "response", None)
        status = getattr(response, "status_code", None)
        if isinstance(status, int) and (status >= 500 or status == 429):
            retry_after = parse_retry_after(response.headers.get("Retry-After")) if response is not None else None
            said = " ".join(str(v) for v in (exc.error, exc.error_description) if v) or "no reason given"
            return HttpFailure(status, said, retry_after, server=urlsplit(self.OAUTH_TOKEN_URL).netloc)
        return LoginRequired(_refused(exc))


def _refused(exc: SpotifyOauthError) -> str:
    return (
        f"Spotify refused the stored login ({exc.error}: {exc.error_description}); it expired or was "
        f"revoked: run `{LOGIN_COMMAND}` again"
    )


# -- parsing: every field may be null or missing, only a missing id leaves an item out ------


def _image(images: object) -> str | None:
    # Spotify lists the largest image first.
    for image in images if isinstance(images, list) else ():
        url = json_text(json_object(image).get("url"))
        if url:
            return url
    return None


def parse_artist(obj: object) -> CloudArtist | Skipped:
    if not isinstance(obj, dict):
        return Skipped(NULL)
    artist_id = json_text(obj.get("id"))
    if artist_id is None:
        return Skipped(NO_ID)
    genres = obj.get("genres")
    return CloudArtist(
        artist_id=artist_id,
        name=json_text(obj.get("name")) or "",
        genres=tuple(g for g in genres if isinstance(g, str) and g) if isinstance(genres, list) else (),
        image_url=_image(obj.get("images")),
    )


def _main_artist(artists: object) -> CloudArtist:
    """The first credited artist with an id; else the first name; else nobody ("", "")."""
    listed = [a for a in artists if isinstance(a, dict)] if isinstance(artists, list) else []
    for artist in listed:
        parsed = parse_artist(artist)
        if isinstance(parsed, CloudArtist):
            return parsed
    name = next((n for a in listed if (n := json_text(a.get("name")))), "")
    return CloudArtist(artist_id="", name=name)


def parse_album(obj: object, fallback_artist: CloudArtist | None = None) -> CloudAlbum | Skipped:
    """An album; one naming no artist takes ``fallback_artist`` (its track's), as Deezer's parser does."""
    if not isinstance(obj, dict):
        return Skipped(NULL)
    album_id = json_text(obj.get("id"))
    if album_id is None:
        return Skipped(NO_ID)
    return CloudAlbum(
        album_id=album_id,
        title=json_text(obj.get("name")) or "",
        artist=_main_artist(obj.get("artists")),
        album_type=json_text(obj.get("album_type")),
        release_date=json_text(obj.get("release_date")),
        total_tracks=json_int(obj.get("total_tracks")),
        upc=json_text(json_object(obj.get("external_ids")).get("upc")),
        image_url=_image(obj.get("images")),
    ).credited_to(fallback_artist)


def parse_track(obj: object, album: CloudAlbum | None = None) -> CloudTrack | Skipped:
    """A catalog track, or why not (episodes, local files, gone items)."""
    if not isinstance(obj, dict):
        return Skipped(NULL)
    kind = obj.get("type")
    if kind == "episode" or obj.get("episode") is True:
        return Skipped(EPISODE)
    if obj.get("is_local") is True:
        return Skipped(LOCAL_FILE)
    if kind not in (None, "track"):
        return Skipped(UNAVAILABLE)
    track_id = json_text(obj.get("id"))
    if track_id is None:
        return Skipped(NO_ID)
    artist = _main_artist(obj.get("artists"))
    if album is None:
        embedded = parse_album(obj.get("album"), artist)
        album = embedded if isinstance(embedded, CloudAlbum) else None
    else:
        album = album.credited_to(artist)
    return CloudTrack(
        track_id=track_id,
        title=json_text(obj.get("name")) or "",
        artist=artist,
        album=album,
        isrc=normalize_isrc(json_text(json_object(obj.get("external_ids")).get("isrc"))),
        duration_ms=json_int(obj.get("duration_ms")),
        track_number=json_int(obj.get("track_number")),
        disc_number=json_int(obj.get("disc_number")),
    )


def parse_saved_track(entry: object) -> Liked | Skipped:
    """An entry of the saved tracks (``{"added_at", "track"}``)."""
    if not isinstance(entry, dict):
        return Skipped(NULL)
    track = parse_track(entry.get("track"))
    return track if isinstance(track, Skipped) else Liked(track, json_text(entry.get("added_at")))


def parse_saved_album(entry: object) -> tuple[CloudAlbum, str | None, dict | None] | Skipped:
    """An entry of the saved albums: the album, when it was saved, its embedded track listing if any.

    An album naming no artist takes its first track's.
    """
    if not isinstance(entry, dict):
        return Skipped(NULL)
    raw = entry.get("album")
    if not isinstance(raw, dict):
        return Skipped(NULL)
    listing = raw.get("tracks")
    if isinstance(listing, list):  # an older shape: the items themselves
        listing = {"items": listing, "next": None}
    listing = listing if isinstance(listing, dict) and isinstance(listing.get("items"), list) else None
    first = next((t for t in (listing or {}).get("items") or () if isinstance(t, dict)), None)
    album = parse_album(raw, _main_artist(first.get("artists")) if first else None)
    if isinstance(album, Skipped):
        return album
    return album, json_text(entry.get("added_at")), listing


def parse_playlist(obj: object) -> CloudPlaylist | Skipped:
    if not isinstance(obj, dict):
        return Skipped(NULL)
    playlist_id = json_text(obj.get("id"))
    if playlist_id is None:
        return Skipped(NO_ID)
    # `items` is the current name of the deprecated `tracks`.
    listing = json_object(obj.get("items")) or json_object(obj.get("tracks"))
    owner = json_object(obj.get("owner")).get("id")
    return CloudPlaylist(
        playlist_id=playlist_id,
        name=json_text(obj.get("name")) or "",
        owner=str(owner) if isinstance(owner, (str, int)) and not isinstance(owner, bool) and owner != "" else None,
        version=json_text(obj.get("snapshot_id")),
        track_count=json_int(listing.get("total")),
    )


def parse_playlist_entry(entry: object) -> tuple[CloudTrack, str | None] | Skipped:
    """A playlist entry (``{"added_at", "is_local", "item"|"track"}``): its track, or why not."""
    if not isinstance(entry, dict):
        return Skipped(NULL)
    if entry.get("is_local") is True:
        return Skipped(LOCAL_FILE)
    item = entry.get("item") if entry.get("item") is not None else entry.get("track")
    track = parse_track(item)
    return track if isinstance(track, Skipped) else (track, json_text(entry.get("added_at")))


# -- the client ---------------------------------------------------------------------------

T = TypeVar("T")


def _listing(body: object, unwrap: str | None) -> dict:
    """The paging object of an answer, or a failure worth retrying when there is none."""
    if not isinstance(body, dict):
        # spotipy returns None for a successful answer that is not JSON (a proxy's error page).
        raise HttpFailure(502, "the answer is not JSON", answered="2xx")
    listing = body.get(unwrap) if unwrap else body
    if not isinstance(listing, dict) or not isinstance(listing.get("items"), list):
        raise HttpFailure(502, "the answer is not a listing (no items)", answered="2xx")
    return listing


class SpotifyResource(dg.ConfigurableResource):
    """The user's Spotify library, read through spotipy."""

    client_id: str | None = Field(default=None, description="Spotify app client id (SPOTIFY_CLIENT_ID).")
    redirect_uri: str | None = Field(
        default=None, description="Redirect URI registered for the app (SPOTIFY_REDIRECT_URI)."
    )
    api_url: str = Field(default=SPOTIFY_API_URL, description="Base URL of the Web API (stand-ins, proxies).")
    accounts_url: str = Field(default=SPOTIFY_ACCOUNTS_URL, description="Base URL of the accounts (OAuth) server.")
    token_path: str = Field(description="Where the login (refresh token) is kept, mode 0600.")
    request_timeout_s: float = 20.0
    max_attempts: int = 5
    retry_base_delay_s: float = 1.0
    max_pages: int = Field(default=MAX_PAGES, description="Pages one listing may have before it counts as a loop.")

    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]
    _client: spotipy.Spotify | None = PrivateAttr(default=None)
    _auth: StoredLoginPKCE | None = PrivateAttr(default=None)
    _stats: CallStats = PrivateAttr(default_factory=CallStats)

    name: ClassVar[str] = "spotify"

    @property
    def configured(self) -> bool:
        return bool(self.client_id and self.redirect_uri)

    @property
    def stats(self) -> CallStats:
        return self._stats

    @property
    def _base(self) -> str:
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"

    def auth_manager(self, *, interactive: bool = False, open_browser: bool = False) -> StoredLoginPKCE:
        return StoredLoginPKCE(
            accounts_url=self.accounts_url,
            interactive=interactive,
            client_id=self.client_id,
            redirect_uri=self.redirect_uri,
            scope=" ".join(SCOPES),
            cache_handler=TokenFile(Path(self.token_path)),
            open_browser=open_browser,
            requests_timeout=self.request_timeout_s,
        )

    def login(self, *, open_browser: bool = True) -> dict:
        """The one-time interactive login; returns the Spotify user it logged in as."""
        auth = self.auth_manager(interactive=True, open_browser=open_browser)
        auth.get_access_token(check_cache=False)
        client = self._make_client(auth)
        return client.current_user()

    def _make_client(self, auth: StoredLoginPKCE) -> spotipy.Spotify:
        # Our retry loop handles 429 and 5xx; spotipy's urllib3 retries would hide
        # Retry-After and the counts from us, and a plain session has none.
        client = spotipy.Spotify(
            auth_manager=auth, requests_timeout=self.request_timeout_s, requests_session=requests.Session()
        )
        client.prefix = self._base
        return client

    def _spotify(self) -> tuple[spotipy.Spotify, StoredLoginPKCE]:
        """The client and the login it calls with, made on first use."""
        if self._client is None or self._auth is None:
            if not self.configured:
                raise LoginRequired("Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_REDIRECT_URI")
            # spotipy swallows requests' errors about a URL it cannot call (they are ValueErrors).
            for name, url, setting in (
                ("API", self.api_url, "SOULSPOT_SPOTIFY_API_URL"),
                ("accounts", self.accounts_url, "SOULSPOT_SPOTIFY_ACCOUNTS_URL"),
            ):
                if not _http_url(url):
                    raise ProviderError(f"the Spotify {name} URL {url} is not an http(s) URL; check {setting}")
            self._auth = self.auth_manager()
            self._client = self._make_client(self._auth)
        return self._client, self._auth

    def _mapped(self, endpoint: str, fn: Callable[[], T]) -> T:
        """``fn``, with everything spotipy and requests raise turned into ``HttpFailure`` or ``ProviderError``."""
        try:
            return fn()
        except spotipy.SpotifyException as exc:
            retry_after = parse_retry_after((exc.headers or {}).get("Retry-After"))
            # spotipy's message is "<url>:\n <the error's message>", "None" when the body had none.
            said = str(exc.msg or "").split("\n")[-1].strip()
            if said in ("", "None"):
                said = exc.reason or _phrase(exc.http_status)
            raise HttpFailure(exc.http_status, said, retry_after) from None
        except SpotifyOauthError as exc:  # outside a login refresh (those are mapped by StoredLoginPKCE)
            raise LoginRequired(_refused(exc)) from None
        except (
            requests.Timeout,
            requests.ConnectionError,
            requests.exceptions.ChunkedEncodingError,
            requests.exceptions.ContentDecodingError,
        ) as exc:
            raise HttpFailure(None, type(exc).__name__, server=_host_of(exc)) from None
        except requests.RequestException as exc:
            # A URL that cannot be called (no scheme, bad host, endless redirects): retrying cannot help.
            raise ProviderError(
                f"{endpoint}: the Spotify API at {self.api_url} cannot be called ({type(exc).__name__}: {exc}); "
                "check SOULSPOT_SPOTIFY_API_URL"
            ) from None

    def _call(self, endpoint: str, fn: Callable[[spotipy.Spotify], T]) -> T:
        client, auth = self._spotify()
        refreshed = False

        def attempt() -> T:
            nonlocal refreshed
            try:
                return self._mapped(endpoint, lambda: fn(client))
            except HttpFailure as failure:
                if failure.status != 401 or refreshed:
                    raise
            # The access token died before its time: one refresh (tried again while the login
            # server fails), then the same call again.
            self._mapped(endpoint, auth.force_refresh)
            refreshed = True
            return self._mapped(endpoint, lambda: fn(client))

        return call_with_retries(
            attempt,
            endpoint=endpoint,
            policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
            stats=self._stats,
            login_hint=f"Run `{LOGIN_COMMAND}` again.",
            sleep=self.clock.sleep,
            server=urlsplit(self._base).netloc,
            setting="SOULSPOT_SPOTIFY_API_URL",
        )

    # -- paging: the one way every listing is read ------------------------------------------

    def _get_listing(self, endpoint: str, url: str, unwrap: str | None) -> dict:
        return self._call(endpoint, lambda c: _listing(c._get(url), unwrap))

    def _pages(self, endpoint: str, path: str, params: dict[str, object], unwrap: str | None = None) -> Iterator[Any]:
        """Every item of a listing, from its first page to its last."""
        guard = PageGuard("Spotify", endpoint, self.max_pages)
        url = f"{self._base}{path}?{urlencode(params)}"
        guard.visit(url)
        yield from self._follow(endpoint, self._get_listing(endpoint, url, unwrap), guard, unwrap)

    def _follow(self, endpoint: str, listing: dict, guard: PageGuard, unwrap: str | None = None) -> Iterator[Any]:
        """The items of ``listing`` and of the pages after it, each ``next`` rebased onto our API URL."""
        while True:
            yield from listing["items"]
            link = json_text(listing.get("next"))
            if link is None:
                return
            url = self._rebased(endpoint, link)
            guard.visit(url)
            listing = self._get_listing(endpoint, url, unwrap)

    def _rebased(self, endpoint: str, link: str) -> str:
        url = rebase_url(link, self._base, SPOTIFY_API_URL)
        if url is None:
            raise ProviderError(
                f"{endpoint}: Spotify's next page {link} lies outside the API ({self._base}); stopped instead of "
                "sending the login elsewhere. Check SOULSPOT_SPOTIFY_API_URL"
            )
        return url

    # -- the listings ---------------------------------------------------------------------

    def liked_tracks(self) -> Iterator[Liked | Skipped]:
        for entry in self._pages("saved tracks", "me/tracks", {"limit": 50, "offset": 0}):
            yield parse_saved_track(entry)

    def saved_albums(self) -> Iterator[SavedAlbum | Skipped]:
        for entry in self._pages("saved albums", "me/albums", {"limit": 50, "offset": 0}):
            parsed = parse_saved_album(entry)
            if isinstance(parsed, Skipped):
                yield parsed
                continue
            album, added_at, listing = parsed
            yield SavedAlbum(Liked(album, added_at), partial(self._album_tracks, album, listing))

    def _album_tracks(self, album: CloudAlbum, listing: dict | None) -> Iterator[CloudTrack | Skipped]:
        """The album's tracks: the first page came with the saved album, the rest are requests of their own."""
        endpoint = f"album {album.album_id} tracks"
        if listing is None:
            items = self._pages(endpoint, f"albums/{quote(album.album_id, safe='')}/tracks", {"limit": 50, "offset": 0})
        else:
            guard = PageGuard("Spotify", endpoint, self.max_pages)
            first = json_text(listing.get("href"))
            if first is not None and (url := rebase_url(first, self._base, SPOTIFY_API_URL)) is not None:
                guard.visit(url)
            items = self._follow(endpoint, listing, guard)
        for item in items:
            yield parse_track(item, album)

    def followed_artists(self) -> Iterator[Liked | Skipped]:
        for obj in self._pages("followed artists", "me/following", {"type": "artist", "limit": 50}, unwrap="artists"):
            artist = parse_artist(obj)
            yield artist if isinstance(artist, Skipped) else Liked(artist, None)

    def artist_albums(self, artist_id: str) -> list[dict]:
        """The artist's own albums, singles and compilations (not those it appears on)."""
        return [
            obj
            for obj in self._pages(
                "artist albums",
                f"artists/{quote(artist_id, safe='')}/albums",
                {"include_groups": "album,single,compilation", "limit": 50, "offset": 0},
            )
            if isinstance(obj, dict)
        ]

    def playlists(self) -> Iterator[CloudPlaylist | Skipped]:
        for obj in self._pages("playlists", "me/playlists", {"limit": 50, "offset": 0}):
            yield parse_playlist(obj)

    def playlist_items(self, playlist_id: str) -> PlaylistItems:
        items = PlaylistItems()
        for entry in self._pages(
            f"playlist {playlist_id} items",
            f"playlists/{quote(playlist_id, safe='')}/items",
            {"limit": 100, "offset": 0, "additional_types": "track"},
        ):
            parsed = parse_playlist_entry(entry)
            if isinstance(parsed, Skipped):
                items.skip(parsed.reason)
            else:
                items.tracks.append(parsed)
        return items

    # -- the catalogue: what a request by link or search reads -------------------------------

    def _object(self, endpoint: str, path: str, params: dict[str, object] | None = None) -> dict:
        url = f"{self._base}{path}" + (f"?{urlencode(params)}" if params else "")

        def get(client: spotipy.Spotify) -> dict:
            body = client._get(url)
            if not isinstance(body, dict):
                raise HttpFailure(502, "the answer is not a JSON object", answered="2xx")
            return body

        return self._call(endpoint, get)

    def track(self, track_id: str) -> CloudTrack:
        """One catalogue track (``GET /tracks/{id}``)."""
        parsed = parse_track(self._object(f"track {track_id}", f"tracks/{quote(track_id, safe='')}"))
        if isinstance(parsed, Skipped):
            raise ProviderError(f"track {track_id}: Spotify's answer is no catalogue track ({parsed.reason})")
        return parsed

    def album_tracks(self, album_id: str) -> tuple[CloudAlbum, list[CloudTrack]]:
        """An album and its tracks (``GET /albums/{id}``, its ``tracks`` paging followed)."""
        endpoint = f"album {album_id}"
        body = self._object(endpoint, f"albums/{quote(album_id, safe='')}")
        listing = body.get("tracks")
        album = parse_album(body, _main_artist(body.get("artists")))
        if isinstance(album, Skipped) or not isinstance(listing, dict) or not isinstance(listing.get("items"), list):
            raise ProviderError(f"{endpoint}: Spotify's answer is no album with a track listing")
        return album, [t for t in self._album_tracks(album, listing) if isinstance(t, CloudTrack)]

    def playlist_tracks(self, playlist_id: str) -> tuple[str | None, list[CloudTrack]]:
        """A playlist's name (None when Spotify does not tell) and its catalogue tracks."""
        try:
            name = parse_playlist(
                self._object(
                    f"playlist {playlist_id}",
                    f"playlists/{quote(playlist_id, safe='')}",
                    {"fields": "id,name,owner,snapshot_id"},
                )
            )
        except EndpointUnavailable:
            name = None
        items = self.playlist_items(playlist_id)
        title = name.name if isinstance(name, CloudPlaylist) and name.name else None
        return title, [track for track, _ in items.tracks]

    def artist_top_tracks(self, artist_id: str) -> list[CloudTrack]:
        """An artist's top tracks (``GET /artists/{id}/top-tracks``) in the user's market."""
        body = self._object(
            f"artist {artist_id} top tracks",
            f"artists/{quote(artist_id, safe='')}/top-tracks",
            {"market": "from_token"},
        )
        listed = body.get("tracks")
        return [t for t in map(parse_track, listed if isinstance(listed, list) else []) if isinstance(t, CloudTrack)]

    def search_tracks(self, query: str, limit: int = 10) -> list[CloudTrack]:
        """The first page of a track search (``GET /search?type=track``), best first."""
        body = self._object("search", "search", {"q": query, "type": "track", "limit": limit})
        listing = _listing(body, "tracks")
        return [t for t in map(parse_track, listing["items"]) if isinstance(t, CloudTrack)]


def _http_url(url: str) -> bool:
    parts = urlsplit(url)
    return parts.scheme in ("http", "https") and bool(parts.netloc)


def _phrase(status: object) -> str:
    try:
        return HTTPStatus(status).phrase if isinstance(status, int) else "no reason given"
    except ValueError:
        return "no reason given"


def _host_of(exc: requests.RequestException) -> str | None:
    request = getattr(exc, "request", None)
    url = getattr(request, "url", None)
    return urlsplit(url).netloc or None if isinstance(url, str) else None
