"""Last.fm through pylast: top tags of artists and albums, similar artists.

pylast sends each request (a form-encoded POST, XML back) and raises ``WSError`` for
Last.fm's ``<lfm status="failed">`` answers, whatever their HTTP status (200, 400, 403);
this resource reads pylast's parsed XML itself, because pylast's own ``get_similar`` drops
the MBIDs. Requests share one rate across processes (``FileThrottle``: Last.fm allows
5 per second per key). The answers are cached by the asset in ``library.lastfm_answers``,
so this resource is asked only for what the library does not know yet.

The API key is passed by name (``dg.EnvVar("LASTFM_API_KEY")``) and never appears in a
message: an invalid or suspended key is one sentence naming ``LASTFM_API_KEY``.
"""

from typing import Any
from urllib.parse import urlsplit
from xml.dom import minidom

import dagster as dg
import httpx2  # pylast's HTTP client: the transport it mounts must be one of its own
import pylast
from pydantic import Field, PrivateAttr

from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.lastfm import DEFAULT_MIN_WEIGHT
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.throttle import FileThrottle
from soulspot_pipeline.settings import LASTFM_URL

_KEY_SETTING = "LASTFM_API_KEY"
_URL_SETTING = "SOULSPOT_LASTFM_URL"
# Last.fm's error codes (https://www.last.fm/api/errorcodes).
_BAD_KEY = {"4", "10", "26"}  # authentication failed, invalid API key, suspended API key
_NOT_FOUND = {"6", "7"}  # invalid parameters ("The artist you supplied could not be found"), invalid resource
_TRANSIENT = {"8", "11", "16", "29", "500", "502", "503", "504"}  # operation failed, offline, unavailable, rate limit


class LastfmKeyError(ProviderError):
    """Last.fm refused the API key: no other request will do better."""


class _PlainHttp(httpx2.HTTPTransport):
    """pylast always speaks HTTPS to its ``ws_server``; a local stand-in or proxy on plain
    HTTP (``SOULSPOT_LASTFM_URL=http://...``) is reached by sending the same request over HTTP."""

    def handle_request(self, request: httpx2.Request) -> httpx2.Response:
        request.url = request.url.copy_with(scheme="http")
        return super().handle_request(request)


def _texts(element: minidom.Element, name: str) -> str | None:
    """The text of ``element``'s first direct child called ``name`` (children in any order)."""
    for child in element.childNodes:
        if isinstance(child, minidom.Element) and child.tagName == name:
            return "".join(n.data for n in child.childNodes if isinstance(n, minidom.Text)).strip()
    return None


def tags_in(doc: minidom.Document) -> list[dict[str, Any]]:
    """The ``<tag>``s of a ``getTopTags`` answer as ``{"name", "count"}`` (strings, as sent)."""
    return [
        {"name": _texts(tag, "name"), "count": _texts(tag, "count")}
        for top in doc.getElementsByTagName("toptags")
        for tag in top.childNodes
        if isinstance(tag, minidom.Element) and tag.tagName == "tag"
    ]


def similar_in(doc: minidom.Document) -> list[dict[str, Any]]:
    """The ``<artist>``s of an ``artist.getSimilar`` answer as ``{"name", "mbid", "match"}``."""
    return [
        {"name": _texts(artist, "name"), "mbid": _texts(artist, "mbid"), "match": _texts(artist, "match")}
        for top in doc.getElementsByTagName("similarartists")
        for artist in top.childNodes
        if isinstance(artist, minidom.Element) and artist.tagName == "artist"
    ]


def answer_key(method: str, artist: str, album: str | None = None) -> str:
    """The cache key of one question (names as asked, case-folded: Last.fm ignores case)."""
    return f"{method}?artist={artist.casefold()}" + (f"&album={album.casefold()}" if album is not None else "")


class LastfmResource(dg.ConfigurableResource):
    """Last.fm's web service 2.0 (read-only methods: an API key, no secret, no session)."""

    api_key: str | None = Field(
        default=None, description="The API key, passed by name (LASTFM_API_KEY); None: Last.fm is skipped."
    )
    base_url: str = Field(default=LASTFM_URL, description="The web service root (SOULSPOT_LASTFM_URL).")
    rate: float = Field(default=5.0, description="Requests per second per key; Last.fm allows 5.")
    throttle_path: str = Field(description="The lock file that shares the rate between processes.")
    similar_limit: int = Field(default=20, description="Similar artists asked per artist.")
    min_tag_weight: int = Field(
        default=DEFAULT_MIN_WEIGHT,
        description="A tag's least weight (0-100, the top tag has 100) to count as a genre (SOULSPOT_LASTFM_MIN_WEIGHT).",
    )
    cache_ttl_days: float = Field(default=30.0, description="How long an answer is kept before it is asked again.")
    max_attempts: int = 3
    retry_base_delay_s: float = 2.0

    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time and waiting.")  # type: ignore[arg-type]
    _requests: int = PrivateAttr(default=0)
    _network: pylast.LastFMNetwork | None = PrivateAttr(default=None)

    @property
    def configured(self) -> bool:
        return bool(self.api_key)

    @property
    def requests(self) -> int:
        """How many requests this instance sent (retries included)."""
        return self._requests

    def _net(self) -> pylast.LastFMNetwork:
        if self._network is None:
            url = urlsplit(self.base_url if "//" in self.base_url else f"https://{self.base_url}")
            network = pylast.LastFMNetwork(api_key=self.api_key or "")
            network.ws_server = (url.netloc, url.path or "/2.0/")
            if url.scheme == "http":
                network.proxy = {"https://": _PlainHttp()}
            self._network = network
        return self._network

    def _say(self, text: str) -> str:
        """A message with the key, should a server or a library ever echo it, blanked out."""
        return text.replace(self.api_key, "***") if self.api_key else text

    def _ask(self, method: str, params: dict[str, str]) -> minidom.Document | None:
        """One answer, throttled and retried; None when Last.fm does not know the artist or album."""
        if not self.api_key:
            raise LastfmKeyError(f"Last.fm is not configured: set {_KEY_SETTING}")
        throttle = FileThrottle(self.throttle_path, 1.0 / self.rate)
        problem = "no attempt made"
        for attempt in range(1, self.max_attempts + 1):
            try:
                with throttle.turn():
                    self._requests += 1
                    return pylast._Request(self._net(), method, params).execute(cacheable=False)
            except pylast.WSError as exc:
                code, details = str(exc.status), self._say(str(exc.details or "").strip())
                if code in _BAD_KEY:
                    raise LastfmKeyError(
                        f"Last.fm refused the API key in {_KEY_SETTING} (error {code}: {details}): "
                        f"check {_KEY_SETTING}, or unset it to skip Last.fm"
                    ) from None
                if code in _NOT_FOUND:
                    return None
                if code not in _TRANSIENT:
                    raise ProviderError(
                        f"Last.fm {method} failed at {self.base_url} (error {code}: {details}); check {_URL_SETTING}"
                    ) from None
                problem = f"error {code}: {details}"
            except pylast.MalformedResponseError as exc:
                raise ProviderError(
                    f"Last.fm {method} at {self.base_url} answered what is not Last.fm XML "
                    f"({self._say(str(exc.underlying_error))}); check that {_URL_SETTING} points at the 2.0 web service"
                ) from None
            except pylast.NetworkError as exc:
                problem = f"no answer ({self._say(str(exc.underlying_error))})"
            if attempt < self.max_attempts:
                self.clock.sleep(self.retry_base_delay_s * 2 ** (attempt - 1))
        raise ProviderError(
            f"Last.fm {method} failed after {self.max_attempts} attempt(s) at {self.base_url}: {problem}; "
            f"run again later, or check {_URL_SETTING}"
        )

    def artist_top_tags(self, artist: str) -> list[dict[str, Any]] | None:
        doc = self._ask("artist.getTopTags", {"artist": artist, "autocorrect": "1"})
        return None if doc is None else tags_in(doc)

    def album_top_tags(self, artist: str, album: str) -> list[dict[str, Any]] | None:
        doc = self._ask("album.getTopTags", {"artist": artist, "album": album, "autocorrect": "1"})
        return None if doc is None else tags_in(doc)

    def similar_artists(self, artist: str) -> list[dict[str, Any]] | None:
        doc = self._ask("artist.getSimilar", {"artist": artist, "limit": str(self.similar_limit), "autocorrect": "1"})
        return None if doc is None else similar_in(doc)
