"""MusicBrainz through musicbrainzngs: throttled across processes, cached, retried.

Whatever musicbrainzngs raises leaves as a ``ProviderError`` that names the request, the
server, the status and what to do about it, so each phase stops with its own message.

Every response is kept in a DuckDB cache with a time-to-live, so a re-run costs no
request for what is already known. The cache lives in its own small database file so
that minutes of rate-limited requests never hold the library's write lock; a run reads its
keys once and writes new answers in batches, so a request costs no open of the file. The
rate is shared through a lock file (``FileThrottle``) by every process on the machine; the
``musicbrainz_api`` pool keeps two runs from working MusicBrainz at once.
"""

import functools
import json
import re
import socket
import time
import urllib.error
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from urllib.parse import urlparse

import dagster as dg
import duckdb
import musicbrainzngs
import pyarrow as pa
from pydantic import Field, PrivateAttr

from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.identify import (
    NamedCandidate,
    RecordingCandidate,
    artists_in,
    mb_dict,
    mb_int,
    recordings_in,
    release_groups_in,
)
from soulspot_pipeline.domain.resilience import RetryPolicy
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.retrying import CallStats, HttpFailure, call_with_retries
from soulspot_pipeline.resources.throttle import FileThrottle
from soulspot_pipeline.settings import MUSICBRAINZ_URL
from soulspot_pipeline.store.database import connect_when_free
from soulspot_pipeline.store.sql import utc_now

APP = "soulspot-pipeline"
VERSION = "0.1"
ISRC_BATCH = 50  # ISRCs per search: with a few recordings each they fit a 100-result page
SEARCH_LIMIT = 100
BROWSE_LIMIT = 100  # the most a browse request returns
_LUCENE_SPECIAL = '+-&|!(){}[]^"~*?:\\/'
_NOT_FOUND = {"not_found": True}
# What a lookup asks for, per entity: the includes are part of the cache key.
LOOKUP_INCLUDES = {
    "artist": ["tags"],
    "release-group": ["tags", "artist-credits"],
    "release": ["recordings", "isrcs", "release-groups"],
    "recording": ["isrcs", "artist-credits"],
}


# What a release lookup for album matching asks for: every medium's tracks with their recordings.
RELEASE_TRACKS_INCLUDES = ["recordings", "artist-credits", "release-groups", "media"]
RELEASE_SEARCH_LIMIT = 25  # the limit search_key names


def lookup_key(entity: str, mbid: str) -> str:
    return f"{entity}/{mbid}?inc={'+'.join(LOOKUP_INCLUDES[entity])}"


def release_tracks_key(mbid: str) -> str:
    """The cache key of a release looked up with its track list (not ``lookup_key``'s includes)."""
    return f"release/{mbid}?inc={'+'.join(RELEASE_TRACKS_INCLUDES)}"


def _epoch(moment: datetime) -> float:
    """A plain UTC timestamp (as the cache stores them) in seconds since 1970."""
    return moment.replace(tzinfo=UTC).timestamp()


def _page_size(listed: object) -> int:
    """How many items a page holds, odd ones included: the next page starts after all of them."""
    return len(listed) if isinstance(listed, list) else 0


def browse_key(artist_mbid: str, offset: int = 0) -> str:
    """The cache key of one page of an artist's release groups."""
    return f"browse/release-group?artist={artist_mbid}&limit={BROWSE_LIMIT}&offset={offset}"


def lucene_phrase(text: str) -> str:
    """A quoted Lucene phrase with its special characters escaped."""
    return '"' + "".join("\\" + c if c in _LUCENE_SPECIAL else c for c in text) + '"'


def recording_query(title: str, artist: str | None) -> str:
    """A recording search by title, and by artist when one is known."""
    query = f"recording:{lucene_phrase(title)}"
    return f"{query} AND artist:{lucene_phrase(artist)}" if artist is not None else query


def artist_query(name: str) -> str:
    return f"artist:{lucene_phrase(name)}"


def release_group_query(title: str, artist: str) -> str:
    return f"releasegroup:{lucene_phrase(title)} AND artist:{lucene_phrase(artist)}"


def release_query(album: str, artist: str | None, track_count: int | None = None, year: int | None = None) -> str:
    """A release search by title and artist; the track count and year only rank (``a AND b c``
    is ``+a +b c`` in Lucene), so a deluxe edition or a later reissue is still found."""
    query = f"release:{lucene_phrase(album)}"
    if artist:
        query += f" AND artist:{lucene_phrase(artist)}"
    if track_count:
        query += f" tracks:{track_count}"
    if year:
        query += f" date:{year}"
    return query


def search_key(entity: str, query: str) -> str:
    """The cache key of a name search (``entity``: recording, artist, release or release-group)."""
    return f"search/{entity}?{query}&limit=25"


# -- what went wrong, in the phase's words ----------------------------------------------------

_SETTING = "SOULSPOT_MUSICBRAINZ_URL"
_ADVICE_BY_STATUS = {
    400: f"the server did not understand the request: check that {_SETTING} points at a MusicBrainz server "
    "or mirror (its /ws/2 web service)",
    401: "the server, or a proxy in front of it, wants a login: check the mirror's credentials "
    f"(the public MusicBrainz server needs none; {_SETTING})",
    403: "MusicBrainz refuses clients that do not say who they are or that go too fast: set SOULSPOT_CONTACT, "
    "lower SOULSPOT_MUSICBRAINZ_RATE, or check the mirror's access rules",
    407: "check the credentials of the proxy between this machine and MusicBrainz",
    429: "the server is rate-limiting: run again later, or lower SOULSPOT_MUSICBRAINZ_RATE",
    503: "the server is busy or rate-limiting: run again later, or lower SOULSPOT_MUSICBRAINZ_RATE",
}


@dataclass(frozen=True)
class MusicBrainzFailure:
    """One failed request as the phase reports it: what failed, with which status, and what to do."""

    detail: str
    status: int | None
    advice: str
    retryable: bool


def _status_text(status: int) -> str:
    try:
        return f"HTTP {status} {HTTPStatus(status).phrase}"
    except ValueError:
        return f"HTTP {status}"


def _server_says(error: urllib.error.HTTPError) -> str | None:
    """The reason in an error body: ws/2's ``<error><text>``, or an HTML page's title."""
    try:
        body = error.read(4096).decode("utf-8", "replace")
    except Exception:  # the body may be gone already; the status says enough
        return None
    texts = re.findall(r"<text>(.*?)</text>", body, re.S) or re.findall(r"<title>(.*?)</title>", body, re.S | re.I)
    said = " ".join(" ".join(t.split()) for t in texts[:1])
    return said[:200] or None


def _http_error(exc: BaseException | None) -> urllib.error.HTTPError | None:
    seen = 0
    while exc is not None and seen < 5:  # musicbrainzngs keeps the cause on ``cause``, urllib on ``reason``
        if isinstance(exc, urllib.error.HTTPError):
            return exc
        exc = getattr(exc, "cause", None) or getattr(exc, "reason", None)
        exc = exc if isinstance(exc, BaseException) else None
        seen += 1
    return None


def describe_failure(exc: musicbrainzngs.MusicBrainzError) -> MusicBrainzFailure:
    """Every error musicbrainzngs raises, as a status, a reason and advice (and whether another try may help)."""
    if isinstance(exc, musicbrainzngs.UsageError):
        return MusicBrainzFailure(
            f"musicbrainzngs refused the request before sending it ({exc})",
            None,
            "soulspot-pipeline asked for something musicbrainzngs does not support: please report this",
            False,
        )
    http = _http_error(exc)
    if http is not None:
        status = http.code
        said = _server_says(http)
        detail = _status_text(status) + (f" ({said})" if said else "")
        if status in _ADVICE_BY_STATUS:
            advice = _ADVICE_BY_STATUS[status]
        elif status >= 500:
            advice = "the server is failing: run again later, or check the mirror's logs"
        else:
            advice = f"check {_SETTING} and the server or proxy it points at"
        # 5xx and 429 may pass; a refusal (401, 403, 400, ...) stays a refusal.
        return MusicBrainzFailure(detail, status, advice, status >= 500 or status == 429)
    if isinstance(exc, musicbrainzngs.NetworkError):
        cause = exc.cause if exc.cause is not None else exc.message
        return MusicBrainzFailure(
            f"no answer ({cause})",
            None,
            f"check that the server is up and reachable, and that {_SETTING} is right",
            True,
        )
    if isinstance(exc, musicbrainzngs.ResponseError):
        return MusicBrainzFailure(
            f"an answer that is not MusicBrainz XML ({exc.cause})",
            None,
            f"check that {_SETTING} points at a MusicBrainz server or mirror, not a web page or a login portal",
            False,
        )
    return MusicBrainzFailure(str(exc), None, f"check {_SETTING} and the server it points at", False)


def failure_message(what: str, server: str | None, failure: MusicBrainzFailure, attempts: int) -> str:
    return f"MusicBrainz {what} failed after {attempts} attempt(s) at {server}: {failure.detail}; {failure.advice}"


class MusicBrainzResource(dg.ConfigurableResource):
    """The MusicBrainz web service (the public server or a mirror)."""

    server_url: str | None = Field(
        default=MUSICBRAINZ_URL, description="The MusicBrainz server (SOULSPOT_MUSICBRAINZ_URL); None: turned off."
    )
    rate: float = Field(
        default=1.0, description="Requests per second (SOULSPOT_MUSICBRAINZ_RATE); the public server allows 1."
    )
    contact: str | None = Field(default=None, description="Contact put in the user agent (SOULSPOT_CONTACT).")
    cache_path: str = Field(description="The response cache (a DuckDB file).")
    throttle_path: str = Field(description="The lock file that shares the rate between processes.")
    cache_ttl_days: float = 30.0
    cache_flush_every: int = Field(
        default=200, description="New answers are written to the cache this many at a time (and when the run ends)."
    )
    cache_flush_s: float = Field(
        default=30.0, description="... or once the oldest unwritten answer is this many seconds old."
    )
    request_timeout_s: float = 30.0
    max_attempts: int = 4
    retry_base_delay_s: float = 2.0

    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]
    _stats: CallStats = PrivateAttr(default_factory=CallStats)
    _cache_hits: int = PrivateAttr(default=0)
    _memo: dict[str, dict] = PrivateAttr(default_factory=dict)
    _expiry: dict[str, float] | None = PrivateAttr(default=None)
    _pending: dict[str, tuple[str, datetime, datetime]] = PrivateAttr(default_factory=dict)
    _pending_since: float = PrivateAttr(default=0.0)  # time.monotonic() of the oldest unwritten answer
    _cache_opens: int = PrivateAttr(default=0)

    @property
    def configured(self) -> bool:
        return bool(self.server_url)

    @property
    def stats(self) -> CallStats:
        return self._stats

    @property
    def cache_hits(self) -> int:
        return self._cache_hits

    @property
    def cache_opens(self) -> int:
        """How many times this instance opened the answer cache's file (a few per run)."""
        return self._cache_opens

    # -- the answer cache ---------------------------------------------------------------
    #
    # The file is shared by every process (steps of a run, sensors, other runs), and DuckDB
    # lets one process at a time open it for writing, so it is never held for a run. Instead:
    # the keys of the live answers (not the answers) are read once, so a miss costs no open;
    # answers found there are read when first asked for, many at a time through ``warm``; new
    # answers are kept in memory, served at once, and written in one transaction every
    # ``cache_flush_every`` answers or ``cache_flush_s`` seconds, and when the run ends
    # (``teardown_after_execution``, or ``flush``). A killed run loses the answers not yet
    # written: they are only a cache, and will be asked again.

    @contextmanager
    def _cache(self) -> Iterator[duckdb.DuckDBPyConnection]:
        conn = connect_when_free(self.cache_path, wait_s=60)  # another process may be storing answers
        self._cache_opens += 1
        try:
            conn.execute(
                "CREATE TABLE IF NOT EXISTS responses (key VARCHAR PRIMARY KEY, response JSON NOT NULL, "
                "fetched_at TIMESTAMP NOT NULL, expires_at TIMESTAMP NOT NULL)"
            )
            yield conn
        finally:
            conn.close()

    def _live(self) -> dict[str, float]:
        """Key -> expiry (epoch seconds) of every answer the cache holds: read once per instance."""
        if self._expiry is None:
            with self._cache() as conn:
                rows = conn.execute(
                    "SELECT key, epoch(expires_at) FROM responses WHERE expires_at > ?", [utc_now()]
                ).fetchall()
            self._expiry = dict(rows)
        return self._expiry

    def warm(self, keys: list[str]) -> int:
        """Read the cached answers for ``keys`` in one go (a run about to look up thousands
        of known entities would otherwise open the cache once per entity). Keys the cache
        does not hold cost nothing."""
        live, now = self._live(), _epoch(utc_now())
        wanted = [k for k in dict.fromkeys(keys) if k not in self._memo and live.get(k, 0.0) > now]
        if not wanted:
            return 0
        with self._cache() as conn:
            conn.register("wanted", pa.table({"key": wanted}))
            found = conn.execute(
                "SELECT r.key, r.response, epoch(r.expires_at) FROM responses r JOIN wanted w USING (key) "
                "WHERE r.expires_at > ?",
                [utc_now()],
            ).fetchall()
            conn.unregister("wanted")
        for key, response, expires in found:
            self._memo[key] = json.loads(response)
            live[key] = expires
        return len(found)

    def _cached(self, key: str) -> dict | None:
        expires = self._live().get(key)
        if expires is None or expires <= _epoch(utc_now()):
            return None  # unknown or stale: no need to open the file
        if key not in self._memo:
            self.warm([key])
        return self._memo.get(key)

    def _store(self, key: str, response: dict, ttl_days: float) -> None:
        now = utc_now()
        expires = now + timedelta(days=ttl_days)
        self._memo[key] = response
        self._live()[key] = _epoch(expires)
        if not self._pending:
            self._pending_since = time.monotonic()
        self._pending[key] = (json.dumps(response), now, expires)
        if len(self._pending) >= self.cache_flush_every or time.monotonic() - self._pending_since >= self.cache_flush_s:
            self.flush()

    def flush(self) -> int:
        """Write the answers kept in memory to the cache file, in one transaction; returns how many."""
        if not self._pending:
            return 0
        pending = self._pending
        keys = list(pending)
        table = pa.table(
            {
                "key": keys,
                "response": [pending[k][0] for k in keys],
                "fetched_at": pa.array([pending[k][1] for k in keys], pa.timestamp("us")),
                "expires_at": pa.array([pending[k][2] for k in keys], pa.timestamp("us")),
            }
        )
        with self._cache() as conn:
            conn.register("answers", table)
            conn.execute("BEGIN TRANSACTION")
            try:
                conn.execute(
                    "INSERT OR REPLACE INTO responses SELECT key, response::JSON, fetched_at, expires_at FROM answers"
                )
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            finally:
                conn.unregister("answers")
        for key in keys:
            del pending[key]
        return len(keys)

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        # Dagster calls this once per process of a run, when the run ends, failed or not.
        try:
            self.flush()
        except Exception as exc:  # a cache that cannot be written costs requests next time, not the run
            if context.log:
                context.log.warning(
                    f"{len(self._pending)} MusicBrainz answers not saved in the cache {self.cache_path} "
                    f"(they will be asked again next time): {type(exc).__name__}: {exc}"
                )

    # -- the one way out --------------------------------------------------------------

    def _configure(self) -> None:
        # musicbrainzngs keeps its settings in module globals: set them for every call.
        server = self.server_url
        if not server:
            raise ProviderError("MusicBrainz is turned off (SOULSPOT_MUSICBRAINZ_URL is empty)")
        url = urlparse(server if "//" in server else f"https://{server}")
        musicbrainzngs.set_hostname(url.netloc, use_https=url.scheme == "https")
        musicbrainzngs.set_useragent(APP, VERSION, self.contact or "no contact configured: set SOULSPOT_CONTACT")
        musicbrainzngs.set_rate_limit(False)  # FileThrottle does it, across processes

    def request(self, key: str, call: Callable[[], dict], ttl_days: float | None = None) -> dict | None:
        """The response for ``key``: from the cache, else one throttled call (None: not found).
        ``ttl_days`` overrides the cache's time-to-live for answers that go stale sooner."""
        cached = self._cached(key)
        if cached is not None:
            self._cache_hits += 1
            return None if cached == _NOT_FOUND else cached
        throttle = FileThrottle(self.throttle_path, 1.0 / self.rate)
        what = key.split("?", 1)[0]
        attempts = 0
        last: MusicBrainzFailure | None = None

        def attempt() -> dict:
            nonlocal attempts, last
            attempts += 1
            last = None
            self._configure()
            previous = socket.getdefaulttimeout()
            socket.setdefaulttimeout(self.request_timeout_s)  # musicbrainzngs sets none of its own
            try:
                with throttle.turn():
                    return call()
            except musicbrainzngs.MusicBrainzError as exc:
                failure = describe_failure(exc)
                if failure.status == 404 and isinstance(exc, musicbrainzngs.ResponseError):
                    return _NOT_FOUND
                if not failure.retryable:
                    raise ProviderError(failure_message(what, self.server_url, failure, attempts)) from None
                last = failure
                raise HttpFailure(failure.status, failure.detail) from None
            finally:
                socket.setdefaulttimeout(previous)

        try:
            response = call_with_retries(
                attempt,
                endpoint="MusicBrainz",
                policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
                stats=self._stats,
                sleep=self.clock.sleep,
            )
        except ProviderError:
            if last is None:
                raise
            raise ProviderError(failure_message(what, self.server_url, last, attempts)) from None
        self._store(key, response, self.cache_ttl_days if ttl_days is None else ttl_days)
        return None if response == _NOT_FOUND else response

    # -- domain methods ---------------------------------------------------------------

    def recordings_by_isrc(self, isrcs: list[str]) -> dict[str, list[RecordingCandidate]]:
        """The recordings carrying each ISRC, ``ISRC_BATCH`` ISRCs per search request."""
        found: dict[str, list[RecordingCandidate]] = {isrc: [] for isrc in isrcs}
        unique = sorted(set(isrcs))
        for start in range(0, len(unique), ISRC_BATCH):
            batch = unique[start : start + ISRC_BATCH]
            query = f"isrc:({' OR '.join(batch)})"
            offset = 0
            while True:
                page = (
                    self.request(
                        f"search/recording?{query}&limit={SEARCH_LIMIT}&offset={offset}",
                        functools.partial(
                            musicbrainzngs.search_recordings, query=query, limit=SEARCH_LIMIT, offset=offset
                        ),
                    )
                    or {}
                )
                for candidate in recordings_in(page):
                    for isrc in candidate.isrcs:
                        if isrc in found:
                            found[isrc].append(candidate)
                listed = _page_size(page.get("recording-list"))
                offset += listed
                if not listed or offset >= (mb_int(page.get("recording-count")) or 0):
                    break
        return found

    def search_recordings(self, title: str, artist: str | None) -> tuple[str, list[RecordingCandidate]]:
        query = recording_query(title, artist)
        page = (
            self.request(
                search_key("recording", query), lambda: musicbrainzngs.search_recordings(query=query, limit=25)
            )
            or {}
        )
        return query, recordings_in(page)

    def search_artists(self, name: str) -> tuple[str, list[NamedCandidate]]:
        query = artist_query(name)
        page = (
            self.request(search_key("artist", query), lambda: musicbrainzngs.search_artists(query=query, limit=25))
            or {}
        )
        return query, artists_in(page)

    def search_release_groups(self, title: str, artist: str) -> tuple[str, list[NamedCandidate]]:
        query = release_group_query(title, artist)
        page = (
            self.request(
                search_key("release-group", query),
                lambda: musicbrainzngs.search_release_groups(query=query, limit=25),
            )
            or {}
        )
        return query, release_groups_in(page)

    def search_releases_raw(
        self, album: str, artist: str | None, track_count: int | None = None, year: int | None = None
    ) -> tuple[str, dict]:
        """One release search (cached): the query and musicbrainzngs' page (``release-list``,
        ``release-count``), empty when nothing was found."""
        query = release_query(album, artist, track_count, year)
        page = (
            self.request(
                search_key("release", query),
                lambda: musicbrainzngs.search_releases(query=query, limit=RELEASE_SEARCH_LIMIT),
            )
            or {}
        )
        return query, page

    def release_with_tracks_raw(self, mbid: str) -> dict | None:
        """A release with its media, tracks and their recordings (cached), as musicbrainzngs
        parses it (the ``release`` of ``get_release_by_id``); None when MusicBrainz has none."""
        body = self.request(
            release_tracks_key(mbid),
            lambda: musicbrainzngs.get_release_by_id(mbid, includes=RELEASE_TRACKS_INCLUDES),
        )
        found = mb_dict(body).get("release")
        return found if isinstance(found, dict) else None

    def _lookup(self, entity: str, mbid: str, fetch: Callable[..., dict]) -> dict | None:
        body = self.request(lookup_key(entity, mbid), lambda: fetch(mbid, includes=LOOKUP_INCLUDES[entity]))
        found = mb_dict(body).get(entity)
        return found if isinstance(found, dict) else None

    def artist(self, mbid: str) -> dict | None:
        return self._lookup("artist", mbid, musicbrainzngs.get_artist_by_id)

    def release_group(self, mbid: str) -> dict | None:
        return self._lookup("release-group", mbid, musicbrainzngs.get_release_group_by_id)

    def release(self, mbid: str) -> dict | None:
        return self._lookup("release", mbid, musicbrainzngs.get_release_by_id)

    def recording(self, mbid: str) -> dict | None:
        return self._lookup("recording", mbid, musicbrainzngs.get_recording_by_id)

    def artist_release_groups(self, artist_mbid: str, ttl_days: float | None = None) -> list[dict]:
        """Every release group of the artist, browsed ``BROWSE_LIMIT`` at a time (all types:
        the user's type filter is applied afterwards, so changing it costs no request).
        Discographies grow, so they may be kept for less time than the other answers."""
        groups: list[dict] = []
        offset = 0
        while True:
            page = (
                self.request(
                    browse_key(artist_mbid, offset),
                    functools.partial(
                        musicbrainzngs.browse_release_groups, artist=artist_mbid, limit=BROWSE_LIMIT, offset=offset
                    ),
                    ttl_days,
                )
                or {}
            )
            groups += [g for g in page.get("release-group-list") or () if isinstance(g, dict)]
            listed = _page_size(page.get("release-group-list"))
            offset += listed
            if not listed or offset >= (mb_int(page.get("release-group-count")) or 0):
                return groups

    def release_group_releases(self, mbid: str) -> dict | None:
        """A release group with its releases (to pick the one whose tracks stand for it)."""
        body = self.request(
            f"release-group/{mbid}?inc=releases",
            lambda: musicbrainzngs.get_release_group_by_id(mbid, includes=["releases"]),
        )
        found = mb_dict(body).get("release-group")
        return found if isinstance(found, dict) else None
