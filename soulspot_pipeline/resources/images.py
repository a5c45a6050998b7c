"""Cover art and artist pictures over HTTP: Cover Art Archive listings and image downloads, through httpx.

A call runs its requests on ``max_in_flight`` threads sharing one client whose connection
pool has the same size, so a server never sees more than ``max_in_flight`` requests at
once from this resource. Each item succeeds or fails on its own: the answer maps every
key to its result or to the exception that stopped it, and one bad item never stops the
others. 429, 5xx, timeouts and dropped connections are retried with backoff (a 429's
Retry-After is waited out); other 4xx are final.
"""

import json
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Literal, TypeVar, overload
from urllib.parse import quote

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.images import best_caa_image_url
from soulspot_pipeline.domain.resilience import RetryPolicy, parse_retry_after
from soulspot_pipeline.resources.retrying import CallStats, HttpFailure, call_with_retries
from soulspot_pipeline.settings import COVERART_URL

USER_AGENT = "soulspot-pipeline/0.1"
CAA_KINDS = ("release", "release-group")
_MB = 1024 * 1024

T = TypeVar("T")
R = TypeVar("R")


class ImageFetchError(Exception):
    """A listing or an image that could not be had; ``status`` is the last HTTP status, None when no answer came."""

    def __init__(self, url: str, message: str, status: int | None = None):
        super().__init__(message if message.startswith(url) else f"{url}: {message}")
        self.url = url
        self.status = status


class CoverArtResource(dg.ConfigurableResource):
    """The Cover Art Archive's front covers, and any picture URL (CAA, Spotify's and Deezer's CDNs)."""

    base_url: str = Field(default=COVERART_URL, description="The Cover Art Archive (SOULSPOT_COVERART_URL).")
    max_in_flight: int = Field(default=5, description="Most requests open at once, across all items of a call.")
    timeout_s: float = 30.0
    max_attempts: int = 3
    retry_base_delay_s: float = 1.0
    max_image_mb: int = Field(default=20, description="Bodies larger than this are refused.")

    _http: httpx.Client | None = PrivateAttr(default=None)
    _stats: CallStats = PrivateAttr(default_factory=CallStats)
    _lock: threading.Lock = PrivateAttr(default_factory=threading.Lock)

    @property
    def stats(self) -> CallStats:
        """Requests, retries and waiting of every call so far."""
        return self._stats

    def front_cover_urls(self, refs: Sequence[tuple[str, str, str]]) -> dict[str, str | Exception | None]:
        """For each ``(key, kind, mbid)``, the URL of the front cover, None when there is none, or the failure.

        ``kind`` is ``"release"`` or ``"release-group"``. A 404 (the archive has no art)
        and a listing without a front image both give None.
        """
        for key, kind, _ in refs:
            if kind not in CAA_KINDS:
                raise ValueError(f"{key}: kind must be one of {CAA_KINDS}, not {kind!r}")
        base = self.base_url.rstrip("/")

        def front_url(ref: tuple[str, str, str]) -> str | None:
            _, kind, mbid = ref
            url = f"{base}/{kind}/{quote(mbid, safe='')}"
            body = self._get(url, missing_is_none=True, headers={"Accept": "application/json"})
            if body is None:
                return None
            try:
                listing = json.loads(body)
            except ValueError:
                raise ImageFetchError(url, "the listing is not JSON") from None
            return best_caa_image_url(listing)

        return self._each([(key, (key, kind, mbid)) for key, kind, mbid in refs], front_url)

    def fetch(self, items: Sequence[tuple[str, str]]) -> dict[str, bytes | Exception]:
        """For each ``(key, url)``, the body of the URL (redirects followed) or the failure."""
        return self._each(list(items), lambda url: self._get(url, missing_is_none=False))

    def close(self) -> None:
        with self._lock:
            http, self._http = self._http, None
        if http is not None:
            http.close()

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    # -- internals ----------------------------------------------------------------------

    def _client(self) -> httpx.Client:
        with self._lock:
            if self._http is None:
                size = max(1, self.max_in_flight)
                self._http = httpx.Client(
                    timeout=self.timeout_s,
                    follow_redirects=True,
                    headers={"User-Agent": USER_AGENT},
                    limits=httpx.Limits(max_connections=size, max_keepalive_connections=size),
                )
            return self._http

    def _each(self, keyed: Sequence[tuple[str, T]], work: Callable[[T], R]) -> dict[str, R | Exception]:
        """``work`` on every argument, ``max_in_flight`` at a time; a raised exception is that key's result."""
        if not keyed:
            return {}

        def guarded(argument: T) -> R | Exception:
            try:
                return work(argument)
            except Exception as exc:
                return exc

        workers = max(1, min(self.max_in_flight, len(keyed)))
        with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="images") as pool:
            results = list(pool.map(guarded, [argument for _, argument in keyed]))
        return {key: result for (key, _), result in zip(keyed, results, strict=True)}

    @overload
    def _get(self, url: str, *, missing_is_none: Literal[False], headers: dict[str, str] | None = None) -> bytes: ...
    @overload
    def _get(self, url: str, *, missing_is_none: bool, headers: dict[str, str] | None = None) -> bytes | None: ...
    def _get(self, url: str, *, missing_is_none: bool, headers: dict[str, str] | None = None) -> bytes | None:
        """The body at ``url`` under the retry policy; None for a 404 when ``missing_is_none``."""
        stats = CallStats()
        last_status: int | None = None

        def attempt() -> bytes | None:
            nonlocal last_status
            try:
                return self._attempt(url, missing_is_none, headers)
            except HttpFailure as failure:
                last_status = failure.status
                raise

        try:
            return call_with_retries(
                attempt,
                endpoint=url,
                policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
                stats=stats,
            )
        except ProviderError as exc:
            raise ImageFetchError(url, str(exc), last_status) from None
        finally:
            self._record(stats)

    def _attempt(self, url: str, missing_is_none: bool, headers: dict[str, str] | None) -> bytes | None:
        """One request: the body, or HttpFailure when worth repeating, or ImageFetchError when not."""
        try:
            with self._client().stream("GET", url, headers=headers) as response:
                status = response.status_code
                if status == 404 and missing_is_none:
                    return None
                if status == 429 or status >= 500:
                    retry_after = parse_retry_after(response.headers.get("Retry-After"))
                    raise HttpFailure(status, _error_text(response), retry_after)
                if status >= 400:
                    raise ImageFetchError(url, f"HTTP {status} {_error_text(response)}".strip(), status)
                return self._read_capped(url, response)
        except (httpx.TimeoutException, httpx.NetworkError, httpx.RemoteProtocolError) as exc:
            raise HttpFailure(None, f"{type(exc).__name__} {exc}".strip()) from None
        except (httpx.HTTPError, httpx.InvalidURL) as exc:
            # A bad URL or scheme, too many redirects: repeating would not help.
            raise ImageFetchError(url, f"{type(exc).__name__}: {exc}") from None

    def _read_capped(self, url: str, response: httpx.Response) -> bytes:
        limit = self.max_image_mb * _MB
        too_large = ImageFetchError(url, f"image larger than {self.max_image_mb} MB", response.status_code)
        declared = response.headers.get("Content-Length", "")
        if declared.isdigit() and int(declared) > limit:
            raise too_large
        chunks, size = [], 0
        for chunk in response.iter_bytes():
            size += len(chunk)
            if size > limit:
                raise too_large
            chunks.append(chunk)
        return b"".join(chunks)

    def _record(self, stats: CallStats) -> None:
        with self._lock:
            total = self._stats
            total.requests += stats.requests
            total.retries += stats.retries
            total.rate_limited += stats.rate_limited
            total.waited_s += stats.waited_s
            for status, count in stats.statuses.items():
                total.statuses[status] = total.statuses.get(status, 0) + count


def _error_text(response: httpx.Response) -> str:
    """The start of an error answer's text; nothing for a binary body."""
    content_type = response.headers.get("Content-Type", "")
    if not content_type.startswith(("text/", "application/json")):
        return ""
    head = next(response.iter_bytes(1024), b"")
    return " ".join(head.decode("utf-8", errors="replace").split())[:200]
