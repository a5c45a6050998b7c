"""Whether anything the library merge reads changed since a merge last wrote: its fingerprint.

The merge reads every source table and its own earlier output (keys, links, states), and a
second merge of the same inputs changes nothing. So a fingerprint of all of it, taken after a
merge has written, tells the next one whether it would change anything: when it is the same,
the merge need not read a row into Python. The fingerprint is computed in SQL, a row hash
per table (the count, the XOR and the sum of the hashes), with the settings the merge obeys
and the source of the modules that decide it, so a new version of the rules merges again.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from pathlib import Path
from types import ModuleType

import duckdb

# Every table the merge reads (store/entities.load_inputs) or writes and reads back.
MERGE_TABLES: tuple[str, ...] = (
    "local_files",
    "file_checks",
    "cloud_artists",
    "cloud_albums",
    "cloud_tracks",
    "cloud_album_tracks",
    "cloud_likes",
    "cloud_playlists",
    "cloud_playlist_items",
    "playlist_modes",
    "wanted_tracks",
    "request_items",
    "request_tracks",
    "entity_keys",
    "artists",
    "albums",
    "tracks",
    "track_files",
    "source_links",
    "entity_aliases",
    "user_decisions",
    "download_requests",
    "downloads",
    "identifications",
    "entity_metadata",
    "field_sources",
    "playlists",
    "playlist_tracks",
    "duplicate_files",
)


def code_version(*modules: ModuleType) -> str:
    """A digest of the modules' source: the merge's rules as this version has them."""
    digest = hashlib.sha256()
    for module in modules:
        digest.update(Path(module.__file__ or "").read_bytes())
    return digest.hexdigest()[:16]


def fingerprint(conn: duckdb.DuckDBPyConnection, *context: str, tables: tuple[str, ...] = MERGE_TABLES) -> str:
    """The state of everything the merge reads, with ``context`` (settings, code version)."""
    rows = conn.execute(
        " UNION ALL ".join(
            f"SELECT '{table}', count(*), bit_xor(hash(t)), sum(hash(t)) FROM library.{table} t" for table in tables
        )
    ).fetchall()
    digest = hashlib.sha256()
    for part in (*context, *(repr(row) for row in rows)):
        digest.update(part.encode())
        digest.update(b"\0")
    return digest.hexdigest()


def last_merge(conn: duckdb.DuckDBPyConnection) -> tuple[str, datetime] | None:
    """The fingerprint the last merge left, and when it merged."""
    rows = conn.execute("SELECT fingerprint, merged_at FROM library.merge_state").fetchall()
    return (rows[0][0], rows[0][1]) if rows else None


def record_merge(conn: duckdb.DuckDBPyConnection, value: str, now: datetime) -> None:
    conn.execute("DELETE FROM library.merge_state")
    conn.execute("INSERT INTO library.merge_state VALUES (?, ?)", [value, now])
