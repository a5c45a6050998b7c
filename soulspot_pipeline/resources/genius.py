"""Genius (https://docs.genius.com), through httpx: plain lyrics of the tracks LRCLIB has none for.

The API's ``GET /search?q=`` (``Authorization: Bearer`` and a client access token) answers
``{"meta": {"status": 200}, "response": {"hits": [{"type": "song", "result": {"id", "title",
"primary_artist": {"name"}, "primary_artists", "path", "url", "lyrics_state", "instrumental",
"language", ...}}]}}``: a song's page, not its text. The text is on that page (``web_url`` plus
the song's path), in ``<div data-lyrics-container="true">`` elements with ``<br>`` line breaks,
less what is marked ``data-exclude-from-selection`` (the header, contributors, ads).

The token goes to the API only, never to the pages, and no message carries it: a refused token
is one sentence naming GENIUS_ACCESS_TOKEN. 429, 5xx, timeouts and dropped connections are
retried with backoff; what still fails is a ``ProviderError`` and Genius is not asked again
this run.
"""

from collections.abc import Callable
from html.parser import HTMLParser
from typing import Any, TypeVar
from urllib.parse import urlsplit

import dagster as dg
import httpx
from pydantic import Field, PrivateAttr

from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.lyrics import GeniusHit, LyricsTarget
from soulspot_pipeline.domain.resilience import RetryPolicy, parse_retry_after
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.http import USER_AGENT, service_client
from soulspot_pipeline.resources.lrclib import LyricsRefused
from soulspot_pipeline.resources.retrying import CallStats, HttpFailure, call_with_retries, space_request
from soulspot_pipeline.settings import GENIUS_URL, GENIUS_WEB_URL

T = TypeVar("T")
TOKEN_SETTING = "GENIUS_ACCESS_TOKEN"


class GeniusTokenRefused(ProviderError):
    """Genius refused the access token (HTTP 401): nothing more is asked of it until it is fixed."""


def parse_hits(body: Any) -> list[GeniusHit]:
    """The song hits of a search answer, in Genius's order; raises ValueError when the body is none."""
    response = body.get("response") if isinstance(body, dict) else None
    hits = response.get("hits") if isinstance(response, dict) else None
    if not isinstance(hits, list):
        raise ValueError("the answer is not a Genius search result")
    found = []
    for hit in hits:
        result = hit.get("result") if isinstance(hit, dict) else None
        if not isinstance(result, dict) or hit.get("type", "song") != "song":
            continue
        title, song_id = result.get("title"), result.get("id")
        path = result.get("path") or urlsplit(str(result.get("url") or "")).path
        if not isinstance(title, str) or song_id is None or not path:
            continue
        credited = [result.get("primary_artist"), *(result.get("primary_artists") or [])]
        names = tuple(dict.fromkeys(a["name"] for a in credited if isinstance(a, dict) and a.get("name")))
        language = result.get("language")
        found.append(
            GeniusHit(
                song_id=str(song_id),
                title=title,
                artist_names=names,
                path=str(path),
                lyrics_state=result.get("lyrics_state"),
                instrumental=result.get("instrumental") is True,
                language=language if isinstance(language, str) and language else None,
            )
        )
    return found


class _LyricsText(HTMLParser):
    """The text of a song page's lyrics containers, ``<br>`` as line breaks."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self.containers = 0
        self._open: list[str] = []  # "lyrics", "skip" or "" for each open div inside a container
        self._skipping = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag == "br":
            if self._open and not self._skipping:
                self.parts.append("\n")
            return
        if tag != "div":
            return
        if attributes.get("data-lyrics-container") == "true" and not self._open:
            if self.containers:
                self.parts.append("\n")
            self.containers += 1
            self._open.append("lyrics")
        elif self._open:
            skip = attributes.get("data-exclude-from-selection") == "true"
            self._skipping += skip
            self._open.append("skip" if skip else "")

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "br":
            self.handle_starttag(tag, attrs)

    def handle_endtag(self, tag: str) -> None:
        if tag == "div" and self._open and self._open.pop() == "skip":
            self._skipping -= 1

    def handle_data(self, data: str) -> None:
        if self._open and not self._skipping:
            self.parts.append(data)


def lyrics_from_page(html: str) -> str | None:
    """The lyrics on a Genius song page, lines as on the page; None when it has no lyrics container."""
    parser = _LyricsText()
    parser.feed(html)
    parser.close()
    if not parser.containers:
        return None
    lines = [line.strip() for line in "".join(parser.parts).splitlines()]
    return "\n".join(lines).strip("\n") or None


class GeniusResource(dg.ConfigurableResource):
    """Genius's plain lyrics of a track; without ``access_token`` Genius is never asked."""

    access_token: str | None = Field(
        default=None, description="A client access token, passed by name (GENIUS_ACCESS_TOKEN); None: not asked."
    )
    api_url: str = Field(default=GENIUS_URL, description="Genius's API (SOULSPOT_GENIUS_URL).")
    web_url: str = Field(default=GENIUS_WEB_URL, description="Genius's song pages (SOULSPOT_GENIUS_WEB_URL).")
    rate: float = Field(default=2.0, description="Requests per second at most, API and pages together.")
    timeout_s: float = 15.0
    max_attempts: int = 3
    retry_base_delay_s: float = 1.0

    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]
    _api: httpx.Client | None = PrivateAttr(default=None)
    _web: httpx.Client | None = PrivateAttr(default=None)
    _stats: CallStats = PrivateAttr(default_factory=CallStats)
    _last_request: float | None = PrivateAttr(default=None)

    @property
    def configured(self) -> bool:
        return bool(self.access_token)

    @property
    def stats(self) -> CallStats:
        return self._stats

    def search(self, target: LyricsTarget) -> list[GeniusHit]:
        """The songs Genius finds for the track's title and artist, in its order.

        Raises ``GeniusTokenRefused`` for a refused token, ``LyricsRefused`` when this question
        was refused, ``ProviderError`` when Genius could not be reached or kept failing.
        """
        if not self.access_token:
            raise ProviderError(f"Genius is not configured: {TOKEN_SETTING} is not set")
        client = self._client("api")
        return (
            self._call(
                "Genius /search",
                lambda: client.get("/search", params={"q": f"{target.title} {target.artist}"}),
                lambda response: parse_hits(response.json()),
                self.api_url,
                "SOULSPOT_GENIUS_URL",
            )
            or []
        )

    def lyrics(self, hit: GeniusHit) -> str | None:
        """The lyrics on the song's page; None when the page is gone or holds none."""
        client = self._client("web")
        return self._call(
            "Genius song page",
            lambda: client.get(hit.path if hit.path.startswith("/") else f"/{hit.path}"),
            lambda response: lyrics_from_page(response.text),
            self.web_url,
            "SOULSPOT_GENIUS_WEB_URL",
        )

    def teardown_after_execution(self, context: dg.InitResourceContext) -> None:
        self.close()

    def close(self) -> None:
        for http in (self._api, self._web):
            if http is not None:
                http.close()
        self._api = self._web = None

    # -- internals ----------------------------------------------------------------------

    def _say(self, text: str) -> str:
        """``text`` with the token, should a server echo it, blanked out."""
        return text.replace(self.access_token, "***") if self.access_token else text

    def _client(self, which: str) -> httpx.Client:
        current = self._api if which == "api" else self._web
        if current is not None:
            return current
        url, setting = (
            (self.api_url, "SOULSPOT_GENIUS_URL") if which == "api" else (self.web_url, "SOULSPOT_GENIUS_WEB_URL")
        )
        headers = {"User-Agent": USER_AGENT}
        if which == "api":
            headers |= {"Accept": "application/json", "Authorization": f"Bearer {self.access_token}"}
        client = service_client(
            url, service="Genius", setting=setting, timeout_s=self.timeout_s, headers=headers, follow_redirects=True
        )
        if which == "api":
            self._api = client
        else:
            self._web = client
        return client

    def _wait_turn(self) -> None:
        self._last_request = space_request(self._last_request, self.rate, self.clock.now, self.clock.sleep, self._stats)

    def _call(
        self,
        endpoint: str,
        send: Callable[[], httpx.Response],
        parse: Callable[[httpx.Response], T],
        url: str,
        setting: str,
    ) -> T | None:
        def attempt() -> T | None:
            self._wait_turn()
            try:
                response = send()
            except httpx.TransportError as exc:  # timeouts, refused or dropped connections, DNS
                raise HttpFailure(None, self._say(f"{type(exc).__name__} {exc}".strip())) from None
            except httpx.HTTPError as exc:
                raise HttpFailure(502, self._say(f"{type(exc).__name__}: {exc}")) from None
            status = response.status_code
            text = self._say(" ".join(response.text[:200].split()))
            if status == 401:
                raise GeniusTokenRefused(
                    f"Genius refused {TOKEN_SETTING} (HTTP 401): set it to a client access token from "
                    "https://genius.com/api-clients; Genius is not asked until then."
                )
            if status == 404:  # a song page that is gone, or nothing of the kind
                return None
            if status == 403:  # refused as a whole (pages read by a program, often): stop, not per track
                raise ProviderError(f"{endpoint}: HTTP 403 {text}; Genius is not asked again this run".strip())
            if status == 429 or status >= 500:
                raise HttpFailure(status, text, parse_retry_after(response.headers.get("Retry-After")))
            if status >= 400:
                raise LyricsRefused(f"HTTP {status} {text}".strip())
            try:
                return parse(response)
            except ValueError as exc:
                raise HttpFailure(502, str(exc), answered=str(status)) from None

        return call_with_retries(
            attempt,
            endpoint=endpoint,
            policy=RetryPolicy(max_attempts=self.max_attempts, base_delay_s=self.retry_base_delay_s),
            stats=self._stats,
            sleep=self.clock.sleep,
            server=urlsplit(url).netloc,
            setting=setting,
        )
