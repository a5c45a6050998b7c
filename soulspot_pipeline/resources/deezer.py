"""Deezer's public API through httpx: a user's favorite tracks, albums, artists and playlists.

Favorites of a public profile need no login, only the user id. Deezer reports most
errors as HTTP 200 with an ``error`` object; they are turned into the same failures as
HTTP errors, so quota answers are waited out and refusals recorded.
"""

from collections.abc import Iterator
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import parse_qs, urlparse

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from soulspot_pipeline.domain.cloud import (
    CloudAlbum,
    CloudArtist,
    CloudPlaylist,
    CloudTrack,
    Liked,
    PlaylistItems,
    ProviderError,
)
from soulspot_pipeline.domain.resilience import RetryPolicy, parse_retry_after
from soulspot_pipeline.domain.text import normalize_isrc
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.retrying import CallStats, HttpFailure, call_with_retries
from soulspot_pipeline.settings import DEEZER_API_URL

PAGE_SIZE = 100
# Deezer's documented quota is 50 requests per 5 seconds.
QUOTA_WAIT_S = 5.0

# Deezer error codes -> the HTTP status they amount to.
_ERROR_STATUS = {4: 429, 700: 503, 200: 403, 300: 403, 800: 404, 801: 404}


def deezer_error(body: object) -> HttpFailure | None:
    """The failure an HTTP 200 body stands for, or None when it is data."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return None
    error = body["error"]
    code = error.get("code")
    status = _ERROR_STATUS.get(code, 502)
    message = f"{error.get('type', 'Error')} {code}: {error.get('message', '')}".strip()
    return HttpFailure(status, message, QUOTA_WAIT_S if status == 429 else None)


def _timestamp(value: object) -> str | None:
    if not isinstance(value, (int, float)) or value <= 0:
        return None
    return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _picture(obj: dict, prefix: str) -> str | None:
    url = obj.get(f"{prefix}_xl") or obj.get(f"{prefix}_big")
    # Deezer links items without a picture to its grey placeholder, whose path has an empty image hash.
    return None if not url or "//" in urlparse(url).path else url


def parse_artist(obj: dict) -> CloudArtist:
    return CloudArtist(
        artist_id=str(obj.get("id") or ""),
        name=obj.get("name") or "",
        image_url=_picture(obj, "picture"),
    )


def parse_album(obj: dict, artist: CloudArtist | None = None) -> CloudAlbum:
    return CloudAlbum(
        album_id=str(obj["id"]),
        title=obj.get("title") or "",
        artist=parse_artist(obj["artist"]) if obj.get("artist") else (artist or CloudArtist("", "")),
        album_type=obj.get("record_type"),
        release_date=obj.get("release_date"),
        total_tracks=obj.get("nb_tracks"),
        upc=obj.get("upc"),
        image_url=_picture(obj, "cover"),
    )


def parse_track(obj: dict, album: CloudAlbum | None = None) -> CloudTrack | None:
    if not obj or not obj.get("id") or obj.get("type", "track") != "track":
        return None
    artist = parse_artist(obj["artist"]) if obj.get("artist") else CloudArtist("", "")
    if album is None and obj.get("album", {}).get("id"):
        album = parse_album(obj["album"], artist)
    duration = obj.get("duration")
    return CloudTrack(
        track_id=str(obj["id"]),
        title=obj.get("title") or "",
        artist=artist,
        album=album,
        isrc=normalize_isrc(obj.get("isrc")),
        duration_ms=int(duration) * 1000 if isinstance(duration, (int, float)) and duration > 0 else None,
        track_number=obj.get("track_position"),
        disc_number=obj.get("disk_number"),
    )


class DeezerResource(dg.ConfigurableResource):
    """A Deezer user's favorites, read from the public API."""

    user_id: str | None = Field(default=None, description="The Deezer user whose favorites to sync (DEEZER_USER_ID).")
    api_url: str = Field(default=DEEZER_API_URL, description="Base URL of the API (stand-ins, proxies).")
    request_timeout_s: float = 20.0
    max_attempts: int = 5
    retry_base_delay_s: float = 1.0

    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]
    _http: httpx.Client | None = PrivateAttr(default=None)
    _stats: CallStats = PrivateAttr(default_factory=CallStats)

    name: ClassVar[str] = "deezer"

    @property
    def configured(self) -> bool:
        return bool(self.user_id)

    @property
    def stats(self) -> CallStats:
        return self._stats

    def _client(self) -> httpx.Client:
        if self._http is None:
            base = self.api_url if self.api_url.endswith("/") else self.api_url + "/"
            self._http = httpx.Client(base_url=base, timeout=self.request_timeout_s)
        return self._http

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._http is not None:
            self._http.close()

    def _get(self, endpoint: str, path: str, params: dict) -> dict:
        def attempt() -> dict:
            try:
                response = self._client().get(path, params=params)
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                raise HttpFailure(None, type(exc).__name__) from None
            if response.status_code >= 400:
                raise HttpFailure(
                    response.status_code,
                    response.text[:200],
                    parse_retry_after(response.headers.get("Retry-After")),
                )
            try:
                body = response.json()
            except ValueError:
                raise HttpFailure(502, "the answer is not JSON") from None
            failure = deezer_error(body)
            if failure is not None:
                raise failure
            return body

        return call_with_retries(
            attempt,
            endpoint=endpoint,
            policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
            stats=self._stats,
            sleep=self.clock.sleep,
        )

    def _pages(self, endpoint: str, path: str) -> Iterator[dict]:
        index = 0
        while True:
            body = self._get(endpoint, path, {"index": index, "limit": PAGE_SIZE})
            data = body.get("data") or []
            yield from data
            # Follow Deezer's own `next`, but against our base URL (it names api.deezer.com).
            following = parse_qs(urlparse(body["next"]).query).get("index") if body.get("next") else None
            if not following or not data:
                return
            next_index = int(following[0])
            if next_index <= index:
                raise ProviderError(f"{endpoint}: Deezer's paging did not advance (index {index})")
            index = next_index

    def _user_path(self, what: str) -> str:
        return f"user/{self.user_id}/{what}"

    def liked_tracks(self) -> Iterator[Liked]:
        for obj in self._pages("favorite tracks", self._user_path("tracks")):
            track = parse_track(obj)
            if track is not None:
                yield Liked(track, _timestamp(obj.get("time_add")))

    def saved_albums(self) -> Iterator[tuple[Liked, list[CloudTrack]]]:
        for obj in self._pages("favorite albums", self._user_path("albums")):
            if not obj.get("id"):
                continue
            album = parse_album(obj)
            tracks = [
                track
                for item in self._pages("album tracks", f"album/{album.album_id}/tracks")
                if (track := parse_track(item, album)) is not None
            ]
            yield Liked(album, _timestamp(obj.get("time_add"))), tracks

    def followed_artists(self) -> Iterator[Liked]:
        for obj in self._pages("favorite artists", self._user_path("artists")):
            if obj.get("id"):
                yield Liked(parse_artist(obj), _timestamp(obj.get("time_add")))

    def playlists(self) -> Iterator[CloudPlaylist]:
        for obj in self._pages("playlists", self._user_path("playlists")):
            if not obj.get("id"):
                continue
            yield CloudPlaylist(
                playlist_id=str(obj["id"]),
                name=obj.get("title") or "",
                owner=str((obj.get("creator") or {}).get("id") or "") or None,
                version=obj.get("checksum"),
                track_count=obj.get("nb_tracks"),
            )

    def playlist_items(self, playlist_id: str) -> PlaylistItems:
        items = PlaylistItems()
        for obj in self._pages("playlist items", f"playlist/{playlist_id}/tracks"):
            track = parse_track(obj)
            if track is None:
                items.skipped["unavailable"] = items.skipped.get("unavailable", 0) + 1
            else:
                items.tracks.append((track, _timestamp(obj.get("time_add"))))
        return items
