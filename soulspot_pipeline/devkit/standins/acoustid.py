"""A local stand-in for AcoustID's ``/v2/lookup``, speaking its real JSON.

Parameters come as a GET query or a POST form body (gzip-compressed when ``Content-Encoding:
gzip``), as the server takes them: ``client``, ``format`` (json; the stand-in answers JSON
only), ``meta`` (words split by spaces: ``recordings``, ``recordingids``, ``releasegroups``,
``releasegroupids``), ``duration``/``fingerprint`` or indexed ``duration.N``/``fingerprint.N``,
and ``batch=1`` for an answer per fingerprint (without it only the first is answered, as the
server does). Answers are serialised as the server does (one line, keys sorted,
``application/json; charset=UTF-8``): ``{"status": "ok", "results": [...]}`` or, batched,
``{"status": "ok", "fingerprints": [{"index": N, "results": [...]}]}``. Errors are the real
bodies: a missing parameter (2), an unreadable fingerprint (3), an invalid key (4, HTTP 400), a
batch of more than 20 fingerprints (19, HTTP 413), and requests closer together than
``min_interval_s`` get the rate limit (14, HTTP 429).

A fingerprint matches a registered one when the strings are equal and the durations are within
``max_duration_diff`` seconds (7, the server's default): register the fingerprint the client's
own code makes of the same file.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from urllib.parse import parse_qs

from soulspot_pipeline.devkit.standins.server import Response, StandinServer

JSON_CONTENT_TYPE = "application/json; charset=UTF-8"
MAX_FINGERPRINTS = 20
MAX_DURATION_DIFF = 7
DEFAULT_API_KEY = "standin-acoustid-key"
_NS = uuid.uuid5(uuid.NAMESPACE_URL, "https://soulspot.invalid/standins/acoustid")


def _id(*parts: object) -> str:
    return str(uuid.uuid5(_NS, "\x00".join(map(str, parts))))


@dataclass(frozen=True)
class AcRecording:
    """A MusicBrainz recording as AcoustID describes it; ``title`` None: MusicBrainz has no data
    for it, so the answer carries its ``id`` only."""

    mbid: str
    title: str | None = None
    duration_s: float | None = None
    artists: tuple[tuple[str, str], ...] = ()  # (mbid, name)
    release_groups: tuple[tuple[str, str, str | None], ...] = ()  # (mbid, title, primary type)

    def wire(self, meta: set[str]) -> dict:
        recording: dict = {"id": self.mbid}
        if "recordingids" in meta or self.title is None:
            return recording
        recording["title"] = self.title
        if self.duration_s:
            recording["duration"] = float(self.duration_s)
        if self.artists:
            recording["artists"] = [{"id": mbid, "name": name} for mbid, name in self.artists]
        if "releasegroups" in meta or "releasegroupids" in meta:
            groups = []
            for mbid, title, kind in self.release_groups:
                group: dict = {"id": mbid}
                if "releasegroups" in meta:
                    group["title"] = title
                    if kind:
                        group["type"] = kind
                groups.append(group)
            recording["releasegroups"] = groups
        return recording


@dataclass
class AcTrack:
    """An AcoustID track: fingerprints of one sound, linked to recordings."""

    acoustid: str
    fingerprint: str
    duration_s: int
    recordings: list[AcRecording] = field(default_factory=list)
    score: float = 1.0


def _error(code: int, message: str, status: int = 400) -> Response:
    return _json({"error": {"code": code, "message": message}, "status": "error"}, status)


def _json(data: dict, status: int = 200) -> Response:
    body = json.dumps(data, sort_keys=True).encode("utf-8")
    return Response(status, body, {"Content-Type": JSON_CONTENT_TYPE})


def _readable(fingerprint: str) -> bool:
    """Whether it looks like a compressed Chromaprint fingerprint (URL-safe base64, no padding)."""
    try:
        raw = base64.urlsafe_b64decode(fingerprint + "=" * (-len(fingerprint) % 4))
    except ValueError:
        return False
    return len(raw) >= 4


class AcoustidStandin(StandinServer):
    """``/v2/lookup`` over the tracks registered with ``add``; ``lookups`` counts fingerprints asked."""

    def __init__(self, *, api_keys: tuple[str, ...] = (DEFAULT_API_KEY,), min_interval_s: float = 0.0) -> None:
        super().__init__()
        self.api_keys = set(api_keys)
        self.min_interval_s = min_interval_s
        self.rate_violations = 0
        self.lookups = 0  # fingerprints looked up (a batch counts each)
        self._tracks: list[AcTrack] = []
        self._ac_lock = threading.Lock()
        self._last_arrival: float | None = None

    def add(
        self,
        fingerprint: str,
        duration_s: int,
        recordings: list[AcRecording],
        *,
        score: float = 1.0,
        acoustid: str | None = None,
    ) -> AcTrack:
        track = AcTrack(acoustid or _id("track", fingerprint), fingerprint, int(duration_s), list(recordings), score)
        with self._ac_lock:
            self._tracks.append(track)
        return track

    def handle(self, method: str, path: str, query: dict[str, str], headers: dict[str, str], body: bytes) -> Response:
        arrived = time.monotonic()
        with self._ac_lock:
            too_soon = (
                self.min_interval_s > 0
                and self._last_arrival is not None
                and arrived - self._last_arrival < self.min_interval_s
            )
            self._last_arrival = arrived
            if too_soon:
                self.rate_violations += 1
        if path.rstrip("/") != "/v2/lookup":
            return _json({"error": {"code": 404, "message": "not found"}, "status": "error"}, 404)
        values = dict(query)
        if method == "POST":
            if "gzip" in headers.get("content-encoding", "").lower():
                body = gzip.decompress(body)
            form = parse_qs(body.decode("utf-8"), keep_blank_values=True)
            values.update({k: v[0] for k, v in form.items()})
        elif method != "GET":
            return Response(405, "Method Not Allowed")
        answer_format = values.get("format", "json")
        if answer_format != "json":
            return _error(1, f'unknown format "{answer_format}"')
        client = values.get("client")
        if not client:
            return _error(2, 'missing required parameter "client"')
        if client not in self.api_keys:
            return _error(4, "invalid API key")
        if too_soon:
            rate = 1.0 / self.min_interval_s
            return _error(14, f"rate limit ({rate:f} requests per second) exceeded, try again later", 429)
        return self._lookup(values)

    def _lookup(self, values: dict[str, str]) -> Response:
        meta_value = values.get("meta") or ""
        meta = {"recordingids"} if meta_value == "1" else set(meta_value.split()) if meta_value != "0" else set()
        try:
            max_diff = int(values.get("maxdurationdiff") or MAX_DURATION_DIFF)
        except ValueError:
            max_diff = MAX_DURATION_DIFF
        suffixes = sorted(
            {-1 if name == "fingerprint" else int(name[12:]) for name in values if _is_fingerprint_name(name)}
        )
        if not suffixes:
            return _error(2, 'missing required parameter "fingerprint"')
        queries: list[tuple[int | None, int, str]] = []
        for position, suffix in enumerate(suffixes):
            tail = "" if suffix == -1 else f".{suffix}"
            problem = None
            try:
                duration = int(values.get(f"duration{tail}") or 0)
            except ValueError:
                duration = 0
            fingerprint = values.get(f"fingerprint{tail}") or ""
            if not duration:
                problem = _error(2, f'missing required parameter "duration{tail}"')
            elif not fingerprint:
                problem = _error(2, f'missing required parameter "fingerprint{tail}"')
            elif not _readable(fingerprint):
                problem = _error(3, "invalid fingerprint")
            if problem is not None:
                # The server skips a fingerprint it cannot read, unless nothing else is left.
                if not queries and position + 1 == len(suffixes):
                    return problem
                continue
            queries.append((None if suffix == -1 else suffix, duration, fingerprint))
        batch = values.get("batch") not in (None, "", "0")
        if not batch:
            queries = queries[:1]
        if len(queries) > MAX_FINGERPRINTS:
            return _error(19, "request too large", 413)
        with self._ac_lock:
            self.lookups += len(queries)
            tracks = list(self._tracks)
        answers = [(index, self._results(tracks, duration, fp, meta, max_diff)) for index, duration, fp in queries]
        if batch:
            return _json({"fingerprints": [{"index": i, "results": r} for i, r in answers], "status": "ok"})
        return _json({"results": answers[0][1], "status": "ok"})

    @staticmethod
    def _results(tracks: list[AcTrack], duration: int, fingerprint: str, meta: set[str], max_diff: int) -> list[dict]:
        results = []
        seen: set[str] = set()
        for track in tracks:
            if track.fingerprint != fingerprint or abs(track.duration_s - duration) > max_diff:
                continue
            if track.acoustid in seen:
                continue
            seen.add(track.acoustid)
            result: dict = {"id": track.acoustid, "score": track.score}
            if meta & {"recordings", "recordingids"} and track.recordings:
                result["recordings"] = [r.wire(meta) for r in track.recordings]
            results.append(result)
        return sorted(results, key=lambda r: -r["score"])


def _is_fingerprint_name(name: str) -> bool:
    return name == "fingerprint" or (name.startswith("fingerprint.") and name[12:].isdigit())
