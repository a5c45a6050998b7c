"""Requests by link or search: library.request_items, library.request_tracks (the views
library.requests and library.requested_tracks show their progress)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

import duckdb

from soulspot_pipeline.domain.requests import (
    AMBIGUOUS,
    RESOLVED,
    HeldTrack,
    Outcome,
    already_held,
    held_index,
    track_from_json,
    track_name,
)
from soulspot_pipeline.store.decisions import UnknownEntityError
from soulspot_pipeline.store.sql import transaction

# The request tracks the merge reads: each provider track once, as most recently requested.
_MERGE_ROWS = """
SELECT q.source, q.source_track_id, q.title, q.artist_name, q.source_artist_id, q.album_title, q.source_album_id,
       q.album_artist_name, q.source_album_artist_id, q.album_type, q.release_date, q.total_tracks, q.isrc,
       q.duration_ms, q.track_number, q.disc_number, r.requested_at
FROM library.request_tracks q JOIN library.request_items r USING (request_id)
WHERE q.wanted AND r.status = 'resolved'
QUALIFY row_number() OVER (PARTITION BY q.source, q.source_track_id ORDER BY r.requested_at DESC, r.request_id DESC) = 1
"""


def load_requested_tracks(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return conn.sql(_MERGE_ROWS).pl().to_dicts()


def held_tracks(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    """The tracks the library has a file of, indexed by every key they answer to."""
    rows = conn.execute(
        """
        SELECT t.track_id, ar.name, t.title, t.isrc, t.spotify_id, t.deezer_id, t.recording_mbid
        FROM library.tracks t JOIN library.artists ar USING (artist_id)
        WHERE t.download_state = 'downloaded'
        """
    ).fetchall()
    return held_index(
        HeldTrack(track_id, artist, title, isrc, {"spotify": spotify, "deezer": deezer, "musicbrainz": mbid})
        for track_id, artist, title, isrc, spotify, deezer, mbid in rows
    )


def _track_rows(request_id: int, outcome: Outcome, held: Mapping[str, str] | None) -> list[tuple]:
    rows = []
    for position, (source, track) in enumerate(outcome.tracks, start=1):
        album = track.album
        have = already_held(source, track, held) if held is not None else None
        rows.append(
            (
                request_id,
                position,
                source,
                track.track_id,
                track.title,
                track.artist.name or None,
                track.artist.artist_id or None,
                album.title if album else None,
                (album.album_id or None) if album else None,
                (album.artist.name or None) if album else None,
                (album.artist.artist_id or None) if album else None,
                album.album_type if album else None,
                album.release_date if album else None,
                album.total_tracks if album else None,
                track.isrc,
                track.duration_ms,
                track.track_number,
                track.disc_number,
                have is None,
                have,
            )
        )
    return rows


def record(
    conn: duckdb.DuckDBPyConnection,
    outcome: Outcome,
    *,
    only_missing: bool,
    held: Mapping[str, str] | None,
    now: datetime,
    run_id: str | None = None,
) -> int:
    """Store one asked item and its tracks; with ``held`` (only_missing), the tracks the library
    already has a file of are kept as not wanted. Returns the request id."""
    with transaction(conn):
        (request_id,) = conn.execute("SELECT coalesce(max(request_id), 0) + 1 FROM library.request_items").fetchone()  # type: ignore[misc]
        candidates = [c.as_json(n) for n, c in enumerate(outcome.candidates, start=1)]
        conn.execute(
            "INSERT INTO library.request_items VALUES (?, ?, ?, ?, ?, ?, ?, ?, NULL, ?, ?, ?, ?, ?)",
            [
                request_id,
                outcome.asked,
                outcome.kind,
                outcome.source,
                outcome.source_id,
                outcome.resolved_to,
                outcome.status,
                json.dumps(candidates, ensure_ascii=False) if candidates else None,
                outcome.error,
                only_missing,
                run_id,
                now,
                now if outcome.status == RESOLVED else None,
            ],
        )
        rows = _track_rows(request_id, outcome, held if only_missing else None)
        if rows:
            conn.executemany(f"INSERT INTO library.request_tracks VALUES ({', '.join('?' * 20)})", rows)
    return request_id


class NoSuchCandidate(LookupError):
    """A pick names no request, no ambiguous one, or no candidate of it."""


def pick(conn: duckdb.DuckDBPyConnection, request_id: int, n: int, now: datetime) -> str:
    """Resolve an ambiguous search with its candidate ``n``: that track is requested. Returns its name."""
    rows = conn.execute(
        "SELECT status, candidates, asked FROM library.request_items WHERE request_id = ?", [request_id]
    ).fetchall()
    if not rows:
        raise NoSuchCandidate(f"no request {request_id}; see `SELECT request_id, asked, status FROM library.requests`")
    status, candidates, asked = rows[0]
    if status != AMBIGUOUS:
        raise NoSuchCandidate(f"request {request_id} ({asked!r}) is {status}, not ambiguous: nothing to pick")
    listed = {c["n"]: c for c in json.loads(candidates or "[]")}
    if n not in listed:
        raise NoSuchCandidate(
            f"request {request_id} ({asked!r}) has no candidate {n}; its candidates are {', '.join(map(str, listed))}"
        )
    source, track = track_from_json(listed[n])
    chosen = Outcome(asked, "search", RESOLVED, source, track.track_id, track_name(track), ((source, track),))
    with transaction(conn):
        conn.execute(
            """
            UPDATE library.request_items SET status = 'resolved', source = ?, source_id = ?, resolved_to = ?,
                picked = ?, requested_at = ?, resolved_at = ?, error = NULL
            WHERE request_id = ?
            """,
            [source, track.track_id, chosen.resolved_to, n, now, now, request_id],
        )
        conn.executemany(
            f"INSERT INTO library.request_tracks VALUES ({', '.join('?' * 20)})", _track_rows(request_id, chosen, None)
        )
    return chosen.resolved_to or ""


def request_label(conn: duckdb.DuckDBPyConnection, request_id: str) -> str:
    """What request ``request_id`` asked for; raises UnknownEntityError when there is none."""
    rows = (
        conn.execute("SELECT asked FROM library.request_items WHERE request_id = ?", [int(request_id)]).fetchall()
        if request_id.strip().isdigit()
        else []
    )
    if not rows:
        raise UnknownEntityError(
            f"no request with id {request_id!r}; look ids up with `SELECT request_id, asked FROM library.requests`"
        )
    return rows[0][0]


def progress(conn: duckdb.DuckDBPyConnection, request_ids: Sequence[int]) -> list[tuple]:
    """(request_id, asked, resolved_to, status, tracks_requested, pending, downloaded, already_had, error) per request."""
    return conn.execute(
        """
        SELECT request_id, asked, resolved_to, status, tracks_requested, pending, downloaded, already_had, error
        FROM library.requests WHERE list_contains(?, request_id) ORDER BY request_id
        """,
        [list(request_ids)],
    ).fetchall()
