"""``library.file_checks``: which scanned files await a decode, and each file's verdict."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.audio_health import BROKEN, OK, TRUNCATED, Decoded, FileToCheck, Verdict
from soulspot_pipeline.domain.file_record import storable_message
from soulspot_pipeline.domain.notify import Event
from soulspot_pipeline.store import notifications
from soulspot_pipeline.store.sql import registered, transaction

# The present files with a check of their current size and mtime, and the rest.
_CURRENT = """
FROM library.local_files l
LEFT JOIN library.file_checks c ON c.path = l.path AND c.size = l.size AND c.mtime_ns = l.mtime_ns
WHERE NOT l.missing
"""


def present_files(conn: duckdb.DuckDBPyConnection) -> list[FileToCheck]:
    """Every file on disk, the most recently scanned first: a new download is decoded before an
    old backlog."""
    return [
        FileToCheck(path, size, mtime_ns, duration_ms / 1000 if duration_ms else None)
        for path, size, mtime_ns, duration_ms in conn.execute(
            "SELECT path, size, mtime_ns, duration_ms FROM library.local_files WHERE NOT missing "
            "ORDER BY scanned_at DESC, path"
        ).fetchall()
    ]


def checked_files(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[int, int]]:
    """The size and mtime each check was made at, by path."""
    return {
        path: (size, mtime_ns)
        for path, size, mtime_ns in conn.execute("SELECT path, size, mtime_ns FROM library.file_checks").fetchall()
    }


_SCHEMA = pa.schema(
    [
        pa.field("path", pa.string(), nullable=False),
        pa.field("size", pa.int64(), nullable=False),
        pa.field("mtime_ns", pa.int64(), nullable=False),
        pa.field("status", pa.string(), nullable=False),
        pa.field("reason", pa.string()),
        pa.field("error_at_s", pa.float64()),
        pa.field("header_s", pa.float64()),
        pa.field("decoded_s", pa.float64()),
        pa.field("audio_hash", pa.string()),
        pa.field("codec", pa.string()),
    ]
)
_UPDATES = ", ".join(f"{name} = excluded.{name}" for name in [*_SCHEMA.names[1:], "checked_at"])


def write_checks(
    conn: duckdb.DuckDBPyConnection,
    checks: list[tuple[FileToCheck, Decoded, Verdict]],
    now: datetime,
    events: Sequence[Event] = (),
) -> None:
    """Store a batch of verdicts and their notification ``events`` (files found broken) in one
    transaction: a file's newer check replaces its older one."""
    rows = [
        {
            "path": file.path,
            "size": file.size,
            "mtime_ns": file.mtime_ns,
            "status": verdict.status,
            "reason": storable_message(verdict.reason),
            "error_at_s": verdict.error_at_s,
            "header_s": verdict.header_s,
            "decoded_s": decoded.decoded_s,
            "audio_hash": decoded.audio_hash,
            "codec": decoded.codec,
        }
        for file, decoded, verdict in checks
    ]
    if not rows:
        return
    with registered(conn, checks=pa.Table.from_pylist(rows, schema=_SCHEMA)), transaction(conn):
        conn.execute(
            f"INSERT INTO library.file_checks SELECT *, $now FROM checks ON CONFLICT (path) DO UPDATE SET {_UPDATES}",
            {"now": now},
        )
        notifications.record(conn, events, now)


@dataclass(frozen=True)
class LibraryHealth:
    """The present files by the status of their current check; ``unchecked``: none yet."""

    ok: int
    broken: int
    truncated: int
    unchecked: int
    rows: int  # in library.file_checks, vanished files' checks included


def library_health(conn: duckdb.DuckDBPyConnection) -> LibraryHealth:
    ok, broken, truncated, unchecked = conn.execute(
        f"""
        SELECT count(*) FILTER (c.status = '{OK}'), count(*) FILTER (c.status = '{BROKEN}'),
               count(*) FILTER (c.status = '{TRUNCATED}'), count(*) FILTER (c.path IS NULL)
        {_CURRENT}
        """
    ).fetchall()[0]
    (rows,) = conn.execute("SELECT count(*) FROM library.file_checks").fetchall()[0]
    return LibraryHealth(ok, broken, truncated, unchecked, rows)


def flagged_files(conn: duckdb.DuckDBPyConnection, limit: int = 10) -> list[tuple]:
    """The present files whose current check found them broken or truncated, newest first."""
    return conn.execute(
        f"SELECT l.path, c.status, c.reason {_CURRENT} AND c.status <> '{OK}' ORDER BY c.checked_at DESC, l.path LIMIT ?",
        [limit],
    ).fetchall()
