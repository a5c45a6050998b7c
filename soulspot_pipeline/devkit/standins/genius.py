"""A local stand-in for Genius: its API's song search and its song pages, on one server.

``GET /search?q=`` needs ``Authorization: Bearer <token>``: without one it answers 401
``{"meta": {"status": 401, "message": ...}}``, with another 401 ``{"error": "invalid_token",
"error_description": ...}``, as api.genius.com does. It answers ``{"meta": {"status": 200},
"response": {"hits": [{"highlights": [], "index": "song", "type": "song", "result": {...}}]}}``,
each result with the fields of the real API's song hits (``id, title, title_with_featured,
full_title, artist_names, primary_artist, primary_artists, path, url, api_path, lyrics_state,
instrumental, language, ...``); like the real search it is loose: every song sharing a word with
the question, the most words first, at most 10.

``GET /<song path>`` is the song's page as genius.com serves it: the lyrics in ``<div
data-lyrics-container="true">`` elements (a new one at each blank line after the first verse),
lines ended by ``<br/>``, annotated lines inside ``<a><span>``, a header marked
``data-exclude-from-selection`` inside the first container and a sidebar between them; an
instrumental's page has a placeholder and no container. No token is needed for pages.
"""

from __future__ import annotations

import html
import itertools
import re
from dataclasses import dataclass

from soulspot_pipeline.devkit.standins.server import Response, StandinServer

NO_TOKEN = {
    "meta": {"status": 401, "message": "This call requires an access_token. Please see: https://genius.com/developers"}
}
BAD_TOKEN = {
    "error": "invalid_token",
    "error_description": "The access token provided is expired, revoked, malformed or invalid for other reasons.",
}
MAX_HITS = 10


@dataclass(frozen=True)
class GeniusSong:
    song_id: int
    title: str
    artist: str
    lyrics: str | None
    instrumental: bool
    lyrics_state: str
    language: str | None

    @property
    def path(self) -> str:
        slug = re.sub(r"[^\w]+", "-", f"{self.artist} {self.title}".casefold()).strip("-")
        return f"/{slug[:1].upper()}{slug[1:]}-lyrics"

    def wire(self, base_url: str) -> dict:
        artist_id = 10_000 + sum(map(ord, self.artist))
        artist = {
            "api_path": f"/artists/{artist_id}",
            "header_image_url": f"{base_url}/images/artist-{artist_id}.jpg",
            "id": artist_id,
            "image_url": f"{base_url}/images/artist-{artist_id}.jpg",
            "is_meme_verified": False,
            "is_verified": False,
            "name": self.artist,
            "url": f"{base_url}/artists/{self.artist.replace(' ', '-')}",
        }
        return {
            "_type": "song",
            "annotation_count": 0,
            "api_path": f"/songs/{self.song_id}",
            "artist_names": self.artist,
            "full_title": f"{self.title} by {self.artist}",
            "header_image_thumbnail_url": f"{base_url}/images/song-{self.song_id}.300x300x1.jpg",
            "header_image_url": f"{base_url}/images/song-{self.song_id}.1000x1000x1.jpg",
            "id": self.song_id,
            "instrumental": self.instrumental,
            "language": self.language,
            "lyrics_owner_id": 1,
            "lyrics_state": self.lyrics_state,
            "lyrics_updated_at": 1_700_000_000,
            "path": self.path,
            "primary_artist_names": self.artist,
            "pyongs_count": None,
            "relationships_index_url": f"{base_url}{self.path.removesuffix('-lyrics')}-sample",
            "release_date_components": None,
            "release_date_for_display": None,
            "release_date_with_abbreviated_month_for_display": None,
            "song_art_image_thumbnail_url": f"{base_url}/images/song-{self.song_id}.300x300x1.jpg",
            "song_art_image_url": f"{base_url}/images/song-{self.song_id}.1000x1000x1.jpg",
            "stats": {"unreviewed_annotations": 0, "hot": False},
            "title": self.title,
            "title_with_featured": self.title,
            "url": f"{base_url}{self.path}",
            "featured_artists": [],
            "primary_artist": artist,
            "primary_artists": [artist],
        }


def song_page(song: GeniusSong) -> str:
    """The song's page, as far as its lyrics go."""
    title = html.escape(f"{song.artist} – {song.title} Lyrics | Genius Lyrics")
    header = (
        '<div data-exclude-from-selection="true" class="LyricsHeader__Container-sc-1"><button><span>'
        f"1 Contributor</span></button><div>{html.escape(song.title)} Lyrics</div></div>"
    )
    if song.instrumental or not song.lyrics:
        body = '<div class="LyricsPlaceholder__Message-sc-1">This song is an instrumental</div>'
    else:
        verses = []
        for verse in song.lyrics.split("\n\n"):
            lines = [html.escape(line) for line in verse.split("\n")]
            if len(lines) > 1:  # the second line annotated, as most pages have some
                lines[1] = f'<a href="/{song.song_id}/annotation" class="ReferentFragment"><span>{lines[1]}</span></a>'
            verses.append("<br/>".join(lines))
        container = '<div data-lyrics-container="true" class="Lyrics__Container-sc-1">'
        body = f"{container}{header}{'<br/><br/>'.join(verses[:2])}</div>"
        if verses[2:]:  # the rest after a sidebar, in a second container that begins with the blank line
            body += '<div data-exclude-from-selection="true" class="RightSidebar__Container">Ad</div>'
            body += f"{container}<br/>{'<br/><br/>'.join(verses[2:])}</div>"
    return (
        f"<!DOCTYPE html><html><head><title>{title}</title></head><body>"
        f'<div id="lyrics-root">{body}</div>'
        "<script>window.__PRELOADED_STATE__ = {};</script></body></html>"
    )


class GeniusStandin(StandinServer):
    """``/search`` of Genius's API and the song pages, over the songs added."""

    def __init__(self, access_token: str = "genius-standin-token") -> None:
        super().__init__()
        self.access_token = access_token
        self._songs: list[GeniusSong] = []
        self._ids = itertools.count(2_000_001)

    def add(
        self,
        title: str,
        artist: str,
        lyrics: str | None = None,
        *,
        instrumental: bool = False,
        lyrics_state: str = "complete",
        language: str | None = "en",
    ) -> GeniusSong:
        song = GeniusSong(next(self._ids), title, artist, lyrics, instrumental, lyrics_state, language)
        with self._lock:
            self._songs.append(song)
        return song

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if method != "GET":
            return Response(405, "Method Not Allowed")
        if path == "/search":
            return self._search(query, headers)
        for song in self._snapshot():
            if path == song.path:
                return Response(200, song_page(song), {"Content-Type": "text/html; charset=utf-8"})
        return Response(404, "<html><body>Page not found</body></html>", {"Content-Type": "text/html"})

    def _snapshot(self) -> list[GeniusSong]:
        with self._lock:
            return list(self._songs)

    def _search(self, query: dict[str, str], headers: dict[str, str]) -> Response:
        given = headers.get("authorization", "")
        if not given:
            return Response(401, NO_TOKEN)
        if given != f"Bearer {self.access_token}":
            return Response(401, BAD_TOKEN)
        words = _words(query.get("q", ""))
        scored = [(len(words & _words(f"{s.title} {s.artist}")), n, s) for n, s in enumerate(self._snapshot())]
        ranked = [s for score, _, s in sorted(scored, key=lambda t: (-t[0], t[1])) if score]
        hits = [{"highlights": [], "index": "song", "type": "song", "result": s.wire(self.url)} for s in ranked]
        return Response(200, {"meta": {"status": 200}, "response": {"hits": hits[:MAX_HITS]}})


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))
