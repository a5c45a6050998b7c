"""AcoustID (https://acoustid.org/webservice), through httpx: the recordings a fingerprint matches.

Lookups go in batches: one form-encoded ``POST /v2/lookup`` with ``client`` (the API key),
``format=json``, ``meta=recordings releasegroups``, ``batch=1`` and ``duration.N`` /
``fingerprint.N`` per fingerprint; the server answers ``{"status": "ok", "fingerprints":
[{"index": N, "results": [...]}]}`` and refuses more than 20 fingerprints at once. Without
``batch=1`` it would answer the first fingerprint only. AcoustID allows 3 requests per second
per application: the rate is shared by every process on the machine (``FileThrottle``).

429 (error 14), 5xx and timeouts are retried with backoff; an invalid key (error 4) is a
``ProviderError`` naming ``ACOUSTID_API_KEY``. The key travels in the POST body only, and
never appears in a message.
"""

from typing import Any
from urllib.parse import urlsplit

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from soulspot_pipeline.domain.acoustid import (
    ERROR_INVALID_API_KEY,
    ERROR_RATE_LIMIT,
    ERROR_SERVICE_UNAVAILABLE,
    ERROR_TOO_LARGE,
    MAX_BATCH,
    AcoustidAnswerError,
    AcoustidMatch,
    answer_error,
    parse_results,
    results_by_index,
)
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.resilience import RetryPolicy, parse_retry_after
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.http import USER_AGENT, service_client
from soulspot_pipeline.resources.retrying import CallStats, HttpFailure, call_with_retries
from soulspot_pipeline.resources.throttle import FileThrottle
from soulspot_pipeline.scan.fingerprint import LIBRARY_NAMES, Chromaprint
from soulspot_pipeline.settings import ACOUSTID_URL

KEY_SETTING = "ACOUSTID_API_KEY"
META = "recordings releasegroups"  # sent as meta=recordings+releasegroups

Item = tuple[str, int, str]  # the caller's key, the duration in whole seconds, the fingerprint


class AcoustidKeyError(ProviderError):
    """AcoustID refused the API key: no other request will do better."""


class AcoustIDResource(dg.ConfigurableResource):
    """AcoustID's fingerprint lookup; without ``api_key`` it is not configured (the part is skipped)."""

    api_key: str | None = Field(
        default=None, description="The application's API key, passed by name (ACOUSTID_API_KEY); None: skipped."
    )
    server_url: str = Field(default=ACOUSTID_URL, description="The web service's root (/v2/lookup is below it).")
    rate: float = Field(default=3.0, description="Requests per second at most, across processes; AcoustID allows 3.")
    throttle_path: str = Field(description="The lock file that shares the rate between processes.")
    timeout_s: float = 30.0
    batch_size: int = Field(default=10, description=f"Fingerprints per request (AcoustID takes {MAX_BATCH} at most).")
    max_attempts: int = 4
    retry_base_delay_s: float = 1.0
    chromaprint_library: bool = Field(default=True, description="Fingerprint with libchromaprint when it is installed.")
    fpcalc: str | None = Field(
        default="fpcalc", description="Else with this fpcalc program (a name on PATH or a path)."
    )

    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]
    _http: httpx.Client | None = PrivateAttr(default=None)
    _stats: CallStats = PrivateAttr(default_factory=CallStats)

    @property
    def configured(self) -> bool:
        return bool(self.api_key)

    def chromaprint(self) -> Chromaprint:
        """Where fingerprints are made."""
        return Chromaprint(libraries=LIBRARY_NAMES if self.chromaprint_library else (), fpcalc=self.fpcalc)

    @property
    def stats(self) -> CallStats:
        return self._stats

    def lookup_batch(self, items: list[Item]) -> dict[str, list[AcoustidMatch]]:
        """The matches of each item's fingerprint, by the item's key (an empty list: no match)."""
        return {key: parse_results(results) for key, results in self.lookup_results(items).items()}

    def lookup_results(self, items: list[Item]) -> dict[str, list[dict[str, Any]]]:
        """AcoustID's ``results`` for each item, by the item's key, as sent (what the store keeps).

        An item AcoustID could not read (an invalid fingerprint in a batch) has no entry.
        """
        if not self.api_key:
            raise AcoustidKeyError(f"AcoustID is not configured: set {KEY_SETTING}")
        size = max(1, min(self.batch_size, MAX_BATCH))
        found: dict[str, list[dict[str, Any]]] = {}
        for start in range(0, len(items), size):
            found.update(self._batch(items[start : start + size]))
        return found

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        http, self._http = self._http, None
        if http is not None:
            http.close()

    # -- internals ----------------------------------------------------------------------

    def _say(self, text: str) -> str:
        """``text`` with the key blanked out, should a server or a library ever echo it."""
        return text.replace(self.api_key, "***") if self.api_key else text

    def _client(self) -> httpx.Client:
        if self._http is None:
            self._http = service_client(
                self.server_url,
                service="AcoustID",
                setting="SOULSPOT_ACOUSTID_URL",
                timeout_s=self.timeout_s,
                headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
            )
        return self._http

    def _batch(self, items: list[Item]) -> dict[str, list[dict[str, Any]]]:
        form: dict[str, str] = {"client": self.api_key or "", "format": "json", "meta": META, "batch": "1"}
        for index, (_, duration, fingerprint) in enumerate(items):
            form[f"duration.{index}"] = str(int(duration))
            form[f"fingerprint.{index}"] = fingerprint
        client = self._client()
        throttle = FileThrottle(self.throttle_path, 1.0 / self.rate)

        def attempt() -> dict[int, list[dict[str, Any]]]:
            try:
                with throttle.turn() as waited:
                    self._stats.waited_s += waited
                    response = client.post("/v2/lookup", data=form)
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections, DNS
                raise HttpFailure(None, self._say(f"{type(exc).__name__} {exc}".strip())) from None
            except httpx.HTTPError as exc:
                raise HttpFailure(502, self._say(f"{type(exc).__name__}: {exc}")) from None
            return self._answer(response)

        by_index = call_with_retries(
            attempt,
            endpoint="AcoustID /v2/lookup",
            policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
            stats=self._stats,
            sleep=self.clock.sleep,
            server=urlsplit(self.server_url).netloc,
        )
        return {items[index][0]: results for index, results in by_index.items() if 0 <= index < len(items)}

    def _answer(self, response: httpx.Response) -> dict[int, list[dict[str, Any]]]:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = None
        error = answer_error(body)
        text = self._say(error.message if error else " ".join(response.text[:200].split()))
        if error is not None and error.code == ERROR_INVALID_API_KEY:
            raise AcoustidKeyError(
                f"AcoustID refused the API key in {KEY_SETTING} (error {error.code}: {text}): "
                f"check {KEY_SETTING}, or unset it to skip identification by fingerprint"
            )
        retry_after = parse_retry_after(response.headers.get("Retry-After"))
        if status == 429 or (error is not None and error.code == ERROR_RATE_LIMIT):
            raise HttpFailure(429, text, retry_after)
        if status >= 500 or (error is not None and error.code == ERROR_SERVICE_UNAVAILABLE):
            raise HttpFailure(status if status >= 500 else 503, text, retry_after)
        if status == 413 or (error is not None and error.code == ERROR_TOO_LARGE):
            raise ProviderError(f"AcoustID refused a batch as too large ({text}); lower the batch size")
        if error is not None or status >= 400:
            code = f"error {error.code}" if error is not None and error.code is not None else f"HTTP {status}"
            raise ProviderError(f"AcoustID /v2/lookup at {self.server_url} refused the request ({code}: {text})")
        try:
            return results_by_index(body)
        except AcoustidAnswerError as exc:
            raise HttpFailure(502, f"not an AcoustID answer: {exc}", answered=str(status)) from None
