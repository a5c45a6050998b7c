"""Reading the merge's inputs from the library and writing its result, in one transaction."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.library_merge import MergeResult, RegisteredKey, merge_local_files, superseded_states
from soulspot_pipeline.store.sql import registered, transaction

_LOCAL_FILE_COLUMNS = (
    "path, missing, format, duration_ms, bitrate, sample_rate, bit_depth, artist, albumartist, "
    "album, title, track_number, track_total, disc_number, date, isrc, recording_mbid, "
    "release_mbid, release_group_mbid, artist_mbid, albumartist_mbid"
)

# Per table: its key, the columns the local merge owns, and the identifiers that only
# accumulate (a file without an MBID never erases one learned elsewhere).
_TABLES: dict[str, tuple[str, dict[str, pa.DataType], frozenset[str]]] = {
    "artists": (
        "artist_id",
        {
            "artist_id": pa.string(),
            "name": pa.string(),
            "artist_mbid": pa.string(),
            "ownership_state": pa.string(),
            "primary_source": pa.string(),
        },
        frozenset({"artist_mbid"}),
    ),
    "albums": (
        "album_id",
        {
            "album_id": pa.string(),
            "title": pa.string(),
            "artist_id": pa.string(),
            "release_group_mbid": pa.string(),
            "release_mbid": pa.string(),
            "release_date": pa.string(),
            "total_tracks": pa.int32(),
            "ownership_state": pa.string(),
            "primary_source": pa.string(),
        },
        frozenset({"release_group_mbid", "release_mbid"}),
    ),
    "tracks": (
        "track_id",
        {
            "track_id": pa.string(),
            "title": pa.string(),
            "artist_id": pa.string(),
            "album_id": pa.string(),
            "isrc": pa.string(),
            "recording_mbid": pa.string(),
            "duration_ms": pa.int64(),
            "track_number": pa.int32(),
            "disc_number": pa.int32(),
            "ownership_state": pa.string(),
            "download_state": pa.string(),
            "primary_source": pa.string(),
            "local_path": pa.string(),
            "audio_format": pa.string(),
            "bitrate": pa.int32(),
            "sample_rate": pa.int32(),
            "bit_depth": pa.int32(),
        },
        frozenset({"isrc", "recording_mbid"}),
    ),
}


def load_local_files(conn: duckdb.DuckDBPyConnection) -> list[dict[str, Any]]:
    return conn.sql(f"SELECT {_LOCAL_FILE_COLUMNS} FROM library.local_files").pl().to_dicts()


def load_registry(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    return {
        (entity_type, key): entity_id
        for entity_type, key, entity_id in conn.execute(
            "SELECT entity_type, key, entity_id FROM library.entity_keys"
        ).fetchall()
    }


def load_file_matches(conn: duckdb.DuckDBPyConnection) -> dict[str, tuple[str, str]]:
    return {
        path: (track_id, rule)
        for path, track_id, rule in conn.execute("SELECT path, track_id, matched_by FROM library.track_files").fetchall()
    }


def load_identities(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = conn.execute(
        """
        SELECT artist_id, artist_mbid FROM library.artists WHERE artist_mbid IS NOT NULL
        UNION ALL SELECT album_id, release_group_mbid FROM library.albums WHERE release_group_mbid IS NOT NULL
        UNION ALL SELECT track_id, recording_mbid FROM library.tracks WHERE recording_mbid IS NOT NULL
        """
    ).fetchall()
    return dict(rows)


def load_local_states(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = conn.execute(
        """
        SELECT artist_id, ownership_state FROM library.artists WHERE primary_source = 'local'
        UNION ALL SELECT album_id, ownership_state FROM library.albums WHERE primary_source = 'local'
        UNION ALL SELECT track_id, ownership_state FROM library.tracks WHERE primary_source = 'local'
        """
    ).fetchall()
    return dict(rows)


def write_merge(
    conn: duckdb.DuckDBPyConnection, result: MergeResult, superseded: dict[str, str]
) -> dict[str, dict[str, int]]:
    """Apply the merge: insert new entities, update changed ones, nothing else.

    Returns per table the rows inserted, updated and superseded; unchanged input
    changes no row (and no ``updated_at``).
    """
    now = datetime.now(UTC).replace(tzinfo=None)
    counts: dict[str, dict[str, int]] = {}
    with transaction(conn):
        for table, rows in (("artists", result.artists), ("albums", result.albums), ("tracks", result.tracks)):
            counts[table] = _upsert(conn, table, list(rows.values()), now)
            counts[table]["superseded"] = _supersede(conn, table, superseded, now)
        keys = pa.Table.from_pylist(
            [_key_dict(k) for k in result.new_keys],
            schema=pa.schema([(n, pa.string()) for n in ("entity_type", "key", "entity_id", "rule")]),
        )
        with registered(conn, new_keys=keys):
            conn.execute(
                "INSERT INTO library.entity_keys SELECT entity_type, key, entity_id, rule, ? FROM new_keys "
                "ON CONFLICT DO NOTHING",
                [now],
            )
        counts["track_files"] = _replace_track_files(conn, result.track_files)
    return counts


def _key_dict(key: RegisteredKey) -> dict[str, str]:
    return {"entity_type": key.entity_type, "key": key.key, "entity_id": key.entity_id, "rule": key.rule}


def _upsert(conn: duckdb.DuckDBPyConnection, table: str, rows: list[dict], now: datetime) -> dict[str, int]:
    id_column, schema, accumulating = _TABLES[table]
    desired = pa.Table.from_pylist(rows, schema=pa.schema(list(schema.items())))
    columns = list(schema)
    with registered(conn, desired=desired):
        inserted = conn.execute(
            f"""
            INSERT INTO library.{table} ({", ".join(columns)}, created_at, updated_at)
            SELECT {", ".join(columns)}, $now, $now FROM desired d
            WHERE NOT EXISTS (SELECT 1 FROM library.{table} t WHERE t.{id_column} = d.{id_column})
            """,
            {"now": now},
        ).fetchall()[0][0]
        value = {c: (f"coalesce(d.{c}, t.{c})" if c in accumulating else f"d.{c}") for c in columns if c != id_column}
        updated = conn.execute(
            f"""
            UPDATE library.{table} t
            SET {", ".join(f"{c} = {expr}" for c, expr in value.items())}, updated_at = $now
            FROM desired d
            WHERE t.{id_column} = d.{id_column}
              AND ({" OR ".join(f"t.{c} IS DISTINCT FROM {expr}" for c, expr in value.items())})
            """,
            {"now": now},
        ).fetchall()[0][0]
    return {"inserted": inserted, "updated": updated}


def _supersede(conn: duckdb.DuckDBPyConnection, table: str, states: dict[str, str], now: datetime) -> int:
    id_column = _TABLES[table][0]
    stale = pa.table({"entity_id": list(states), "state": list(states.values())}, schema=pa.schema([("entity_id", pa.string()), ("state", pa.string())]))
    extra = ", download_state = 'not_needed', local_path = NULL" if table == "tracks" else ""
    distinct = " OR t.download_state <> 'not_needed' OR t.local_path IS NOT NULL" if table == "tracks" else ""
    with registered(conn, stale=stale):
        return conn.execute(
            f"""
            UPDATE library.{table} t SET ownership_state = s.state{extra}, updated_at = ?
            FROM stale s
            WHERE t.{id_column} = s.entity_id AND (t.ownership_state <> s.state{distinct})
            """,
            [now],
        ).fetchall()[0][0]


def _replace_track_files(conn: duckdb.DuckDBPyConnection, track_files: list[tuple[str, str, str, bool]]) -> dict[str, int]:
    desired = pa.table(
        {
            "path": [t[0] for t in track_files],
            "track_id": [t[1] for t in track_files],
            "matched_by": [t[2] for t in track_files],
            "is_primary": [t[3] for t in track_files],
        },
        schema=pa.schema([("path", pa.string()), ("track_id", pa.string()), ("matched_by", pa.string()), ("is_primary", pa.bool_())]),
    )
    with registered(conn, desired_files=desired):
        removed = conn.execute(
            """
            DELETE FROM library.track_files t WHERE NOT EXISTS (
                SELECT 1 FROM desired_files d WHERE d.path = t.path AND d.track_id = t.track_id
                AND d.matched_by = t.matched_by AND d.is_primary = t.is_primary)
            """
        ).fetchall()[0][0]
        inserted = conn.execute(
            """
            INSERT INTO library.track_files SELECT * FROM desired_files d
            WHERE NOT EXISTS (SELECT 1 FROM library.track_files t WHERE t.path = d.path)
            """
        ).fetchall()[0][0]
    return {"inserted": inserted, "removed": removed}


def merge_local_library(conn: duckdb.DuckDBPyConnection, *, auto_queue: bool) -> tuple[int, MergeResult, dict[str, dict[str, int]]]:
    """Read the local files and what the library knows, merge, write: (files, result, changes)."""
    files = load_local_files(conn)
    previous = load_local_states(conn)
    result = merge_local_files(
        files,
        load_registry(conn),
        load_identities(conn),
        previous,
        auto_queue=auto_queue,
        previous_matches=load_file_matches(conn),
    )
    current_ids = [*result.artists, *result.albums, *result.tracks]
    changes = write_merge(conn, result, superseded_states(previous, current_ids))
    return len(files), result, changes
