"""LRCLIB (https://lrclib.net/docs), through httpx: a track's lyrics by artist, title, album and duration.

No account is needed. ``GET /api/get`` answers one record (``id, name, trackName, artistName,
albumName, duration, instrumental, plainLyrics, syncedLyrics``) or a 404 whose body says
``"statusCode": 404, "name": "TrackNotFound"``; it needs an exact match. ``GET /api/search``
(``track_name``, ``artist_name``) answers a list of the same records, at most 20, ``[]`` when
nothing matches. Requests go one at a time, at most ``rate`` per second; 429, 5xx, timeouts
and dropped connections are retried with backoff, and what still fails is a ``ProviderError``
(the phase then stops asking for this run).
"""

from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from soulspot_pipeline.domain.lyrics import LRCLIB, LyricsRecord, LyricsTarget, query_duration_s
from soulspot_pipeline.domain.resilience import RetryPolicy, parse_retry_after
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.http import USER_AGENT, service_client
from soulspot_pipeline.resources.retrying import CallStats, HttpFailure, call_with_retries, space_request
from soulspot_pipeline.settings import LRCLIB_URL

T = TypeVar("T")


class LyricsRefused(Exception):
    """LRCLIB refused the question about this one track (HTTP 400 and other 4xx)."""


def parse_record(body: Any) -> LyricsRecord:
    """An LRCLIB track record; raises ValueError when the body is not one."""
    if not isinstance(body, dict) or "instrumental" not in body:
        raise ValueError("the answer is not an LRCLIB track record")

    def text(key: str) -> str | None:
        value = body.get(key)
        return value if isinstance(value, str) and value.strip() else None

    duration = body.get("duration")
    record_id = body.get("id")
    return LyricsRecord(
        source=LRCLIB,
        source_id=str(record_id) if record_id is not None else None,
        title=text("trackName") or text("name"),
        artist=text("artistName"),
        album=text("albumName"),
        duration_s=float(duration) if isinstance(duration, int | float) else None,
        instrumental=body.get("instrumental") is True,
        plain=text("plainLyrics"),
        synced=text("syncedLyrics"),
    )


def parse_search(body: Any) -> list[LyricsRecord]:
    """The track records of a search answer; raises ValueError when the body is no list."""
    if not isinstance(body, list):
        raise ValueError("the answer is not a list of LRCLIB track records")
    records = []
    for item in body:
        try:
            records.append(parse_record(item))
        except ValueError:
            continue
    return records


class LrclibResource(dg.ConfigurableResource):
    """LRCLIB's lyrics of a track; ``base_url`` None turns lyrics off (SOULSPOT_LRCLIB_URL=off)."""

    base_url: str | None = Field(default=LRCLIB_URL, description="LRCLIB's server (SOULSPOT_LRCLIB_URL).")
    rate: float = Field(default=4.0, description="Requests per second at most.")
    timeout_s: float = 15.0
    max_attempts: int = 3
    retry_base_delay_s: float = 1.0

    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]
    _http: httpx.Client | None = PrivateAttr(default=None)
    _stats: CallStats = PrivateAttr(default_factory=CallStats)
    _last_request: float | None = PrivateAttr(default=None)

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    @property
    def stats(self) -> CallStats:
        return self._stats

    def get(self, target: LyricsTarget) -> LyricsRecord | None:
        """The record LRCLIB keeps for this track, or None when it has none (404).

        Raises ``LyricsRefused`` when the question itself was refused, ``ProviderError`` when
        LRCLIB could not be reached or kept failing.
        """
        params: dict[str, str | int] = {"artist_name": target.artist, "track_name": target.title}
        if target.album:
            params["album_name"] = target.album
        duration = query_duration_s(target.duration_ms)
        if duration is not None:
            params["duration"] = duration
        return self._call("/api/get", params, parse_record)

    def search(self, target: LyricsTarget) -> list[LyricsRecord]:
        """The records LRCLIB's search finds by title and artist (any album or length), in its order.

        Raises as ``get`` does; items that are not track records are left out.
        """
        params: dict[str, str | int] = {"track_name": target.title, "artist_name": target.artist}
        return self._call("/api/search", params, parse_search) or []

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.close()

    # -- internals ----------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = service_client(
                self.base_url,
                service="LRCLIB",
                setting="SOULSPOT_LRCLIB_URL",
                timeout_s=self.timeout_s,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            )
        return self._http

    def _wait_turn(self) -> None:
        self._last_request = space_request(self._last_request, self.rate, self.clock.now, self.clock.sleep, self._stats)

    def _call(self, path: str, params: dict[str, str | int], parse: Callable[[Any], T]) -> T | None:
        client = self._client()

        def attempt() -> T | None:
            self._wait_turn()
            try:
                response = client.get(path, params=params)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections, DNS
                raise HttpFailure(None, f"{type(exc).__name__} {exc}".strip()) from None
            except httpx.HTTPError as exc:
                raise HttpFailure(502, f"{type(exc).__name__}: {exc}") from None
            status = response.status_code
            try:
                body: Any = response.json()
            except ValueError:
                body = None
            if status == 404:  # LRCLIB's "TrackNotFound" (statusCode 404): it has no such track
                return None
            if status == 429 or status >= 500:
                raise HttpFailure(
                    status,
                    " ".join(response.text[:200].split()),
                    parse_retry_after(response.headers.get("Retry-After")),
                )
            if status >= 400:
                message = body.get("message") if isinstance(body, dict) else None
                raise LyricsRefused(f"HTTP {status} {message or ' '.join(response.text[:200].split())}".strip())
            try:
                return parse(body)
            except ValueError as exc:
                raise HttpFailure(502, str(exc), answered=str(status)) from None

        return call_with_retries(
            attempt,
            endpoint=f"LRCLIB {path}",
            policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
            stats=self._stats,
            sleep=self.clock.sleep,
            server=urlsplit(self.base_url or "").netloc,
            setting="SOULSPOT_LRCLIB_URL",
        )


class LyricsPolicy(dg.ConfigurableResource):
    """What the lyrics phase writes besides its table, and when "none anywhere" is asked again."""

    write_files: bool = Field(
        default=False, description="A .lrc (synced) or .txt (plain) beside each audio file (SOULSPOT_LYRICS_FILES)."
    )
    write_tags: bool = Field(
        default=False, description="The lyrics in the audio file's own tags, via a staged copy (SOULSPOT_LYRICS_TAGS)."
    )
    retry_days: float = Field(
        default=30.0, description="Wait before asking again for a track no source had (SOULSPOT_LYRICS_RETRY_DAYS)."
    )
