"""A local stand-in for LRCLIB (lrclib.net/api), speaking its real wire format.

``GET /api/get`` answers one record as the server serialises it (``id, name, trackName,
artistName, albumName, duration, instrumental, plainLyrics, syncedLyrics``; ``duration`` a
float, both names present), a 404 ``{"message", "name": "TrackNotFound", "statusCode": 404}``
when nothing matches, and a 400 ``ValidationError`` for an empty or missing track or artist
name or a duration outside 1..3600. Like the server, it matches title and artist without
regard to case, the album when both sides have one, and the duration within 2 seconds.
``GET /api/get/{id}`` answers a record by id; ``GET /api/search`` (``q``, or ``track_name`` with
optional ``artist_name`` and ``album_name``) answers a list of the same records, in the order
added, at most 20, ``[]`` when nothing matches: every word asked for must be a word of the field.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

from soulspot_pipeline.devkit.standins.server import Response, StandinServer

NOT_FOUND = {"message": "Failed to find specified track", "name": "TrackNotFound", "statusCode": 404}
DURATION_SLACK_S = 2.0


@dataclass(frozen=True)
class LrclibRecord:
    record_id: int
    track: str
    artist: str
    album: str
    duration_s: float
    instrumental: bool = False
    plain: str | None = None
    synced: str | None = None

    def wire(self) -> dict:
        return {
            "id": self.record_id,
            "name": self.track,
            "trackName": self.track,
            "artistName": self.artist,
            "albumName": self.album,
            "duration": float(self.duration_s),
            "instrumental": self.instrumental,
            "plainLyrics": None if self.instrumental else self.plain,
            "syncedLyrics": None if self.instrumental else self.synced,
        }


def _validation(message: str) -> Response:
    return Response(400, {"message": message, "name": "ValidationError", "statusCode": 400})


class LrclibStandin(StandinServer):
    """``/api/get``, ``/api/get/{id}`` and ``/api/search`` over the records added."""

    def __init__(self) -> None:
        super().__init__()
        self._records: list[LrclibRecord] = []
        self._ids = itertools.count(1_000_001)

    def add(
        self,
        track: str,
        artist: str,
        album: str,
        duration_s: float,
        *,
        plain: str | None = None,
        synced: str | None = None,
        instrumental: bool = False,
    ) -> LrclibRecord:
        record = LrclibRecord(next(self._ids), track, artist, album, duration_s, instrumental, plain, synced)
        with self._lock:
            self._records.append(record)
        return record

    def add_wire(self, body: dict) -> None:
        """A record as LRCLIB sent it (a recorded answer)."""
        record = LrclibRecord(
            int(body["id"]),
            body["trackName"],
            body["artistName"],
            body["albumName"],
            float(body["duration"]),
            bool(body["instrumental"]),
            body.get("plainLyrics"),
            body.get("syncedLyrics"),
        )
        with self._lock:
            self._records.append(record)

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        if method != "GET":
            return Response(405, "Method Not Allowed")
        if path.startswith("/api/get/"):
            wanted = path.removeprefix("/api/get/")
            found = [r for r in self._snapshot() if str(r.record_id) == wanted]
            return Response(200, found[0].wire()) if found else Response(404, NOT_FOUND)
        if path == "/api/get":
            return self._get(query)
        if path == "/api/search":
            return self._search(query)
        return Response(404, {"message": "Not Found", "name": "NotFound", "statusCode": 404})

    def _snapshot(self) -> list[LrclibRecord]:
        with self._lock:
            return list(self._records)

    def _get(self, query: dict[str, str]) -> Response:
        for name in ("track_name", "artist_name"):
            if name not in query:
                return Response(400, f"Failed to deserialize query string: missing field `{name}`")
            if not query[name].strip():
                return _validation(f"{name}: must not be empty")
        duration: float | None = None
        if query.get("duration"):
            try:
                duration = float(query["duration"])
            except ValueError:
                return Response(400, "Failed to deserialize query string: duration: invalid float literal")
            if not 1 <= duration <= 3600:
                return _validation("duration: must be between 1 and 3600")
        for record in self._snapshot():
            if record.track.casefold() != query["track_name"].strip().casefold():
                continue
            if record.artist.casefold() != query["artist_name"].strip().casefold():
                continue
            album = query.get("album_name", "").strip()
            if album and record.album.casefold() != album.casefold():
                continue
            if duration is not None and abs(record.duration_s - duration) > DURATION_SLACK_S:
                continue
            return Response(200, record.wire())
        return Response(404, NOT_FOUND)

    def _search(self, query: dict[str, str]) -> Response:
        # Like the server's full-text search: every word asked for is a word of the field.
        fields = {"q": None, "track_name": "track", "artist_name": "artist", "album_name": "album"}
        asked = {name: _words(query[name]) for name in fields if query.get(name, "").strip()}
        if "q" not in asked and "track_name" not in asked:
            return _validation("either q or track_name must be given")

        def fits(record: LrclibRecord) -> bool:
            for name, words in asked.items():
                attr = fields[name]
                have = _words(
                    f"{record.track} {record.artist} {record.album}" if attr is None else getattr(record, attr)
                )
                if not words <= have:
                    return False
            return True

        return Response(200, [r.wire() for r in self._snapshot() if fits(r)][:20])


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", text.casefold()))
