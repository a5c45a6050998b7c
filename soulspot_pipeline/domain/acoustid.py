"""AcoustID's lookup answers (``/v2/lookup``, JSON) as plain matches, and the key a fingerprint is
kept under.

A lookup answers ``{"status": "ok", "results": [...]}``, or with ``batch=1`` one
``{"index": N, "results": [...]}`` per fingerprint under ``fingerprints``. A result is an
AcoustID track (``id``, ``score`` from 0 to 1) with the MusicBrainz recordings linked to it;
with ``meta=recordings+releasegroups`` a recording carries ``title``, ``duration`` (seconds,
integer or float), ``artists [{id, name, joinphrase?}]`` and ``releasegroups [{id, title,
type, secondarytypes?, artists?}]``. A recording MusicBrainz knows nothing about has only
``id`` (and ``sources`` when asked), so every other field may be missing. Errors are
``{"status": "error", "error": {"code", "message"}}``.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

# AcoustID's error codes (acoustid-server, acoustid/api/errors.py).
ERROR_MISSING_PARAMETER = 2
ERROR_INVALID_FINGERPRINT = 3
ERROR_INVALID_API_KEY = 4
ERROR_SERVICE_UNAVAILABLE = 13
ERROR_RATE_LIMIT = 14
ERROR_TOO_LARGE = 19

# The most fingerprints one batch request may carry: the server refuses more than 20.
MAX_BATCH = 20


class AcoustidAnswerError(ValueError):
    """The body is not an AcoustID lookup answer."""


@dataclass(frozen=True)
class AcoustidError:
    code: int | None
    message: str


@dataclass(frozen=True)
class AcoustidMatch:
    """One recording an AcoustID track links to, with the track's score."""

    score: float
    acoustid: str  # the AcoustID track
    recording_mbid: str
    title: str | None
    artists: tuple[str, ...]  # names, in credit order
    artist_mbids: tuple[str, ...]
    artist_credit: str | None  # the names with their join phrases ("A feat. B"), as MusicBrainz prints them
    duration_s: float | None
    release_group_mbids: tuple[str, ...]
    release_group_titles: tuple[str, ...]


@dataclass(frozen=True)
class StoredFingerprint:
    """A row of ``library.fingerprints``: a content's fingerprint, or why it has none."""

    content_hash: str
    duration_s: int | None
    fingerprint: str | None
    error: str | None
    tool: str | None  # 'library' or 'fpcalc'
    computed_at: datetime


def content_key(audio_hash: str | None, path: str, size: int, mtime_ns: int) -> str:
    """What a fingerprint is stored under: the audio's hash when the decode check made one
    (tags are not in it, so retagging or moving a file keeps its fingerprint), else the file's
    path, size and mtime (a changed file is a new key)."""
    if audio_hash:
        return f"audio:{audio_hash}"
    digest = hashlib.blake2b(f"{path}\0{size}\0{mtime_ns}".encode(), digest_size=16).hexdigest()
    return f"file:{digest}"


def answer_error(body: Any) -> AcoustidError | None:
    """The error an answer carries (``status: error``), else None."""
    if not isinstance(body, Mapping) or body.get("status") != "error":
        return None
    error = body.get("error")
    if not isinstance(error, Mapping):
        return AcoustidError(None, "error without details")
    code = error.get("code")
    return AcoustidError(code if isinstance(code, int) else None, str(error.get("message") or "").strip())


def results_by_index(body: Any) -> dict[int, list[dict[str, Any]]]:
    """The ``results`` of each fingerprint of an ``ok`` answer, by the index it was sent with
    (``fingerprint.N``); a plain (not batch) answer is index 0. A fingerprint the server could
    not read is left out of a batch answer, so it has no entry here."""
    if not isinstance(body, Mapping) or body.get("status") != "ok":
        raise AcoustidAnswerError("the answer's status is not ok")
    if "fingerprints" in body:
        listed = body["fingerprints"]
        if not isinstance(listed, list):
            raise AcoustidAnswerError("fingerprints is not a list")
        found: dict[int, list[dict[str, Any]]] = {}
        for entry in listed:
            if not isinstance(entry, Mapping) or not isinstance(entry.get("index"), int):
                raise AcoustidAnswerError("a fingerprint entry has no index")
            found[entry["index"]] = _results(entry.get("results"))
        return found
    if "results" in body:
        return {0: _results(body["results"])}
    raise AcoustidAnswerError("the answer has neither results nor fingerprints")


def _results(value: Any) -> list[dict[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(r, Mapping) for r in value):
        raise AcoustidAnswerError("results is not a list of objects")
    return [dict(r) for r in value]


def parse_results(results: list[dict[str, Any]]) -> list[AcoustidMatch]:
    """Every recording of every result, best score first; a recording named twice (two
    AcoustID tracks link it) is kept once, with its best score."""
    best: dict[str, AcoustidMatch] = {}
    for result in results:
        score = result.get("score")
        if not isinstance(score, int | float) or isinstance(score, bool):
            continue
        track = str(result.get("id") or "")
        for recording in result.get("recordings") or ():
            if not isinstance(recording, Mapping) or not isinstance(recording.get("id"), str):
                continue
            match = _match(float(score), track, recording)
            kept = best.get(match.recording_mbid)
            if kept is None or match.score > kept.score:
                best[match.recording_mbid] = match
    return sorted(best.values(), key=lambda m: (-m.score, m.recording_mbid))


def parse_answer(body: Any) -> list[AcoustidMatch]:
    """The matches of a plain (one fingerprint) answer."""
    return parse_results(results_by_index(body).get(0, []))


def _match(score: float, track: str, recording: Mapping[str, Any]) -> AcoustidMatch:
    artists = [a for a in recording.get("artists") or () if isinstance(a, Mapping)]
    groups = [g for g in recording.get("releasegroups") or () if isinstance(g, Mapping) and g.get("id")]
    duration = recording.get("duration")
    title = recording.get("title")
    names = [a for a in artists if a.get("name")]
    credit = "".join(f"{a['name']}{a.get('joinphrase') or ''}" for a in names).strip()
    if names and not any(a.get("joinphrase") for a in names[:-1]):
        credit = " & ".join(str(a["name"]) for a in names)  # no join phrases sent: names side by side
    return AcoustidMatch(
        score=score,
        acoustid=track,
        recording_mbid=recording["id"],
        title=title if isinstance(title, str) and title else None,
        artists=tuple(str(a.get("name")) for a in artists if a.get("name")),
        artist_mbids=tuple(str(a.get("id")) for a in artists if a.get("id")),
        artist_credit=credit or None,
        duration_s=float(duration) if isinstance(duration, int | float) and not isinstance(duration, bool) else None,
        release_group_mbids=tuple(str(g["id"]) for g in groups),
        release_group_titles=tuple(str(g.get("title") or "") for g in groups),
    )
