"""A local stand-in for Last.fm's web service 2.0 in its real XML format.

It answers what pylast sends (a form-encoded POST to ``/2.0/``; a GET with the same
parameters works too): ``artist.getTopTags``, ``album.getTopTags`` and ``artist.getSimilar``,
shaped like the recorded answers (``<lfm status="ok">`` and its first child on one line,
``<tag>`` children in the order ``count, name, url``, similar artists with ``name, mbid,
match, url``, six images and ``streamable``; numbers as text). Errors are Last.fm's
``<lfm status="failed"><error code="N">`` bodies: 10 for a key it does not know (HTTP 403),
6 for an artist or album it does not know (HTTP 400, or 200 as Last.fm sometimes does), 3
for a method it does not offer; ``unavailable`` names get HTTP 503. Names are matched case-insensitively, as ``autocorrect=1``
lets Last.fm do. The data is a plain ``LastfmCatalog`` that tests may change between runs.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import parse_qs, quote_plus
from xml.sax.saxutils import escape, quoteattr

from soulspot_pipeline.devkit.standins.server import Response, StandinServer

_XML = {"Content-Type": "text/xml; charset=UTF-8"}
_STAR = "2a96cbd8b46e442fc41c2b86b821562f"
_IMAGES = (
    ("small", "34s"),
    ("medium", "64s"),
    ("large", "174s"),
    ("extralarge", "300x300"),
    ("mega", "300x300"),
    ("", "300x300"),
)
INVALID_KEY = (10, "Invalid API key - You must be granted a valid key by last.fm")
SUSPENDED_KEY = (26, "Suspended API key - Access for your account has been suspended, please contact Last.fm")


def _key(name: str) -> str:
    return " ".join(name.split()).casefold()


@dataclass
class LastfmCatalog:
    """What the stand-in knows: tags as (name, count), similar artists as (name, mbid, match)."""

    artist_tags: dict[str, list[tuple[str, int]]] = field(default_factory=dict)
    album_tags: dict[tuple[str, str], list[tuple[str, int]]] = field(default_factory=dict)
    similar: dict[str, list[tuple[str, str, float]]] = field(default_factory=dict)

    def add_artist(
        self, name: str, tags: list[tuple[str, int]] | None = None, similar: list[tuple[str, str, float]] | None = None
    ) -> None:
        self.artist_tags[_key(name)] = list(tags or [])
        self.similar[_key(name)] = list(similar or [])

    def add_album(self, artist: str, title: str, tags: list[tuple[str, int]]) -> None:
        self.album_tags[(_key(artist), _key(title))] = list(tags)


def error_body(code: int, message: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8"?>\n<lfm status="failed">\n  <error code="{code}">{escape(message)}</error>\n</lfm>\n'


def _ok(inner: str) -> str:
    return f'<?xml version="1.0" encoding="UTF-8" ?>\n<lfm status="ok">{inner}\n</lfm>\n'


def toptags_xml(tags: list[tuple[str, int]], **names: str) -> str:
    attributes = "".join(f" {k}={quoteattr(v)}" for k, v in names.items())
    items = "".join(
        f"<tag><count>{count}</count>\n<name>{escape(name)}</name>\n"
        f"<url>https://www.last.fm/tag/{escape(quote_plus(name))}</url>\n</tag>\n"
        for name, count in tags
    )
    return _ok(f"<toptags{attributes}>{items}</toptags>")


def _match(value: float) -> str:
    """As Last.fm writes it: ``1`` for the closest, six decimals otherwise (``0.572640``)."""
    return f"{value:g}" if value in (0, 1) else f"{value:.6f}"


def similar_xml(artist: str, similar: list[tuple[str, str, float]]) -> str:
    items = []
    for name, mbid, match in similar:
        images = "".join(
            f'<image size="{size}">https://lastfm.freetls.fastly.net/i/u/{path}/{_STAR}.png</image>\n'
            for size, path in _IMAGES
        )
        items.append(
            f"<artist><name>{escape(name)}</name>\n<mbid>{escape(mbid)}</mbid>\n<match>{_match(match)}</match>\n"
            f"<url>https://www.last.fm/music/{escape(quote_plus(name))}</url>\n{images}<streamable>0</streamable>\n"
            "</artist>\n"
        )
    return _ok(f"<similarartists artist={quoteattr(artist)}>{''.join(items)}</similarartists>")


class LastfmStandin(StandinServer):
    """Last.fm 2.0 on 127.0.0.1; ``url`` + ``/2.0/`` is the web service root to configure."""

    def __init__(
        self,
        catalog: LastfmCatalog | None = None,
        *,
        api_keys: tuple[str, ...] = ("test-key",),
        key_error: tuple[int, str] = INVALID_KEY,
        not_found_status: int = 400,
    ) -> None:
        super().__init__()
        self.catalog = catalog or LastfmCatalog()
        self.api_keys = set(api_keys)
        self.key_error = key_error
        self.not_found_status = not_found_status
        self.calls: list[dict[str, str]] = []  # the parameters of every request, api_key left out
        # Names (an artist's, or an album's for album questions) whose questions get HTTP 503, as an outage would.
        self.unavailable: set[str] = set()

    @property
    def ws_url(self) -> str:
        return f"{self.url}/2.0/"

    def methods(self) -> list[str]:
        return [c.get("method", "") for c in self.calls]

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if path.rstrip("/") != "/2.0":
            return Response(
                404, "<html><head><title>404 Not Found</title></head></html>", {"Content-Type": "text/html"}
            )
        params = dict(query)
        params.update({k: v[0] for k, v in parse_qs(body.decode("utf-8"), keep_blank_values=True).items()})
        self.calls.append({k: v for k, v in params.items() if k != "api_key"})
        if params.get("api_key") not in self.api_keys:
            return Response(403, error_body(*self.key_error), _XML)
        artist = params.get("artist", "")
        name = params.get("method", "")
        if _key(params.get("album") or artist) in {_key(u) for u in self.unavailable}:
            return Response(
                503, "<html><body><h1>503 Service Unavailable</h1></body></html>", {"Content-Type": "text/html"}
            )
        if name == "artist.getTopTags":
            tags = self.catalog.artist_tags.get(_key(artist))
            if tags is None:
                return self._not_found("The artist you supplied could not be found")
            return Response(200, toptags_xml(tags, artist=artist), _XML)
        if name == "album.getTopTags":
            album = params.get("album", "")
            tags = self.catalog.album_tags.get((_key(artist), _key(album)))
            if tags is None:
                return self._not_found("Album not found")
            return Response(200, toptags_xml(tags, artist=artist, album=album), _XML)
        if name == "artist.getSimilar":
            similar = self.catalog.similar.get(_key(artist))
            if similar is None:
                return self._not_found("The artist you supplied could not be found")
            limit = int(params.get("limit") or 100)
            return Response(200, similar_xml(artist, similar[:limit]), _XML)
        return Response(400, error_body(3, "Invalid Method - No method with that name in this package"), _XML)

    def _not_found(self, message: str) -> Response:
        return Response(self.not_found_status, error_body(6, message), _XML)
