"""slskd's HTTP API through httpx: searching the Soulseek network and managing downloads.

slskd runs one search at a time (a second one is answered 429) and the Soulseek server
bans clients that search too often, so searches here are serial: one at a time per slskd
URL in this process (a lock), a 429 is waited out, and ``before_search`` lets the caller
put its cross-process budget in front of every search. States are flag sets, read by
``soulspot_pipeline.domain.slskd_states``.
"""

import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import ClassVar
from urllib.parse import quote

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.resilience import RetryPolicy, parse_retry_after
from soulspot_pipeline.domain.slskd_states import parse_state, search_finished
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.retrying import CallStats, HttpFailure, call_with_retries

API = "/api/v0"

# One lock per slskd URL for the whole process, whatever resource instance searches.
_SEARCH_LOCKS: dict[str, threading.Lock] = {}
_GUARD = threading.Lock()


def _search_lock(base_url: str) -> threading.Lock:
    with _GUARD:
        return _SEARCH_LOCKS.setdefault(base_url.rstrip("/"), threading.Lock())


@dataclass(frozen=True)
class SearchResult:
    """A finished search: its final flags and the raw responses in slskd's shape."""

    search_id: str
    text: str
    state: frozenset[str]
    responses: list[dict]
    started_at: datetime | None
    ended_at: datetime | None


@dataclass(frozen=True)
class Transfer:
    """One download as slskd tracks it; ``filename`` is the remote path, ``directory`` its remote folder."""

    id: str
    username: str
    directory: str
    filename: str
    size: int
    state: frozenset[str]
    bytes_transferred: int
    percent_complete: float
    average_speed: float
    place_in_queue: int | None
    requested_at: datetime | None
    enqueued_at: datetime | None
    started_at: datetime | None
    ended_at: datetime | None
    exception: str | None


@dataclass(frozen=True)
class EnqueueResult:
    """What slskd took: ``transfers`` only from slskd versions that answer with them (older ones answer nothing)."""

    enqueued: list[str]
    failed: list[tuple[str, str]]
    transfers: list[Transfer] = field(default_factory=list)


class _Busy(Exception):
    """slskd is running another search (HTTP 429)."""


def parse_timestamp(value: object) -> datetime | None:
    """slskd's timestamps: ISO 8601 with up to seven fractional digits; without a zone they are UTC."""
    if not isinstance(value, str) or not value:
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


def _int(value: object) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_transfer(obj: dict, directory: str | None = None) -> Transfer:
    filename = str(obj.get("filename") or "")
    return Transfer(
        id=str(obj.get("id") or ""),
        username=str(obj.get("username") or ""),
        directory=directory if directory is not None else filename.rpartition("\\")[0],
        filename=filename,
        size=_int(obj.get("size")) or 0,
        state=parse_state(obj.get("state")),
        bytes_transferred=_int(obj.get("bytesTransferred")) or 0,
        percent_complete=float(obj.get("percentComplete") or 0.0),
        average_speed=float(obj.get("averageSpeed") or 0.0),
        place_in_queue=_int(obj.get("placeInQueue")),
        requested_at=parse_timestamp(obj.get("requestedAt")),
        enqueued_at=parse_timestamp(obj.get("enqueuedAt")),
        started_at=parse_timestamp(obj.get("startedAt")),
        ended_at=parse_timestamp(obj.get("endedAt")),
        exception=obj.get("exception") or None,
    )


def _failure(entry: object) -> tuple[str, str]:
    if isinstance(entry, dict):
        filename = str(entry.get("filename") or "")
        reason = entry.get("message") or entry.get("reason") or entry.get("exception")
        return filename, str(reason or "slskd could not enqueue it")
    return str(entry), "slskd could not enqueue it"


class SlskdResource(dg.ConfigurableResource):
    """A slskd instance: serial searches, enqueued downloads and their progress."""

    base_url: str | None = Field(default=None, description="slskd's address (SLSKD_URL); unset means not configured.")
    api_key: str | None = Field(
        default=None,
        description='slskd\'s API key, sent as X-API-Key; pass dg.EnvVar("SLSKD_API_KEY") so the UI shows its name only.',
    )
    downloads_dir: str = Field(
        default="data/downloads",
        description="Where slskd writes finished downloads, as this machine sees it (SOULSPOT_DOWNLOADS_DIR).",
    )
    timeout_s: float = 30.0
    search_timeout_s: float = Field(default=15.0, description="How long slskd listens for responses (sent in ms).")
    poll_interval_s: float = 1.0
    max_search_wait_s: float = Field(default=60.0, description="Give up on a search (and stop it) after this long.")
    max_attempts: int = 3
    retry_base_delay_s: float = 1.0

    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]
    _http: httpx.Client | None = PrivateAttr(default=None)
    _stats: CallStats = PrivateAttr(default_factory=CallStats)

    name: ClassVar[str] = "slskd"

    @property
    def configured(self) -> bool:
        return bool(self.base_url)

    @property
    def stats(self) -> CallStats:
        return self._stats

    def _url(self) -> str:
        if not self.base_url:
            raise ProviderError("slskd is not configured: set SLSKD_URL and SLSKD_API_KEY")
        return self.base_url.rstrip("/")

    def _client(self) -> httpx.Client:
        url = self._url()
        with _GUARD:
            if self._http is None:
                # An EnvVar arrives as set, unstripped; a stray newline would make httpx quote the key in an error.
                key = (self.api_key or "").strip()
                headers = {"X-API-Key": key} if key else {}
                self._http = httpx.Client(base_url=url, headers=headers, timeout=self.timeout_s)
            return self._http

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        if self._http is not None:
            self._http.close()

    def _request(
        self,
        endpoint: str,
        method: str,
        path: str,
        *,
        json: object = None,
        params: dict | None = None,
        busy_ok: bool = False,
        missing_ok: bool = False,
    ) -> httpx.Response | None:
        """One call under the retry policy; None for a 404 when ``missing_ok``; ``_Busy`` for a 429 when ``busy_ok``."""
        client = self._client()

        def attempt() -> httpx.Response | None:
            try:
                response = client.request(method, path, json=json, params=params)
            except httpx.ConnectError as exc:
                raise HttpFailure(
                    None, f"cannot reach slskd at {self.base_url} ({exc}): is slskd running, and is SLSKD_URL right?"
                ) from None
            except (httpx.TimeoutException, httpx.TransportError) as exc:
                raise HttpFailure(None, f"{type(exc).__name__} from slskd at {self.base_url}") from None
            status = response.status_code
            if status in (401, 403):
                raise ProviderError(f"slskd refused the API key ({status} from {self.base_url}): check SLSKD_API_KEY")
            if status == 429 and busy_ok:
                raise _Busy()
            if status == 404 and missing_ok:
                return None
            if status >= 400:
                raise HttpFailure(
                    status, self._redact(response.text[:200]), parse_retry_after(response.headers.get("Retry-After"))
                )
            return response

        return call_with_retries(
            attempt,
            endpoint=f"slskd {endpoint}",
            policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
            stats=self._stats,
            sleep=self.clock.sleep,
        )

    def _redact(self, text: str) -> str:
        """``text`` without the API key: what slskd or a proxy answers may echo the request."""
        key = (self.api_key or "").strip()
        return text.replace(key, "<SLSKD_API_KEY>") if key else text

    @staticmethod
    def _json(response: httpx.Response | None) -> object:
        if response is None or not response.content.strip():
            return None
        try:
            return response.json()
        except ValueError:
            raise ProviderError(f"slskd answered {response.request.url.path} with something that is not JSON") from None

    # -- searches -------------------------------------------------------------------

    def application(self) -> dict:
        """slskd's own state (version, server connection): a health check that also proves the API key."""
        body = self._json(self._request("application", "GET", f"{API}/application"))
        return body if isinstance(body, dict) else {}

    def search(self, text: str, *, before_search: Callable[[], None] | None = None) -> SearchResult:
        """Run one search to its end and return its responses; never two at once against one slskd.

        ``before_search`` runs under the lock right before the search starts: the place for
        a search budget shared between processes (it may wait, or raise to refuse).
        """
        with _search_lock(self._url()):
            if before_search is not None:
                before_search()
            search_id = str(uuid.uuid4())
            self._start_search(search_id, text)
            search = self._await_search(search_id, text)
            responses = self._json(
                self._request("search responses", "GET", f"{API}/searches/{search_id}/responses", missing_ok=True)
            )
            self._request("delete search", "DELETE", f"{API}/searches/{search_id}", missing_ok=True)
        return SearchResult(
            search_id=search_id,
            text=text,
            state=parse_state(search.get("state")),
            responses=[r for r in responses if isinstance(r, dict)] if isinstance(responses, list) else [],
            started_at=parse_timestamp(search.get("startedAt")),
            ended_at=parse_timestamp(search.get("endedAt")),
        )

    def _start_search(self, search_id: str, text: str) -> None:
        body = {"id": search_id, "searchText": text, "searchTimeout": int(self.search_timeout_s * 1000)}
        deadline = time.monotonic() + self.max_search_wait_s
        while True:
            try:
                self._request("start search", "POST", f"{API}/searches", json=body, busy_ok=True)
                return
            except _Busy:
                # Another client's search is running: wait for it rather than stack a second one.
                self._stats.rate_limited += 1
                if time.monotonic() + self.poll_interval_s > deadline:
                    raise ProviderError(
                        f"slskd stayed busy with another search for {self.max_search_wait_s:g} s; {text!r} was not searched"
                    ) from None
                self._stats.waited_s += self.poll_interval_s
                self.clock.sleep(self.poll_interval_s)

    def _await_search(self, search_id: str, text: str) -> dict:
        deadline = time.monotonic() + self.max_search_wait_s
        path = f"{API}/searches/{search_id}"
        while True:
            self.clock.sleep(self.poll_interval_s)
            search = self._json(self._request("search state", "GET", path, missing_ok=True))
            if not isinstance(search, dict):
                raise ProviderError(f"slskd lost search {search_id} for {text!r} (answered {search!r})")
            if search_finished(parse_state(search.get("state"))):
                return search
            if time.monotonic() >= deadline:
                self._request("stop search", "PUT", path, missing_ok=True)
                self._request("delete search", "DELETE", path, missing_ok=True)
                raise ProviderError(
                    f"slskd's search for {text!r} was still {search.get('state')!r} after {self.max_search_wait_s:g} s; stopped it"
                )

    # -- downloads --------------------------------------------------------------------

    def enqueue(self, username: str, files: list[tuple[str, int]]) -> EnqueueResult:
        """Ask slskd to download ``files`` (remote filename, size) from ``username``.

        Newer slskd says which files it took; older versions answer an empty 201, and then
        every file counts as enqueued (failures show up later as failed transfers).
        """
        requested = [{"filename": filename, "size": size} for filename, size in files]
        response = self._request(
            "enqueue", "POST", f"{API}/transfers/downloads/{quote(username, safe='')}", json=requested
        )
        body = self._json(response)
        if not isinstance(body, dict):
            return EnqueueResult(enqueued=[filename for filename, _ in files], failed=[])
        transfers = [parse_transfer(t) for t in body.get("enqueued") or () if isinstance(t, dict)]
        return EnqueueResult(
            enqueued=[t.filename for t in transfers],
            failed=[_failure(entry) for entry in body.get("failed") or ()],
            transfers=transfers,
        )

    def downloads(self) -> list[Transfer]:
        """Every download slskd tracks, flattened from its users -> directories -> files listing."""
        body = self._json(self._request("downloads", "GET", f"{API}/transfers/downloads"))
        transfers = []
        for user in body if isinstance(body, list) else ():
            if not isinstance(user, dict):
                continue
            for directory in user.get("directories") or ():
                for obj in directory.get("files") or ():
                    transfers.append(
                        parse_transfer({"username": user.get("username"), **obj}, directory.get("directory"))
                    )
        return transfers

    def cancel(self, username: str, transfer_id: str, *, remove: bool = False) -> bool:
        """Cancel a download (and with ``remove`` drop it from slskd's list); False when slskd does not know it."""
        response = self._request(
            "cancel",
            "DELETE",
            f"{API}/transfers/downloads/{quote(username, safe='')}/{quote(transfer_id, safe='')}",
            params={"remove": "true" if remove else "false"},
            missing_ok=True,
        )
        return response is not None
