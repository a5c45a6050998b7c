"""The duplicate files of the library (``library.duplicate_files``, shown by ``library.duplicates``)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.file_choice import duplicate_groups
from soulspot_pipeline.store.sql import registered, transaction

# Present files sharing a track or an audio hash with another, with what decides between them:
# the merge's columns, the track they became, and the decode check of their current bytes (a
# check of older bytes says nothing). Only these few reach Python.
_FILES = """
SELECT l.path, l.format, l.bitrate, l.bit_depth, l.sample_rate, l.artist, l.albumartist, l.album, l.title,
       l.track_number, l.disc_number, l.disc_total, l.date, l.recording_mbid, l.release_mbid,
       l.release_group_mbid, l.artist_mbid, l.albumartist_mbid, l.first_seen_at,
       f.track_id, c.audio_hash, coalesce(c.status <> 'ok', false) AS broken
FROM library.local_files l
LEFT JOIN library.track_files f ON f.path = l.path
LEFT JOIN library.file_checks c ON c.path = l.path AND c.size = l.size AND c.mtime_ns = l.mtime_ns
WHERE NOT l.missing
QUALIFY (f.track_id IS NOT NULL AND count(*) OVER (PARTITION BY f.track_id) > 1)
     OR (c.audio_hash IS NOT NULL AND count(*) OVER (PARTITION BY c.audio_hash) > 1)
"""

_SCHEMA = pa.schema(
    [
        ("path", pa.string()),
        ("group_id", pa.string()),
        ("kind", pa.string()),
        ("track_id", pa.string()),
        ("rank", pa.int32()),
        ("kept", pa.bool_()),
        ("reason", pa.string()),
    ]
)


def write_duplicates(conn: duckdb.DuckDBPyConnection, now: datetime) -> dict[str, int]:
    """Find the duplicate groups of the files on disk and replace ``library.duplicate_files``
    with them; returns the groups and the extra copies (files not kept)."""
    grouped = duplicate_groups(conn.sql(_FILES).pl().to_dicts())
    table = pa.Table.from_pylist(
        [
            {
                "path": g.path,
                "group_id": g.group_id,
                "kind": g.kind,
                "track_id": g.track_id,
                "rank": g.rank,
                "kept": g.kept,
                "reason": g.reason,
            }
            for g in grouped
        ],
        schema=_SCHEMA,
    )
    with transaction(conn), registered(conn, grouped_files=table):
        conn.execute("DELETE FROM library.duplicate_files")
        conn.execute("INSERT INTO library.duplicate_files SELECT *, ? FROM grouped_files", [now])
    return {"groups": sum(g.kept for g in grouped), "extra_files": sum(not g.kept for g in grouped)}


@dataclass(frozen=True)
class ExtraCopy:
    """A file the library does not keep, with the file kept instead and the facts it was judged on."""

    group_id: str
    path: str
    size: int
    mtime_ns: int
    reason: str
    kept_path: str
    kept_size: int


def extra_copies(conn: duckdb.DuckDBPyConnection, track_ids: Sequence[str] | None = None) -> list[ExtraCopy]:
    """Every file of ``library.duplicates`` that is not kept; with ``track_ids``, only in groups
    holding a file of one of those tracks."""
    rows = conn.execute(
        """
        SELECT d.group_id, d.path, l.size, l.mtime_ns, d.reason, k.path, kl.size
        FROM library.duplicate_files d
        JOIN library.local_files l ON l.path = d.path
        JOIN library.duplicate_files k ON k.group_id = d.group_id AND k.kept
        JOIN library.local_files kl ON kl.path = k.path
        WHERE NOT d.kept AND ($track_ids IS NULL OR d.group_id IN (
            SELECT group_id FROM library.duplicate_files WHERE list_contains($track_ids, track_id)))
        ORDER BY d.group_id, d.rank
        """,
        {"track_ids": list(track_ids) if track_ids is not None else None},
    ).fetchall()
    return [ExtraCopy(*row) for row in rows]


def tracks_left_without_a_file(conn: duckdb.DuckDBPyConnection, moved: Sequence[str]) -> list[str]:
    """The tracks of ``moved`` files (as the last merge filed them) that have no file on disk
    any more: their audio is kept as another track's file (the same audio, tagged otherwise)."""
    return [
        track_id
        for (track_id,) in conn.execute(
            """
            SELECT DISTINCT f.track_id FROM library.track_files f
            WHERE list_contains($moved, f.path) AND NOT EXISTS (
                SELECT 1 FROM library.track_files g JOIN library.local_files l ON l.path = g.path
                WHERE g.track_id = f.track_id AND NOT l.missing)
            ORDER BY 1
            """,
            {"moved": list(moved)},
        ).fetchall()
    ]
