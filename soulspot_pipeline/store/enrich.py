"""The entities MusicBrainz can enrich, and writing what it says as sourced field values."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import duckdb
import pyarrow as pa

from soulspot_pipeline.store.sql import registered, run, transaction

_SCHEMA = pa.schema(
    [("entity_type", pa.string()), ("entity_id", pa.string()), ("field", pa.string()), ("value", pa.string())]
)


def load_targets(conn: duckdb.DuckDBPyConnection) -> tuple[list[tuple], list[tuple], list[tuple]]:
    """(artist id, MBID), (album id, release-group MBID, release MBID), (track id, recording MBID, its album's release MBID)."""
    artists = conn.execute(
        "SELECT artist_id, artist_mbid FROM library.artists WHERE artist_mbid IS NOT NULL AND ownership_state <> 'ignored' ORDER BY 1"
    ).fetchall()
    albums = conn.execute(
        "SELECT album_id, release_group_mbid, release_mbid FROM library.albums "
        "WHERE release_group_mbid IS NOT NULL AND ownership_state <> 'ignored' ORDER BY 1"
    ).fetchall()
    tracks = conn.execute(
        """
        SELECT t.track_id, t.recording_mbid, al.release_mbid FROM library.tracks t LEFT JOIN library.albums al USING (album_id)
        WHERE t.recording_mbid IS NOT NULL AND t.ownership_state <> 'ignored' ORDER BY 1
        """
    ).fetchall()
    return artists, albums, tracks


def write_metadata(
    conn: duckdb.DuckDBPyConnection, values: list[tuple[str, str, str, Any]], source: str, now: datetime
) -> dict[str, int]:
    """Store (entity_type, entity_id, field, value) from ``source``; None removes that source's value."""
    desired = pa.Table.from_pylist(
        [
            {"entity_type": t, "entity_id": i, "field": f, "value": None if v is None else json.dumps(v)}
            for t, i, f, v in values
        ],
        schema=_SCHEMA,
    )
    params = {"source": source, "now": now}
    with transaction(conn), registered(conn, desired=desired):
        removed = run(
            conn,
            """
            DELETE FROM library.entity_metadata m USING desired d
            WHERE m.entity_type = d.entity_type AND m.entity_id = d.entity_id AND m.field = d.field
              AND m.source = $source AND d.value IS NULL
            """,
            params,
        )
        changed = run(
            conn,
            """
            INSERT INTO library.entity_metadata SELECT entity_type, entity_id, field, $source, value::JSON, $now
            FROM desired WHERE value IS NOT NULL
            ON CONFLICT (entity_type, entity_id, field, source) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at
            WHERE entity_metadata.value::VARCHAR IS DISTINCT FROM excluded.value::VARCHAR
            """,
            params,
        )
    return {"written": changed, "removed": removed}
