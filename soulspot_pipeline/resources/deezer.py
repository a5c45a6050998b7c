"""Deezer's public API through httpx: a user's favorite tracks, albums, artists and playlists.

Favorites of a public profile need no login, only the user id. Deezer reports most
errors as HTTP 200 with an ``error`` object; they are turned into the same failures as
HTTP errors, so quota answers are waited out and refusals recorded.
"""

import math
from collections.abc import Iterator
from datetime import UTC, datetime
from functools import partial
from typing import Any, ClassVar
from urllib.parse import parse_qsl, quote, urlencode, urlparse, urlsplit

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

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
    Liked,
    PageGuard,
    PagingLoop,
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
from soulspot_pipeline.settings import DEEZER_API_URL

PAGE_SIZE = 100
# Deezer's documented quota is 50 requests per 5 seconds.
QUOTA_WAIT_S = 5.0

# Deezer error codes -> the HTTP status they amount to.
_ERROR_STATUS = {4: 429, 700: 503, 200: 403, 300: 403, 800: 404, 801: 404}


def deezer_error(body: object) -> HttpFailure | None:
    """The failure an HTTP 200 body stands for, or None when it is data."""
    if not isinstance(body, dict) or not body.get("error"):
        return None
    error = body["error"] if isinstance(body["error"], dict) else {"message": str(body["error"])}
    code = error.get("code")
    status = _ERROR_STATUS.get(code, 502) if isinstance(code, int) else 502
    kind = json_text(error.get("type")) or "Error"
    said = f"{kind} {code}" if code is not None else kind
    message = f"{said}: {json_text(error.get('message')) or ''}".strip()
    return HttpFailure(status, message, QUOTA_WAIT_S if status == 429 else None)


# -- parsing: every field may be null or missing, only a missing id leaves an item out ------


def _id(value: object) -> str | None:
    """Deezer's ids are numbers; a string id is taken as it is."""
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    return json_text(value)


def _timestamp(value: object) -> str | None:
    if not isinstance(value, (int, float)) or isinstance(value, bool) or not math.isfinite(value) or value <= 0:
        return None
    try:
        return datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    except (OverflowError, OSError, ValueError):
        return None


def _picture(obj: dict, prefix: str) -> str | None:
    url = json_text(obj.get(f"{prefix}_xl")) or json_text(obj.get(f"{prefix}_big"))
    # Deezer links items without a picture to its grey placeholder, whose path has an empty image hash.
    return None if not url or "//" in urlparse(url).path else url


NOBODY = CloudArtist("", "")


def parse_artist(obj: object) -> CloudArtist | Skipped:
    if not isinstance(obj, dict):
        return Skipped(NULL)
    artist_id = _id(obj.get("id"))
    if artist_id is None:
        return Skipped(NO_ID)
    return CloudArtist(artist_id=artist_id, name=json_text(obj.get("name")) or "", image_url=_picture(obj, "picture"))


def _embedded_artist(obj: object) -> CloudArtist:
    """An artist inside a track or album: with or without an id, or nobody."""
    parsed = parse_artist(obj)
    if isinstance(parsed, CloudArtist):
        return parsed
    return CloudArtist("", json_text(json_object(obj).get("name")) or "")


def parse_album(obj: object, artist: CloudArtist | None = None) -> CloudAlbum | Skipped:
    """An album; one naming no artist takes ``artist`` (its track's)."""
    if not isinstance(obj, dict):
        return Skipped(NULL)
    album_id = _id(obj.get("id"))
    if album_id is None:
        return Skipped(NO_ID)
    return CloudAlbum(
        album_id=album_id,
        title=json_text(obj.get("title")) or "",
        artist=_embedded_artist(obj.get("artist")),
        album_type=json_text(obj.get("record_type")),
        release_date=json_text(obj.get("release_date")),
        total_tracks=json_int(obj.get("nb_tracks")),
        upc=json_text(obj.get("upc")),
        image_url=_picture(obj, "cover"),
    ).credited_to(artist)


def parse_track(obj: object, album: CloudAlbum | None = None) -> CloudTrack | Skipped:
    """A catalog track, or why not."""
    if not isinstance(obj, dict):
        return Skipped(NULL)
    kind = obj.get("type")
    if kind == "episode":
        return Skipped(EPISODE)
    if kind not in (None, "track"):
        return Skipped(UNAVAILABLE)
    track_id = _id(obj.get("id"))
    if track_id is None:
        return Skipped(NO_ID)
    if track_id.startswith("-"):
        # Deezer lists the MP3s a user uploaded with negative ids: their own files, not the catalog.
        return Skipped(LOCAL_FILE)
    artist = _embedded_artist(obj.get("artist"))
    if album is None:
        embedded = parse_album(obj.get("album"), artist)
        album = embedded if isinstance(embedded, CloudAlbum) else None
    else:
        album = album.credited_to(artist)
    duration = obj.get("duration")
    seconds = duration if isinstance(duration, (int, float)) and not isinstance(duration, bool) else None
    return CloudTrack(
        track_id=track_id,
        title=json_text(obj.get("title")) or "",
        artist=artist,
        album=album,
        isrc=normalize_isrc(json_text(obj.get("isrc"))),
        duration_ms=int(seconds * 1000) if seconds is not None and math.isfinite(seconds) and seconds > 0 else None,
        track_number=json_int(obj.get("track_position")),
        disc_number=json_int(obj.get("disk_number")),
    )


def parse_playlist(obj: object) -> CloudPlaylist | Skipped:
    if not isinstance(obj, dict):
        return Skipped(NULL)
    playlist_id = _id(obj.get("id"))
    if playlist_id is None:
        return Skipped(NO_ID)
    return CloudPlaylist(
        playlist_id=playlist_id,
        name=json_text(obj.get("title")) or "",
        owner=_id(json_object(obj.get("creator")).get("id")),
        version=json_text(obj.get("checksum")),
        track_count=json_int(obj.get("nb_tracks")),
    )


def parse_favorite_track(obj: object) -> Liked | Skipped:
    track = parse_track(obj)
    return track if isinstance(track, Skipped) else Liked(track, _timestamp(json_object(obj).get("time_add")))


class DeezerResource(dg.ConfigurableResource):
    """A Deezer user's favorites, read from the public API."""

    user_id: str | None = Field(default=None, description="The Deezer user whose favorites to sync (DEEZER_USER_ID).")
    api_url: str = Field(default=DEEZER_API_URL, description="Base URL of the API (stand-ins, proxies).")
    request_timeout_s: float = 20.0
    max_attempts: int = 5
    retry_base_delay_s: float = 1.0
    max_pages: int = Field(default=MAX_PAGES, description="Pages one listing may have before it counts as a loop.")

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

    @property
    def _base(self) -> str:
        return self.api_url if self.api_url.endswith("/") else self.api_url + "/"

    def _client(self) -> httpx.Client:
        if self._http is None:
            parts = urlsplit(self.api_url)
            if parts.scheme not in ("http", "https") or not parts.netloc:
                raise ProviderError(
                    f"the Deezer API URL {self.api_url} is not an http(s) URL; check SOULSPOT_DEEZER_API_URL"
                )
            self._http = httpx.Client(timeout=self.request_timeout_s)
        return self._http

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._http is not None:
            self._http.close()

    def _get(self, endpoint: str, url: str) -> dict:
        def attempt() -> dict:
            try:
                response = self._client().get(url)
            except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
                raise ProviderError(
                    f"{endpoint}: the Deezer API at {self.api_url} cannot be called ({type(exc).__name__}: {exc}); "
                    "check SOULSPOT_DEEZER_API_URL"
                ) from None
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections
                raise HttpFailure(None, type(exc).__name__) from None
            except (httpx.HTTPError, httpx.StreamError) as exc:  # undecodable bodies, endless redirects
                raise HttpFailure(502, f"{type(exc).__name__}: {exc}") from None
            if response.status_code >= 400:
                raise HttpFailure(
                    response.status_code,
                    " ".join(response.text[:200].split()) or response.reason_phrase,
                    parse_retry_after(response.headers.get("Retry-After")),
                )
            answered = str(response.status_code)
            try:
                body = response.json()
            except ValueError:
                raise HttpFailure(502, "the answer is not JSON", answered=answered) from None
            failure = deezer_error(body)
            if failure is not None:
                raise failure
            if not isinstance(body, dict):
                raise HttpFailure(502, "the answer is not a JSON object", answered=answered)
            return body

        return call_with_retries(
            attempt,
            endpoint=endpoint,
            policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
            stats=self._stats,
            sleep=self.clock.sleep,
            server=urlsplit(self._base).netloc,
            setting="SOULSPOT_DEEZER_API_URL",
        )

    def _pages(self, endpoint: str, path: str) -> Iterator[Any]:
        """Every item of a listing: each ``next`` followed, rebased onto our API URL, until none."""
        guard = PageGuard("Deezer", endpoint, self.max_pages)
        url = f"{self._base}{path}?{urlencode({'index': 0, 'limit': PAGE_SIZE})}"
        index = 0
        while True:
            guard.visit(url)
            body = self._get(endpoint, url)
            data = body.get("data")
            if data is None and not body.get("total"):
                data = []  # an empty listing may leave `data` out
            if not isinstance(data, list):
                raise ProviderError(f"{endpoint}: Deezer's answer at {url} is not a listing (no data)")
            yield from data
            link = json_text(body.get("next"))
            if link is None or not data:
                return
            url, index = self._next_url(endpoint, link, index)

    def _next_url(self, endpoint: str, link: str, index: int) -> tuple[str, int]:
        url = rebase_url(link, self._base, DEEZER_API_URL)
        if url is None:
            raise ProviderError(
                f"{endpoint}: Deezer's next page {link} lies outside the API ({self._base}); "
                "check SOULSPOT_DEEZER_API_URL"
            )
        query = dict(parse_qsl(urlsplit(url).query))
        if "limit" not in query:  # Deezer's links leave it out, and it falls back to 25
            url += f"&limit={PAGE_SIZE}" if "?" in url else f"?limit={PAGE_SIZE}"
        following = _int_text(query.get("index"))
        if following is not None and following <= index:
            raise PagingLoop(
                f"{endpoint}: Deezer's paging loops: the next page ({link}) does not advance (index {following} "
                f"after index {index}); stopped instead of asking again. The next sync tries again"
            )
        return url, following if following is not None else index

    def _user_path(self, what: str) -> str:
        return f"user/{quote(str(self.user_id), safe='')}/{what}"

    def liked_tracks(self) -> Iterator[Liked | Skipped]:
        for obj in self._pages("favorite tracks", self._user_path("tracks")):
            yield parse_favorite_track(obj)

    def saved_albums(self) -> Iterator[SavedAlbum | Skipped]:
        for obj in self._pages("favorite albums", self._user_path("albums")):
            album = parse_album(obj)
            if isinstance(album, Skipped):
                yield album
                continue
            liked = Liked(album, _timestamp(json_object(obj).get("time_add")))
            yield SavedAlbum(liked, partial(self._album_tracks, album))

    def _album_tracks(self, album: CloudAlbum) -> Iterator[CloudTrack | Skipped]:
        path = f"album/{quote(album.album_id, safe='')}/tracks"
        for item in self._pages(f"album {album.album_id} tracks", path):
            yield parse_track(item, album)

    def followed_artists(self) -> Iterator[Liked | Skipped]:
        for obj in self._pages("favorite artists", self._user_path("artists")):
            artist = parse_artist(obj)
            yield artist if isinstance(artist, Skipped) else Liked(artist, _timestamp(json_object(obj).get("time_add")))

    def playlists(self) -> Iterator[CloudPlaylist | Skipped]:
        for obj in self._pages("playlists", self._user_path("playlists")):
            yield parse_playlist(obj)

    def playlist_items(self, playlist_id: str) -> PlaylistItems:
        items = PlaylistItems()
        path = f"playlist/{quote(playlist_id, safe='')}/tracks"
        for obj in self._pages(f"playlist {playlist_id} items", path):
            track = parse_track(obj)
            if isinstance(track, Skipped):
                items.skip(track.reason)
            else:
                items.tracks.append((track, _timestamp(json_object(obj).get("time_add"))))
        return items

    # -- the catalogue: what a request by link or search reads -------------------------------

    def track(self, track_id: str) -> CloudTrack:
        """One catalogue track (``GET /track/{id}``)."""
        parsed = parse_track(self._get(f"track {track_id}", f"{self._base}track/{quote(track_id, safe='')}"))
        if isinstance(parsed, Skipped):
            raise ProviderError(f"track {track_id}: Deezer's answer is no catalogue track ({parsed.reason})")
        return parsed

    def album_tracks(self, album_id: str) -> tuple[CloudAlbum, list[CloudTrack]]:
        """An album (``GET /album/{id}``) and its tracks (``/album/{id}/tracks``, every page)."""
        album = parse_album(self._get(f"album {album_id}", f"{self._base}album/{quote(album_id, safe='')}"))
        if isinstance(album, Skipped):
            raise ProviderError(f"album {album_id}: Deezer's answer is no album ({album.reason})")
        return album, [t for t in self._album_tracks(album) if isinstance(t, CloudTrack)]

    def playlist_tracks(self, playlist_id: str) -> tuple[str | None, list[CloudTrack]]:
        """A playlist's name and its catalogue tracks."""
        found = parse_playlist(
            self._get(f"playlist {playlist_id}", f"{self._base}playlist/{quote(playlist_id, safe='')}")
        )
        name = found.name if isinstance(found, CloudPlaylist) and found.name else None
        return name, [track for track, _ in self.playlist_items(playlist_id).tracks]

    def artist_top_tracks(self, artist_id: str) -> list[CloudTrack]:
        """An artist's top tracks (``GET /artist/{id}/top``)."""
        path = f"artist/{quote(artist_id, safe='')}/top"
        return [
            t
            for t in map(parse_track, self._pages(f"artist {artist_id} top tracks", path))
            if isinstance(t, CloudTrack)
        ]

    def search_tracks(self, query: str, limit: int = 10) -> list[CloudTrack]:
        """The first page of a track search (``GET /search?q=``), best first."""
        body = self._get("search", f"{self._base}search?{urlencode({'q': query, 'limit': limit})}")
        data = body.get("data")
        if not isinstance(data, list):
            data = []
        return [t for t in map(parse_track, data) if isinstance(t, CloudTrack)]


def _int_text(value: str | None) -> int | None:
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None
