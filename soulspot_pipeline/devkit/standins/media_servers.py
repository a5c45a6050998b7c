"""One stand-in for the three media servers' rescan calls: Jellyfin, Subsonic (Navidrome) and Plex.

Each answers as the real server does (Jellyfin 204 with no body, Subsonic a JSON envelope with
HTTP 200 even for errors, Plex XML) and checks the credential it was configured with.
"""

from __future__ import annotations

import hashlib

from soulspot_pipeline.devkit.standins.server import Response, StandinServer

# The shape of a real /library/sections answer, cut to one music and one movie section.
PLEX_SECTIONS = (
    '<?xml version="1.0" encoding="UTF-8"?>\n<MediaContainer size="2" allowSync="0" title1="Plex Library">'
    '<Directory allowSync="0" art="/:/resources/artist-fanart.jpg" key="3" type="artist" title="Music" '
    'agent="tv.plex.agents.music" scanner="Plex Music" language="en" refreshing="0">'
    '<Location id="3" path="/storage/music" /></Directory>'
    '<Directory allowSync="0" key="1" type="movie" title="Movies" agent="tv.plex.agents.movie" '
    'scanner="Plex Movie" language="en" refreshing="0"><Location id="1" path="/storage/movies" /></Directory>'
    "</MediaContainer>"
)


def _subsonic(status: str, **extra: object) -> dict:
    return {
        "subsonic-response": {"status": status, "version": "1.16.1", "type": "navidrome", "openSubsonic": True, **extra}
    }


class MediaServerStandin(StandinServer):
    def __init__(self, *, jellyfin_key: str, subsonic_user: str, subsonic_password: str, plex_token: str) -> None:
        super().__init__()
        self.jellyfin_key = jellyfin_key
        self.subsonic_user = subsonic_user
        self.subsonic_password = subsonic_password
        self.plex_token = plex_token

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if path == "/Library/Refresh" and method == "POST":
            return (
                Response(204) if f'Token="{self.jellyfin_key}"' in headers.get("authorization", "") else Response(401)
            )
        if path.startswith("/rest/startScan"):
            return Response(body=self._subsonic_scan(query))
        if path.startswith("/library/sections"):
            if self.plex_token not in (headers.get("x-plex-token"), query.get("X-Plex-Token")):
                return Response(401)
            if path == "/library/sections":
                return Response(body=PLEX_SECTIONS, headers={"Content-Type": "application/xml"})
            return Response(200)
        return Response(404)

    def _subsonic_scan(self, query: dict[str, str]) -> dict:
        salt, token = query.get("s", ""), query.get("t", "")
        expected = hashlib.md5((self.subsonic_password + salt).encode()).hexdigest()
        if query.get("u") != self.subsonic_user or not salt or token != expected:
            return _subsonic("failed", error={"code": 40, "message": "Wrong username or password"})
        return _subsonic("ok", scanStatus={"scanning": True, "count": 0, "folderCount": 0})
