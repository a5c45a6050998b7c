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
from pathlib import Path
from typing import Any, ClassVar

import dagster as dg
import requests
import spotipy
from pydantic import Field, PrivateAttr
from spotipy.cache_handler import CacheHandler
from spotipy.oauth2 import SpotifyOauthError

from soulspot_pipeline.domain.cloud import (
    CloudAlbum,
    CloudArtist,
    CloudPlaylist,
    CloudTrack,
    Liked,
    LoginRequired,
    PlaylistItems,
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
            return json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return None
        except (OSError, ValueError) as exc:
            raise LoginRequired(
                f"the Spotify login file {self.path} cannot be read ({exc}); run `{LOGIN_COMMAND}` again"
            ) from None

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
            raise LoginRequired(_refused(exc)) from None

    def force_refresh(self) -> None:
        """Trade the refresh token for a new access token now (after a 401)."""
        stored = self.cache_handler.get_cached_token() or {}
        if not stored.get("refresh_token"):
            raise LoginRequired(f"no Spotify login is stored yet: run `{LOGIN_COMMAND}` once")
        try:
            self.refresh_access_token(stored["refresh_token"])
        except SpotifyOauthError as exc:
            raise LoginRequired(_refused(exc)) from None


def _refused(exc: SpotifyOauthError) -> str:
    return (
        f"Spotify refused the stored login ({exc.error}: {exc.error_description}); it expired or was "
        f"revoked: run `{LOGIN_COMMAND}` again"
    )


def _image(images: list[dict] | None) -> str | None:
    # Spotify lists the largest image first.
    return images[0]["url"] if images else None


def parse_artist(obj: dict) -> CloudArtist:
    return CloudArtist(
        artist_id=obj["id"],
        name=obj.get("name") or "",
        genres=tuple(obj.get("genres") or ()),
        image_url=_image(obj.get("images")),
    )


def _main_artist(artists: list[dict] | None) -> CloudArtist:
    for artist in artists or ():
        if artist.get("id"):
            return parse_artist(artist)
    name = (artists or [{}])[0].get("name") or ""
    return CloudArtist(artist_id="", name=name)


def parse_album(obj: dict) -> CloudAlbum:
    return CloudAlbum(
        album_id=obj["id"],
        title=obj.get("name") or "",
        artist=_main_artist(obj.get("artists")),
        album_type=obj.get("album_type"),
        release_date=obj.get("release_date"),
        total_tracks=obj.get("total_tracks"),
        upc=(obj.get("external_ids") or {}).get("upc"),
        image_url=_image(obj.get("images")),
    )


def parse_track(obj: dict | None, album: CloudAlbum | None = None) -> CloudTrack | None:
    """A track, or None for what is not a catalog track (episodes, local files, gone items)."""
    if not obj or obj.get("type", "track") != "track" or obj.get("episode") or obj.get("is_local") or not obj.get("id"):
        return None
    if album is None and obj.get("album", {}).get("id"):
        album = parse_album(obj["album"])
    return CloudTrack(
        track_id=obj["id"],
        title=obj.get("name") or "",
        artist=_main_artist(obj.get("artists")),
        album=album,
        isrc=normalize_isrc((obj.get("external_ids") or {}).get("isrc")),
        duration_ms=obj.get("duration_ms"),
        track_number=obj.get("track_number"),
        disc_number=obj.get("disc_number"),
    )


def skip_reason(entry: dict) -> str | None:
    """Why a playlist entry is not a track we can use, or None when it is one."""
    item = entry.get("item") or entry.get("track")
    if entry.get("is_local"):
        return "local_file"
    if not item:
        return "unavailable"
    if item.get("type") == "episode" or item.get("episode"):
        return "episode"
    if not item.get("id"):
        return "unavailable"
    return None


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
        client.prefix = self.api_url if self.api_url.endswith("/") else self.api_url + "/"
        return client

    def _spotify(self) -> tuple[spotipy.Spotify, StoredLoginPKCE]:
        """The client and the login it calls with, made on first use."""
        if self._client is None or self._auth is None:
            if not self.configured:
                raise LoginRequired("Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_REDIRECT_URI")
            self._auth = self.auth_manager()
            self._client = self._make_client(self._auth)
        return self._client, self._auth

    def _call(self, endpoint: str, fn: Callable[[spotipy.Spotify], dict]) -> dict:
        client, auth = self._spotify()
        refreshed = False

        def once() -> dict:
            try:
                return fn(client)
            except spotipy.SpotifyException as exc:
                retry_after = parse_retry_after((exc.headers or {}).get("Retry-After"))
                raise HttpFailure(exc.http_status, exc.msg.split("\n")[-1].strip(), retry_after) from None
            except (requests.Timeout, requests.ConnectionError) as exc:
                raise HttpFailure(None, type(exc).__name__) from None

        def attempt() -> dict:
            nonlocal refreshed
            try:
                return once()
            except HttpFailure as failure:
                if failure.status != 401 or refreshed:
                    raise
            # The access token died before its time: one refresh, then the same call again.
            refreshed = True
            auth.force_refresh()
            return once()

        return call_with_retries(
            attempt,
            endpoint=endpoint,
            policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
            stats=self._stats,
            login_hint=f"Run `{LOGIN_COMMAND}` again.",
            sleep=self.clock.sleep,
        )

    def _pages(
        self, endpoint: str, first: Callable[[spotipy.Spotify], dict], unwrap: str | None = None
    ) -> Iterator[dict]:
        page = self._call(endpoint, first)
        while True:
            body = page[unwrap] if unwrap else page
            yield from body.get("items") or ()
            if not body.get("next"):
                return
            page = self._next_page(endpoint, body["next"])

    def _next_page(self, endpoint: str, url: str) -> dict:
        """The page a listing's ``next`` URL points to."""
        return self._call(endpoint, lambda c: c._get(url))

    def liked_tracks(self) -> Iterator[Liked]:
        for entry in self._pages("saved tracks", lambda c: c.current_user_saved_tracks(limit=50)):
            track = parse_track(entry.get("track"))
            if track is not None:
                yield Liked(track, entry.get("added_at"))

    def saved_albums(self) -> Iterator[tuple[Liked, list[CloudTrack]]]:
        for entry in self._pages("saved albums", lambda c: c.current_user_saved_albums(limit=50)):
            raw = entry.get("album")
            if not raw or not raw.get("id"):
                continue
            album = parse_album(raw)
            tracks: list[CloudTrack] = []
            listing = raw.get("tracks") or {}
            while True:
                for item in listing.get("items") or ():
                    track = parse_track(item, album)
                    if track is not None:
                        tracks.append(track)
                if not listing.get("next"):
                    break
                listing = self._next_page("album tracks", listing["next"])
            yield Liked(album, entry.get("added_at")), tracks

    def followed_artists(self) -> Iterator[Liked]:
        for obj in self._pages(
            "followed artists", lambda c: c.current_user_followed_artists(limit=50), unwrap="artists"
        ):
            if obj and obj.get("id"):
                yield Liked(parse_artist(obj), None)

    def artist_albums(self, artist_id: str) -> list[dict]:
        """The artist's own albums, singles and compilations (not those it appears on)."""
        return list(
            self._pages(
                "artist albums",
                lambda c: c.artist_albums(artist_id, include_groups="album,single,compilation", limit=50),
            )
        )

    def playlists(self) -> Iterator[CloudPlaylist]:
        for obj in self._pages("playlists", lambda c: c.current_user_playlists(limit=50)):
            if not obj or not obj.get("id"):
                continue
            listing = obj.get("items") or obj.get("tracks") or {}
            yield CloudPlaylist(
                playlist_id=obj["id"],
                name=obj.get("name") or "",
                owner=(obj.get("owner") or {}).get("id"),
                version=obj.get("snapshot_id"),
                track_count=listing.get("total"),
            )

    def playlist_items(self, playlist_id: str) -> PlaylistItems:
        items = PlaylistItems()
        for entry in self._pages(
            "playlist items",
            lambda c: c.playlist_items(playlist_id, limit=100, additional_types=("track",)),
        ):
            reason = skip_reason(entry)
            if reason is None:
                track = parse_track(entry.get("item") or entry.get("track"))
                if track is not None:
                    items.tracks.append((track, entry.get("added_at")))
                    continue
                reason = "unavailable"
            items.skipped[reason] = items.skipped.get(reason, 0) + 1
        return items
