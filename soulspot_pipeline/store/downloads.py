"""The download queue, the candidates weighed for each track, peers' records and downloads' states."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TypedDict

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.download_query import WantedTrack
from soulspot_pipeline.domain.download_ranking import PeerRecord, RankedCandidate
from soulspot_pipeline.domain.notify import Event
from soulspot_pipeline.domain.quality import LOSSY_FORMATS, Quality
from soulspot_pipeline.store import notifications
from soulspot_pipeline.store.sql import registered, transaction

_S = pa.string()

# Who asked first is served first: the user's requests, then requested discography gaps,
# then what auto-queue owns. (The user's own priority, library.download_priorities, comes before.)
PRIORITY = {"request": 1, "discography": 2, "auto_queue": 3, "upgrade": 4}
# The error of a download the user cancelled: abandoned for good, never searched again (not even as an upgrade).
CANCELLED = "cancelled by the user"
PAUSED = "paused"  # library.download_control key: 'true' while the user has paused downloads


@dataclass(frozen=True)
class QueuedTrack:
    wanted: WantedTrack
    origin: str
    priority: int
    attempts: int
    existing: Quality | None = None  # an upgrade: the file the library has now
    album_id: str | None = None


_QUEUE = """
SELECT t.track_id, ar.name AS artist, t.title, al.title AS album, t.duration_ms, t.track_number, t.disc_number,
       al.total_tracks, t.isrc, t.recording_mbid,
       CASE WHEN r.track_id IS NOT NULL OR q.track_id IS NOT NULL THEN 'request'
            WHEN t.primary_source = 'discography' THEN 'discography' ELSE 'auto_queue' END AS origin,
       coalesce(d.attempts, 0) AS attempts, coalesce(r.requested_at, t.updated_at) AS since, t.album_id,
       coalesce(p.priority, 0) AS user_priority
FROM library.tracks t
JOIN library.artists ar ON ar.artist_id = t.artist_id
LEFT JOIN library.albums al ON al.album_id = t.album_id
LEFT JOIN library.download_requests r ON r.track_id = t.track_id
LEFT JOIN (SELECT DISTINCT track_id FROM library.requested_tracks WHERE wanted) q ON q.track_id = t.track_id
LEFT JOIN library.download_priorities p ON p.track_id = t.track_id
LEFT JOIN library.downloads d ON d.track_id = t.track_id
WHERE t.download_state = 'pending' AND (d.state IS NULL OR d.state NOT IN ('downloading'))
  AND (d.state IS DISTINCT FROM 'not_found' OR d.searched_at < ?)
"""


def load_queue(conn: duckdb.DuckDBPyConnection, *, search_again_before: datetime, limit: int) -> list[QueuedTrack]:
    """Pending tracks not already downloading, the user's priority (higher first), then the
    origin's; a track nothing was found for waits until ``search_again_before`` has passed its last search."""
    rows = conn.execute(_QUEUE, [search_again_before]).fetchall()
    queued = [
        QueuedTrack(
            WantedTrack(track_id, artist, title, album, duration_ms, track_number, disc_number, total, isrc, mbid),
            origin,
            PRIORITY[origin],
            attempts,
            album_id=album_id,
        )
        for track_id, artist, title, album, duration_ms, track_number, disc_number, total, isrc, mbid, origin, attempts, _, album_id, _ in sorted(
            rows, key=lambda r: (-r[14], PRIORITY[r[10]], r[12], r[0])
        )
    ]
    return queued[:limit]


_UPGRADES = """
SELECT t.track_id, ar.name, t.title, al.title, t.duration_ms, t.track_number, t.disc_number, al.total_tracks, t.isrc,
       t.recording_mbid, coalesce(d.attempts, 0), t.audio_format, t.bitrate, t.bit_depth, t.sample_rate
FROM library.tracks t
JOIN library.artists ar ON ar.artist_id = t.artist_id
LEFT JOIN library.albums al ON al.album_id = t.album_id
LEFT JOIN library.downloads d ON d.track_id = t.track_id
WHERE t.ownership_state = 'owned' AND t.download_state = 'downloaded' AND t.bitrate < ?
  AND list_contains(?, t.audio_format)
  AND (d.state IS NULL OR d.state = 'downloaded' OR (d.state = 'abandoned' AND d.error IS DISTINCT FROM ?)
       OR (d.state IN ('not_found', 'failed') AND d.updated_at < ?))
ORDER BY t.bitrate, t.track_id
"""


def load_upgrades(
    conn: duckdb.DuckDBPyConnection, *, below_bitrate: int, search_again_before: datetime, limit: int
) -> list[QueuedTrack]:
    """Owned lossy files below ``below_bitrate``, worst first: each a search for a strictly better copy."""
    rows = conn.execute(_UPGRADES, [below_bitrate, sorted(LOSSY_FORMATS), CANCELLED, search_again_before]).fetchall()
    return [
        QueuedTrack(
            WantedTrack(track_id, artist, title, album, duration_ms, track_number, disc_number, total, isrc, mbid),
            "upgrade",
            PRIORITY["upgrade"],
            attempts,
            Quality(fmt, bitrate, bit_depth, sample_rate),
        )
        for track_id, artist, title, album, duration_ms, track_number, disc_number, total, isrc, mbid, attempts, fmt, bitrate, bit_depth, sample_rate in rows[
            :limit
        ]
    ]


def load_peers(conn: duckdb.DuckDBPyConnection) -> dict[str, PeerRecord]:
    return {
        username: PeerRecord(successes, failures, skipped_until)
        for username, successes, failures, skipped_until in conn.execute(
            "SELECT username, successes, failures, skipped_until FROM library.peer_stats"
        ).fetchall()
    }


_CANDIDATE_SCHEMA = pa.schema(
    [
        ("track_id", _S),
        ("attempt", pa.int32()),
        ("query_tier", _S),
        ("query", _S),
        ("username", _S),
        ("filename", _S),
        ("size_bytes", pa.int64()),
        ("extension", _S),
        ("bitrate", pa.int32()),
        ("bit_depth", pa.int32()),
        ("sample_rate", pa.int32()),
        ("length_s", pa.float64()),
        ("has_free_slot", pa.bool_()),
        ("queue_length", pa.int32()),
        ("upload_speed", pa.int64()),
        ("accepted", pa.bool_()),
        ("rank", pa.int32()),
        ("score", pa.float64()),
        ("breakdown", _S),
        ("decided_by", _S),
        ("reason", _S),
        ("chosen", pa.bool_()),
    ]
)


@dataclass
class SearchOutcome:
    """One track's search: every tier tried, every candidate ranked, the one chosen (if any)."""

    queued: QueuedTrack
    ranked: list[tuple[str, str, list[RankedCandidate]]]  # (tier, query, ranked candidates)
    chosen: tuple[str, str, RankedCandidate] | None  # (tier, query, candidate)
    enqueued: bool = False
    transfer_id: str | None = None
    error: str | None = None


class _DownloadRow(TypedDict):
    """A track's row of library.downloads as a search leaves it."""

    track_id: str
    state: str
    priority: int
    origin: str
    attempts: int
    query_tier: str | None
    query: str | None
    username: str | None
    remote_filename: str | None
    size_bytes: int | None
    transfer_id: str | None
    error: str | None


def write_outcomes(
    conn: duckdb.DuckDBPyConnection, outcomes: Sequence[SearchOutcome], now: datetime, events: Sequence[Event] = ()
) -> dict[str, int]:
    """Every candidate with its explanation, each track's download row and the notification ``events``
    (downloads that failed), in one transaction."""
    candidates = []
    for o in outcomes:
        attempt = o.queued.attempts + 1
        for tier, query, ranked in o.ranked:
            for r in ranked:
                c = r.candidate
                candidates.append(
                    {
                        "track_id": o.queued.wanted.track_id,
                        "attempt": attempt,
                        "query_tier": tier,
                        "query": query,
                        "username": c.username,
                        "filename": c.filename,
                        "size_bytes": c.size,
                        "extension": c.extension,
                        "bitrate": c.bitrate,
                        "bit_depth": c.bit_depth,
                        "sample_rate": c.sample_rate,
                        "length_s": c.length_s,
                        "has_free_slot": c.has_free_slot,
                        "queue_length": c.queue_length,
                        "upload_speed": c.upload_speed,
                        "accepted": r.accepted,
                        "rank": r.rank,
                        "score": r.score,
                        "breakdown": json.dumps(r.breakdown),
                        "decided_by": r.decided_by,
                        "reason": r.reason,
                        "chosen": o.chosen is not None and o.chosen[2] is r,
                    }
                )
    downloads: list[_DownloadRow] = []
    for o in outcomes:
        last_tier: str | None
        last_query: str | None
        chosen: RankedCandidate | None
        if o.chosen is not None:
            last_tier, last_query, chosen = o.chosen
        else:
            # Nothing chosen: the last tier tried says how far the search went.
            last_tier, last_query = o.ranked[-1][:2] if o.ranked else (None, None)
            chosen = None
        state = "downloading" if o.enqueued else ("failed" if o.error else "not_found")
        downloads.append(
            {
                "track_id": o.queued.wanted.track_id,
                "state": state,
                "priority": o.queued.priority,
                "origin": o.queued.origin,
                "attempts": o.queued.attempts + (1 if chosen else 0),
                "query_tier": last_tier,
                "query": last_query,
                "username": chosen.candidate.username if chosen else None,
                "remote_filename": chosen.candidate.filename if chosen else None,
                "size_bytes": chosen.candidate.size if chosen else None,
                "transfer_id": o.transfer_id,
                "error": o.error,
            }
        )
    download_schema = pa.schema(
        [
            ("track_id", _S),
            ("state", _S),
            ("priority", pa.int32()),
            ("origin", _S),
            ("attempts", pa.int32()),
            ("query_tier", _S),
            ("query", _S),
            ("username", _S),
            ("remote_filename", _S),
            ("size_bytes", pa.int64()),
            ("transfer_id", _S),
            ("error", _S),
        ]
    )
    with (
        transaction(conn),
        registered(
            conn,
            weighed=pa.Table.from_pylist(candidates, schema=_CANDIDATE_SCHEMA),
            tried=pa.Table.from_pylist(downloads, schema=download_schema),
        ),
    ):
        conn.execute("INSERT OR REPLACE INTO library.download_candidates SELECT *, ? FROM weighed", [now])
        conn.execute(
            """
            INSERT INTO library.downloads
            SELECT track_id, state, priority, origin, attempts, 1, query_tier, query, username, remote_filename, size_bytes,
                   transfer_id, 0.0, ?, NULL, error, ?, CASE WHEN state = 'downloading' THEN ? END, NULL, ?, NULL, NULL
            FROM tried
            ON CONFLICT (track_id) DO UPDATE SET
                state = excluded.state, priority = excluded.priority, origin = excluded.origin,
                attempts = excluded.attempts, searches = library.downloads.searches + 1,
                query_tier = excluded.query_tier, query = excluded.query, username = excluded.username,
                remote_filename = excluded.remote_filename, size_bytes = excluded.size_bytes,
                transfer_id = excluded.transfer_id, percent_complete = 0.0, progress_at = excluded.progress_at,
                local_path = NULL, error = excluded.error,
                searched_at = excluded.searched_at, enqueued_at = excluded.enqueued_at, finished_at = NULL,
                updated_at = excluded.updated_at, speed_bps = NULL, eta_at = NULL
            """,
            [now, now, now, now],
        )
        notifications.record(conn, events, now)
    counts: dict[str, int] = {"candidates": len(candidates)}
    for row in downloads:
        counts[row["state"]] = counts.get(row["state"], 0) + 1
    return counts


@dataclass(frozen=True)
class ActiveDownload:
    """A download slskd is carrying, with what its import needs: tags, naming fields, the file it may replace."""

    track_id: str
    attempts: int
    username: str
    remote_filename: str
    size_bytes: int | None
    transfer_id: str | None
    percent_complete: float
    enqueued_at: datetime
    progress_at: datetime
    duration_ms: int | None
    tags: dict
    existing: dict | None  # format, bitrate, bit_depth, sample_rate of the track's present file
    existing_path: str | None
    cover_path: str | None
    album_type: str | None = None  # for the naming template's {albumtype}
    lyrics: tuple[str, bool] | None = None  # (text, synced): the track's lyrics, when library.lyrics has them


_ACTIVE = """
SELECT d.track_id, d.attempts, d.username, d.remote_filename, d.size_bytes, d.transfer_id, d.percent_complete,
       d.enqueued_at, coalesce(d.progress_at, d.enqueued_at), t.duration_ms,
       t.title, ar.name, al.title, aa.name, t.track_number, al.total_tracks, t.disc_number, al.medium_count,
       al.release_date, al.genres[1], t.isrc, t.recording_mbid, al.release_mbid, al.release_group_mbid,
       ar.artist_mbid, aa.artist_mbid, t.local_path, t.audio_format, t.bitrate, t.bit_depth, t.sample_rate, al.image_path,
       al.album_type, ly.text, ly.synced
FROM library.downloads d
JOIN library.tracks t USING (track_id)
LEFT JOIN library.lyrics ly ON ly.track_id = t.track_id AND ly.status IN ('synced', 'plain') AND ly.text IS NOT NULL
JOIN library.artists ar ON ar.artist_id = t.artist_id
LEFT JOIN library.albums al ON al.album_id = t.album_id
LEFT JOIN library.artists aa ON aa.artist_id = al.artist_id
WHERE d.state = 'downloading'
ORDER BY d.priority, d.enqueued_at, d.track_id
"""

_TAG_FIELDS = (
    "title",
    "artist",
    "album",
    "albumartist",
    "track_number",
    "track_total",
    "disc_number",
    "disc_total",
    "date",
    "genre",
    "isrc",
    "recording_mbid",
    "release_mbid",
    "release_group_mbid",
    "artist_mbid",
    "albumartist_mbid",
)


def load_active(conn: duckdb.DuckDBPyConnection) -> list[ActiveDownload]:
    active = []
    for row in conn.execute(_ACTIVE).fetchall():
        (track_id, attempts, username, filename, size, transfer_id, percent, enqueued_at, progress_at, duration) = row[
            :10
        ]
        tags = dict(zip(_TAG_FIELDS, row[10:26], strict=True))
        local_path, fmt, bitrate, bit_depth, sample_rate, cover = row[26:32]
        existing = (
            {"format": fmt, "bitrate": bitrate, "bit_depth": bit_depth, "sample_rate": sample_rate}
            if local_path and fmt
            else None
        )
        active.append(
            ActiveDownload(
                track_id,
                attempts,
                username,
                filename,
                size,
                transfer_id,
                percent or 0.0,
                enqueued_at,
                progress_at,
                duration,
                tags,
                existing,
                local_path if existing else None,
                cover,
                row[32],
                (row[33], bool(row[34])) if row[33] else None,
            )
        )
    return active


def load_broken_files(conn: duckdb.DuckDBPyConnection) -> dict[str, str | None]:
    """The library's files found broken or truncated (``library.broken_files``): path -> the track
    it is a file of (None when the merge has not placed it yet)."""
    return dict(conn.execute("SELECT path, track_id FROM library.broken_files").fetchall())


def next_candidate(conn: duckdb.DuckDBPyConnection, track_id: str, avoid_users: set[str]) -> tuple | None:
    """The best accepted candidate of the track's latest search not tried yet, from a peer not to avoid:
    (attempt, query_tier, username, filename, size_bytes)."""
    rows = conn.execute(
        """
        SELECT attempt, query_tier, username, filename, size_bytes FROM library.download_candidates
        WHERE track_id = ? AND accepted AND NOT chosen
          AND attempt = (SELECT max(attempt) FROM library.download_candidates WHERE track_id = ?)
        ORDER BY rank
        """,
        [track_id, track_id],
    ).fetchall()
    return next((r for r in rows if r[2] not in avoid_users), None)


def mark_chosen(
    conn: duckdb.DuckDBPyConnection, track_id: str, attempt: int, tier: str, username: str, filename: str
) -> None:
    conn.execute(
        "UPDATE library.download_candidates SET chosen = true "
        "WHERE track_id = ? AND attempt = ? AND query_tier = ? AND username = ? AND filename = ?",
        [track_id, attempt, tier, username, filename],
    )


def update_download(conn: duckdb.DuckDBPyConnection, track_id: str, now: datetime, **values: object) -> None:
    """Set the given columns of a track's download row (and its ``updated_at``)."""
    columns = ", ".join(f"{name} = ?" for name in values)
    conn.execute(
        f"UPDATE library.downloads SET {columns}, updated_at = ? WHERE track_id = ?",
        [*values.values(), now, track_id],
    )


def record_peer(
    conn: duckdb.DuckDBPyConnection, username: str, record: PeerRecord, error: str | None, now: datetime
) -> None:
    conn.execute(
        """
        INSERT INTO library.peer_stats VALUES (?, ?, ?, ?, ?, ?)
        ON CONFLICT (username) DO UPDATE SET successes = excluded.successes, failures = excluded.failures,
            skipped_until = excluded.skipped_until, last_error = coalesce(excluded.last_error, library.peer_stats.last_error),
            updated_at = excluded.updated_at
        """,
        [username, record.successes, record.failures, record.skipped_until, error, now],
    )


def abandon_failed(conn: duckdb.DuckDBPyConnection, before: datetime, now: datetime) -> int:
    """Failed downloads older than ``before`` are given up: their tracks go back to not needed."""
    return conn.execute(
        "UPDATE library.downloads SET state = 'abandoned', updated_at = ? WHERE state = 'failed' AND updated_at < ?",
        [now, before],
    ).fetchall()[0][0]


# -- the user's control: pause, cancel, retry, priority ---------------------------------------

SCOPES = {
    "track": "t.track_id = $id",
    "album": "t.album_id = $id",
    # The tracks a request by link or search asked for (library.requested_tracks).
    "request": "t.track_id IN (SELECT track_id FROM library.requested_tracks WHERE wanted AND request_id::VARCHAR = $id)",
    "all": "true",
}


def paused_since(conn: duckdb.DuckDBPyConnection) -> datetime | None:
    """When the user paused downloads (pause_downloads), or None while they run."""
    rows = conn.execute(
        "SELECT changed_at FROM library.download_control WHERE key = ? AND value = 'true'", [PAUSED]
    ).fetchall()
    return rows[0][0] if rows else None


def set_paused(conn: duckdb.DuckDBPyConnection, paused: bool, now: datetime) -> None:
    conn.execute(
        """
        INSERT INTO library.download_control VALUES (?, ?, ?)
        ON CONFLICT (key) DO UPDATE SET value = excluded.value, changed_at = excluded.changed_at
        """,
        [PAUSED, "true" if paused else "false", now],
    )


def cancellable(conn: duckdb.DuckDBPyConnection, scope: str, entity_id: str | None) -> list[tuple]:
    """The tracks in scope still wanted or on their way: (track_id, download state, peer, remote file)."""
    return conn.execute(
        f"""
        SELECT t.track_id, d.state, d.username, d.remote_filename
        FROM library.tracks t LEFT JOIN library.downloads d USING (track_id)
        WHERE {SCOPES[scope]} AND (t.download_state IN ('pending', 'downloading', 'failed') OR d.state = 'downloading')
        ORDER BY t.track_id
        """,
        {"id": entity_id} if scope != "all" else {},
    ).fetchall()


def mark_cancelled(conn: duckdb.DuckDBPyConnection, track_ids: Sequence[str], now: datetime) -> None:
    """Un-request the tracks and leave their downloads abandoned: the merge makes them not needed
    until they are requested (or retried) again."""
    with transaction(conn):
        conn.execute(
            """
            INSERT INTO library.downloads (track_id, state, priority, origin, attempts, searches, error, finished_at, updated_at)
            SELECT track_id, 'abandoned', 0, 'user', 0, 0, $error, $now, $now FROM unnest($ids) AS c(track_id)
            ON CONFLICT (track_id) DO UPDATE SET state = 'abandoned', error = excluded.error,
                finished_at = excluded.finished_at, updated_at = excluded.updated_at, speed_bps = NULL, eta_at = NULL
            """,
            {"ids": list(track_ids), "error": CANCELLED, "now": now},
        )
        conn.execute(
            "DELETE FROM library.download_requests WHERE list_contains($ids, track_id)", {"ids": list(track_ids)}
        )


def retry(conn: duckdb.DuckDBPyConnection, scope: str, entity_id: str | None, now: datetime) -> int:
    """Failed, not found and abandoned (or cancelled) downloads in scope start over: their tries are
    forgotten (attempts reset, candidates dropped) and the track is requested, so the merge makes it
    pending and the next downloads run (or the pending sensor) searches for it at once."""
    ids = [
        track_id
        for (track_id,) in conn.execute(
            f"""
            SELECT t.track_id FROM library.downloads d JOIN library.tracks t USING (track_id)
            WHERE {SCOPES[scope]} AND d.state IN ('failed', 'not_found', 'abandoned') AND t.ownership_state <> 'ignored'
            ORDER BY 1
            """,
            {"id": entity_id} if scope != "all" else {},
        ).fetchall()
    ]
    with transaction(conn):
        for table in ("downloads", "download_candidates"):
            conn.execute(f"DELETE FROM library.{table} WHERE list_contains($ids, track_id)", {"ids": ids})
        conn.execute(
            """
            INSERT INTO library.download_requests
            SELECT track_id, $now, 'user' FROM library.tracks
            WHERE list_contains($ids, track_id) AND download_state <> 'downloaded'
            ON CONFLICT (track_id) DO UPDATE SET requested_at = excluded.requested_at, origin = excluded.origin
            """,
            {"ids": ids, "now": now},
        )
    return len(ids)


def set_priority(
    conn: duckdb.DuckDBPyConnection, scope: str, entity_id: str | None, priority: int, now: datetime
) -> int:
    """The user's queue priority of the tracks in scope (higher is searched first; 0 is the default)."""
    return conn.execute(
        f"""
        INSERT INTO library.download_priorities
        SELECT t.track_id, $priority, $now FROM library.tracks t WHERE {SCOPES[scope]}
        ON CONFLICT (track_id) DO UPDATE SET priority = excluded.priority, set_at = excluded.set_at
        """,
        {"priority": priority, "now": now, **({"id": entity_id} if scope != "all" else {})},
    ).fetchall()[0][0]
