"""Reading the merge's inputs from the library and writing its result, in one transaction."""

from __future__ import annotations

import dataclasses
import functools
import json
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.library_merge import (
    MergeInputs,
    MergeResult,
    merge_library,
    superseded_states,
)
from soulspot_pipeline.domain.ownership import Decision
from soulspot_pipeline.store.requests import load_requested_tracks
from soulspot_pipeline.store.sql import registered, transaction, upsert, utc_now

# What a write changed in one table: rows by kind (inserted, updated, ...); the playlists'
# counts nest their tracks' under "tracks".
TableChanges = Mapping[str, "int | Mapping[str, int]"]

# What the merge reads of a file, and which of those columns repeat from file to file (an
# album's artist, title, date, format...): each distinct value of those is kept once in memory.
_LOCAL_FILE_COLUMNS = (
    "path",
    "missing",
    "format",
    "duration_ms",
    "bitrate",
    "sample_rate",
    "bit_depth",
    "artist",
    "albumartist",
    "album",
    "title",
    "track_number",
    "track_total",
    "disc_number",
    "disc_total",
    "date",
    "isrc",
    "recording_mbid",
    "release_mbid",
    "release_group_mbid",
    "artist_mbid",
    "albumartist_mbid",
    "first_seen_at",
)
_SHARED_FILE_COLUMNS = frozenset(
    {
        "format",
        "duration_ms",
        "bitrate",
        "sample_rate",
        "bit_depth",
        "artist",
        "albumartist",
        "album",
        "date",
        "release_mbid",
        "release_group_mbid",
        "artist_mbid",
        "albumartist_mbid",
        "first_seen_at",
    }
)
_FETCH_ROWS = 10_000


class FileRow(Mapping[str, Any]):
    """One row of ``load_local_files``: a read-only mapping over a tuple (a dict per file
    costs some 1.2 KB more at 26 columns; 100,000 files are read at once)."""

    __slots__ = ("_values",)
    _index: ClassVar[dict[str, int]]  # set below, once the columns are known

    def __init__(self, values: tuple[Any, ...]):
        self._values = values

    def __getitem__(self, key: str) -> Any:
        return self._values[self._index[key]]

    def get(self, key: str, default: Any = None) -> Any:
        i = self._index.get(key)
        return default if i is None else self._values[i]

    def __iter__(self) -> Iterator[str]:
        return iter(self._index)

    def __len__(self) -> int:
        return len(self._index)

    def __repr__(self) -> str:
        return f"FileRow({dict(self)!r})"


FileRow._index = {name: i for i, name in enumerate((*_LOCAL_FILE_COLUMNS, "broken", "audio_hash"))}

# Per table: its key, the columns the merge owns, and the identifiers that only
# accumulate (a source without an MBID never erases one learned elsewhere).
_TABLES: dict[str, tuple[str, dict[str, pa.DataType], frozenset[str]]] = {
    "artists": (
        "artist_id",
        {
            "artist_id": pa.string(),
            "name": pa.string(),
            "artist_mbid": pa.string(),
            "spotify_id": pa.string(),
            "deezer_id": pa.string(),
            "sort_name": pa.string(),
            "genres": pa.list_(pa.string()),
            "tags": pa.list_(pa.string()),
            "country": pa.string(),
            "artist_type": pa.string(),
            "disambiguation": pa.string(),
            "ownership_state": pa.string(),
            "primary_source": pa.string(),
        },
        frozenset({"artist_mbid", "spotify_id", "deezer_id"}),
    ),
    "albums": (
        "album_id",
        {
            "album_id": pa.string(),
            "title": pa.string(),
            "artist_id": pa.string(),
            "release_group_mbid": pa.string(),
            "release_mbid": pa.string(),
            "spotify_id": pa.string(),
            "deezer_id": pa.string(),
            "album_type": pa.string(),
            "secondary_types": pa.list_(pa.string()),
            "release_date": pa.string(),
            "total_tracks": pa.int32(),
            "medium_count": pa.int32(),
            "genres": pa.list_(pa.string()),
            "tags": pa.list_(pa.string()),
            "country": pa.string(),
            "ownership_state": pa.string(),
            "primary_source": pa.string(),
        },
        frozenset({"release_group_mbid", "release_mbid", "spotify_id", "deezer_id"}),
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
            "spotify_id": pa.string(),
            "deezer_id": pa.string(),
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
        frozenset({"isrc", "recording_mbid", "spotify_id", "deezer_id"}),
    ),
}


def load_local_files(conn: duckdb.DuckDBPyConnection) -> list[FileRow]:
    """Every file row, with what the decode check of this very size and mtime found (a verdict
    on an earlier version of the file does not count): ``broken`` (broken or truncated), and
    the ``audio_hash`` of a good file. Streamed in batches (a DB-API result would hold every
    row in DuckDB's memory until the last is read), each repeated value kept once."""
    reader = conn.sql(
        f"""
        SELECT {", ".join(_LOCAL_FILE_COLUMNS)},
               coalesce(v.status IN ('broken', 'truncated'), false) AS broken,
               CASE WHEN v.status = 'ok' THEN v.audio_hash END AS audio_hash
        FROM library.local_files
        LEFT JOIN (
            SELECT path AS checked, size AS checked_size, mtime_ns AS checked_mtime_ns, status, audio_hash
            FROM library.file_checks
        ) v ON v.checked = path AND v.checked_size = size AND v.checked_mtime_ns = mtime_ns
        """
    ).to_arrow_reader(_FETCH_ROWS)
    shared = [name in _SHARED_FILE_COLUMNS for name in FileRow._index]
    seen: dict[Any, Any] = {}
    rows: list[FileRow] = []
    for batch in reader:
        for values in zip(*(column.to_pylist() for column in batch.columns), strict=True):
            rows.append(
                FileRow(
                    tuple(
                        seen.setdefault(v, v) if share and v is not None else v
                        for v, share in zip(values, shared, strict=True)
                    )
                )
            )
    return rows


# An item is owned by a source while its like (save, follow) is active. Tracks are also
# owned through an active saved album, or a playlist the user set to `own`; the latest
# of those moments is when the ownership began (what a removal is compared with).
_CLOUD_ARTISTS = """
SELECT a.source, a.artist_id, a.name, a.genres, l.liked_since AS owned_since
FROM library.cloud_artists a
LEFT JOIN library.cloud_likes l
  ON l.source = a.source AND l.kind = 'artist' AND l.item_id = a.artist_id AND l.unliked_at IS NULL
"""

_CLOUD_ALBUMS = """
SELECT a.source, a.album_id, a.title, a.artist_id, a.artist_name, a.album_type, a.release_date,
       a.total_tracks, a.upc, l.liked_since AS owned_since
FROM library.cloud_albums a
LEFT JOIN library.cloud_likes l
  ON l.source = a.source AND l.kind = 'album' AND l.item_id = a.album_id AND l.unliked_at IS NULL
"""

_CLOUD_TRACKS = """
WITH owning AS (
    SELECT source, item_id AS track_id, liked_since AS since FROM library.cloud_likes
    WHERE kind = 'track' AND unliked_at IS NULL
    UNION ALL
    SELECT t.source, t.track_id, l.liked_since FROM library.cloud_album_tracks t
    JOIN library.cloud_likes l ON l.source = t.source AND l.kind = 'album' AND l.item_id = t.album_id
    WHERE l.unliked_at IS NULL
    UNION ALL
    SELECT i.source, i.track_id, m.decided_at FROM library.cloud_playlist_items i
    JOIN library.cloud_playlists p ON p.source = i.source AND p.playlist_id = i.playlist_id AND p.removed_at IS NULL
    JOIN library.playlist_modes m ON m.source = i.source AND m.playlist_id = i.playlist_id AND m.sync_mode = 'own'
),
referenced AS (
    SELECT source, item_id AS track_id FROM library.cloud_likes WHERE kind = 'track'
    UNION SELECT source, track_id FROM library.cloud_album_tracks
    UNION SELECT i.source, i.track_id FROM library.cloud_playlist_items i
    LEFT JOIN library.playlist_modes m ON m.source = i.source AND m.playlist_id = i.playlist_id
    WHERE coalesce(m.sync_mode, 'reference') <> 'disabled'
)
SELECT t.source, t.track_id, t.title, t.artist_id, t.artist_name, t.album_id, t.isrc, t.duration_ms,
       t.track_number, t.disc_number, (SELECT max(o.since) FROM owning o WHERE o.source = t.source AND o.track_id = t.track_id) AS owned_since
FROM library.cloud_tracks t
WHERE EXISTS (SELECT 1 FROM referenced r WHERE r.source = t.source AND r.track_id = t.track_id)
"""


def load_registry(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], str]:
    return {
        (entity_type, key): entity_id
        for entity_type, key, entity_id in conn.execute(
            "SELECT entity_type, key, entity_id FROM library.entity_keys"
        ).fetchall()
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


def load_states(conn: duckdb.DuckDBPyConnection) -> dict[str, str]:
    rows = conn.execute(
        """
        SELECT artist_id, ownership_state FROM library.artists
        UNION ALL SELECT album_id, ownership_state FROM library.albums
        UNION ALL SELECT track_id, ownership_state FROM library.tracks
        """
    ).fetchall()
    return dict(rows)


def load_metadata(conn: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], dict[str, dict[str, Any]]]:
    metadata: dict[tuple[str, str], dict[str, dict[str, Any]]] = {}
    for entity_type, entity_id, field, source, value in conn.execute(
        "SELECT entity_type, entity_id, field, source, value FROM library.entity_metadata"
    ).fetchall():
        metadata.setdefault((entity_type, entity_id), {}).setdefault(field, {})[source] = json.loads(value)
    return metadata


def load_inputs(
    conn: duckdb.DuckDBPyConnection, *, auto_queue: bool, source_order: tuple[str, ...], metadata_order: tuple[str, ...]
) -> MergeInputs:
    return MergeInputs(
        local_files=load_local_files(conn),
        cloud_artists=conn.sql(_CLOUD_ARTISTS).pl().to_dicts(),
        cloud_albums=conn.sql(_CLOUD_ALBUMS).pl().to_dicts(),
        cloud_tracks=conn.sql(_CLOUD_TRACKS).pl().to_dicts(),
        wanted_tracks=conn.sql("SELECT * FROM library.wanted_tracks").pl().to_dicts(),
        requested_tracks=load_requested_tracks(conn),
        registry=load_registry(conn),
        identities=load_identities(conn),
        previous_states=load_states(conn),
        previous_matches={
            path: (track_id, rule)
            for path, track_id, rule in conn.execute(
                "SELECT path, track_id, matched_by FROM library.track_files"
            ).fetchall()
        },
        previous_links={
            (entity_type, source, source_id): (entity_id, rule, score)
            for entity_type, source, source_id, entity_id, rule, score in conn.execute(
                "SELECT entity_type, source, source_id, entity_id, matched_by, score FROM library.source_links"
            ).fetchall()
        },
        decisions={
            entity_id: Decision(decision, decided_at)
            for entity_id, decision, decided_at in conn.execute(
                "SELECT entity_id, decision, decided_at FROM library.user_decisions"
            ).fetchall()
        },
        requests=dict(conn.execute("SELECT track_id, requested_at FROM library.download_requests").fetchall()),
        transfers={
            track_id: (state, updated_at)
            for track_id, state, updated_at in conn.execute(
                "SELECT track_id, state, updated_at FROM library.downloads"
            ).fetchall()
        },
        identified={
            (entity_type, entity_id): (mbid, release_mbid)
            for entity_type, entity_id, mbid, release_mbid in conn.execute(
                "SELECT entity_type, entity_id, mbid, release_mbid FROM library.identifications WHERE status = 'accepted'"
            ).fetchall()
        },
        metadata=load_metadata(conn),
        source_order=source_order,
        metadata_order=metadata_order,
        auto_queue=auto_queue,
    )


# DuckDB's memory while the merge writes and commits, by the rows it writes: under it, DuckDB
# spills what the transaction holds to its temp directory instead of keeping all of it beside
# what the merge leaves in the process. 100,000 files (540,000 rows) need some 80 MB; this is
# twice that, so that a write needing more even so (it then runs again without it) is rare.
_WRITE_MEMORY_PER_ROW = 300  # bytes
_WRITE_MEMORY_MIN_MB = 100


def write_merge(
    conn: duckdb.DuckDBPyConnection, rows: MergeRows, superseded: dict[str, str]
) -> dict[str, TableChanges]:
    """Apply the merge: insert new entities, update changed ones, nothing else.

    Returns per table the rows inserted, updated and superseded; unchanged input
    changes no row (and no ``updated_at``).
    """
    if _memory_limit(conn) != _default_memory_limit():
        return _write_merge(conn, rows, superseded)  # a limit the connection was given is kept
    written = sum(table.num_rows for table in rows.tables.values())
    limit_mb = max(_WRITE_MEMORY_MIN_MB, written * _WRITE_MEMORY_PER_ROW // 2**20)
    try:
        conn.execute(f"SET memory_limit = '{limit_mb}MiB'")
        return _write_merge(conn, rows, superseded)
    except duckdb.Error as exc:
        if not _out_of_memory(exc):
            raise
        conn.execute("RESET memory_limit")
        return _write_merge(conn, rows, superseded)
    finally:
        conn.execute("RESET memory_limit")  # a setting changes only outside a failed transaction


def _out_of_memory(exc: BaseException | None) -> bool:
    """Whether DuckDB ran out of memory: a statement's error, or a failed COMMIT's (which names
    it), found under the error of the ROLLBACK that follows a COMMIT that already rolled back."""
    while exc is not None:
        if isinstance(exc, duckdb.OutOfMemoryException) or "Out of Memory Error" in str(exc):
            return True
        exc = exc.__context__
    return False


def _memory_limit(conn: duckdb.DuckDBPyConnection) -> str:
    return conn.execute("SELECT current_setting('memory_limit')").fetchall()[0][0]


@functools.cache
def _default_memory_limit() -> str:
    """DuckDB's own memory limit on this machine (``RESET`` goes back to it, not to a configured one)."""
    with duckdb.connect() as probe:
        return _memory_limit(probe)


def _write_merge(
    conn: duckdb.DuckDBPyConnection, rows: MergeRows, superseded: dict[str, str]
) -> dict[str, TableChanges]:
    now = utc_now()
    counts: dict[str, TableChanges] = {}
    with transaction(conn):
        for table in ("artists", "albums", "tracks"):
            id_column, _, accumulating = _TABLES[table]
            counts[table] = {
                **upsert(conn, table, (id_column,), rows.tables[table], now=now, accumulating=accumulating),
                "superseded": _supersede(conn, table, superseded, now),
            }
        _insert_keys(conn, rows.tables["entity_keys"], now)
        counts["aliases"] = _write_aliases(conn, rows.aliases, now)
        counts["track_files"] = _replace_track_files(conn, rows.tables["track_files"])
        counts["source_links"] = upsert(
            conn, "source_links", ("entity_type", "source", "source_id"), rows.tables["source_links"], now=now
        )
        counts["field_sources"] = _write_field_sources(conn, rows.tables["field_sources"])
        counts["playlists"] = _write_playlists(conn, now)
    return counts


def _write_aliases(
    conn: duckdb.DuckDBPyConnection, aliases: list[tuple[str, str, str, str]], now: datetime
) -> dict[str, int]:
    """Entities found to be one: keys, decisions and requests move to the one that stays,
    the alias is remembered, and its row goes (everything in it now lives on the other)."""
    tables = {"artist": ("artists", "artist_id"), "album": ("albums", "album_id"), "track": ("tracks", "track_id")}
    for entity_type, alias_id, entity_id, reason in aliases:
        table, id_column = tables[entity_type]
        params = [entity_id, entity_type, alias_id]
        conn.execute("UPDATE library.entity_keys SET entity_id = ? WHERE entity_type = ? AND entity_id = ?", params)
        conn.execute(
            "UPDATE library.user_decisions SET entity_id = ? WHERE entity_type = ? AND entity_id = ? AND NOT EXISTS "
            "(SELECT 1 FROM library.user_decisions d WHERE d.entity_type = user_decisions.entity_type AND d.entity_id = ?)",
            [*params, entity_id],
        )
        if entity_type == "track":
            conn.execute(
                "UPDATE library.download_requests SET track_id = ? WHERE track_id = ? AND NOT EXISTS "
                "(SELECT 1 FROM library.download_requests r WHERE r.track_id = ?)",
                [entity_id, alias_id, entity_id],
            )
        conn.execute(
            "INSERT INTO library.entity_aliases VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
            [entity_type, alias_id, entity_id, reason, now],
        )
        conn.execute(f"DELETE FROM library.{table} WHERE {id_column} = ?", [alias_id])
    return {"merged": len(aliases)}


def _write_field_sources(conn: duckdb.DuckDBPyConnection, desired: pa.Table) -> dict[str, int]:
    with registered(conn, desired_sources=desired):
        removed = conn.execute(
            """
            DELETE FROM library.field_sources f WHERE NOT EXISTS (
                SELECT 1 FROM desired_sources d WHERE d.entity_type = f.entity_type AND d.entity_id = f.entity_id
                AND d.field = f.field AND d.source = f.source)
            """
        ).fetchall()[0][0]
        inserted = conn.execute(
            """
            INSERT INTO library.field_sources SELECT * FROM desired_sources d WHERE NOT EXISTS (
                SELECT 1 FROM library.field_sources f WHERE d.entity_type = f.entity_type AND d.entity_id = f.entity_id
                AND d.field = f.field)
            """
        ).fetchall()[0][0]
    return {"inserted": inserted, "removed": removed}


def _insert_keys(conn: duckdb.DuckDBPyConnection, new_keys: pa.Table, now: datetime) -> None:
    """The keys the merge registered: new ones (it read every key of the table, and this
    connection is its one writer), so a plain insert, not one checking each for a conflict."""
    with registered(conn, new_keys=new_keys):
        conn.execute("INSERT INTO library.entity_keys SELECT entity_type, key, entity_id, rule, ? FROM new_keys", [now])


def _supersede(conn: duckdb.DuckDBPyConnection, table: str, states: dict[str, str], now: datetime) -> int:
    id_column = _TABLES[table][0]
    stale = pa.table(
        {"entity_id": list(states), "state": list(states.values())},
        schema=pa.schema([("entity_id", pa.string()), ("state", pa.string())]),
    )
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


def _replace_track_files(conn: duckdb.DuckDBPyConnection, desired: pa.Table) -> dict[str, int]:
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


def _write_playlists(conn: duckdb.DuckDBPyConnection, now: datetime) -> TableChanges:
    """The playlists as the library shows them, their tracks resolved to library tracks."""
    desired = conn.sql(
        """
        SELECT p.source || ':' || p.playlist_id AS playlist_id, p.source, p.playlist_id AS source_playlist_id,
               p.name, p.owner, coalesce(m.sync_mode, 'reference') AS sync_mode, p.track_count,
               p.removed_at IS NOT NULL AS removed
        FROM library.cloud_playlists p
        LEFT JOIN library.playlist_modes m ON m.source = p.source AND m.playlist_id = p.playlist_id
        """
    ).to_arrow_table()
    counts = upsert(conn, "playlists", ("playlist_id",), desired, now=now)
    tracks = conn.sql(
        """
        SELECT i.source || ':' || i.playlist_id AS playlist_id, min(i.position) AS position, l.entity_id AS track_id
        FROM library.cloud_playlist_items i
        JOIN library.source_links l ON l.entity_type = 'track' AND l.source = i.source AND l.source_id = i.track_id
        LEFT JOIN library.playlist_modes m ON m.source = i.source AND m.playlist_id = i.playlist_id
        WHERE coalesce(m.sync_mode, 'reference') <> 'disabled'
        GROUP BY ALL
        """
    ).to_arrow_table()
    with registered(conn, desired_items=tracks):
        removed = conn.execute(
            """
            DELETE FROM library.playlist_tracks t WHERE NOT EXISTS (
                SELECT 1 FROM desired_items d WHERE d.playlist_id = t.playlist_id AND d.track_id = t.track_id)
            """
        ).fetchall()[0][0]
        moved = conn.execute(
            """
            UPDATE library.playlist_tracks t SET position = d.position FROM desired_items d
            WHERE d.playlist_id = t.playlist_id AND d.track_id = t.track_id AND t.position <> d.position
            """
        ).fetchall()[0][0]
        inserted = conn.execute(
            """
            INSERT INTO library.playlist_tracks SELECT playlist_id, position, track_id FROM desired_items d
            WHERE NOT EXISTS (SELECT 1 FROM library.playlist_tracks t
                              WHERE t.playlist_id = d.playlist_id AND t.track_id = d.track_id)
            """
        ).fetchall()[0][0]
    return {**counts, "tracks": {"inserted": inserted, "moved": moved, "removed": removed}}


# The columns of the merge's other tables, as its result holds them (tuples or records).
_ROW_SCHEMAS: dict[str, pa.Schema] = {
    "entity_keys": pa.schema([(n, pa.string()) for n in ("entity_type", "key", "entity_id", "rule")]),
    "track_files": pa.schema(
        [("path", pa.string()), ("track_id", pa.string()), ("matched_by", pa.string()), ("is_primary", pa.bool_())]
    ),
    "source_links": pa.schema(
        [
            ("entity_type", pa.string()),
            ("source", pa.string()),
            ("source_id", pa.string()),
            ("entity_id", pa.string()),
            ("matched_by", pa.string()),
            ("score", pa.float64()),
        ]
    ),
    "field_sources": pa.schema([(n, pa.string()) for n in ("entity_type", "entity_id", "field", "source")]),
}


@dataclasses.dataclass(frozen=True)
class MergeRows:
    """What ``write_merge`` writes: the merge's result as Arrow tables by library table, and
    the aliases (a handful, each its own statements)."""

    tables: dict[str, pa.Table]
    aliases: list[tuple[str, str, str, str]]


def merge_rows(result: MergeResult) -> MergeRows:
    """The result as Arrow tables, emptying it as they are built: its rows go a batch at a time
    as their copy is made (they take several times its memory), so little of both is held at
    once and none of the rows is left for the write."""
    tables: dict[str, pa.Table] = {}
    for table in ("artists", "albums", "tracks"):
        schema = pa.schema(list(_TABLES[table][1].items()))
        tables[table] = _arrow_table(_drained(getattr(result, table)), schema, _by_key)
    tables["entity_keys"] = _arrow_table(_drained(result.new_keys), _ROW_SCHEMAS["entity_keys"], _by_attribute)
    tables["track_files"] = _arrow_table(_drained(result.track_files), _ROW_SCHEMAS["track_files"], _by_position)
    tables["source_links"] = _arrow_table(_drained(result.links), _ROW_SCHEMAS["source_links"], _by_attribute)
    tables["field_sources"] = _arrow_table(_drained(result.field_sources), _ROW_SCHEMAS["field_sources"], _by_position)
    return MergeRows(tables, list(result.aliases))


# A column's value of a row, by the row's kind: a dict, a record, a tuple.
def _by_key(row: Mapping[str, Any], _: int, name: str) -> Any:
    return row.get(name)


def _by_attribute(row: Any, _: int, name: str) -> Any:
    return getattr(row, name)


def _by_position(row: Sequence[Any], n: int, _: str) -> Any:
    return row[n]


_BATCH_ROWS = 10_000


def _drained(rows: dict[Any, Any] | list[Any]) -> Iterator[list[Any]]:
    """The rows (a dict's values) in order, a batch at a time, each batch removed as it is taken."""
    if isinstance(rows, dict):
        keys = list(rows)
        for start in range(0, len(keys), _BATCH_ROWS):
            yield [rows.pop(key) for key in keys[start : start + _BATCH_ROWS]]
    else:
        while rows:
            batch = rows[:_BATCH_ROWS]
            del rows[:_BATCH_ROWS]
            yield batch


def _arrow_table(batches: Iterator[list[Any]], schema: pa.Schema, value: Callable[[Any, int, str], Any]) -> pa.Table:
    """Batches of rows as an Arrow table, a column at a time, ``value(row, index, name)`` of each.
    Its buffers come from the C allocator, which DuckDB uses too: the memory Arrow lets go of
    goes back there for the next tables and the write, not into Arrow's own pool."""
    pool = pa.system_memory_pool()
    return pa.Table.from_batches(
        [
            pa.record_batch(
                [
                    pa.array([value(row, n, field.name) for row in batch], type=field.type, memory_pool=pool)
                    for n, field in enumerate(schema)
                ],
                schema=schema,
            )
            for batch in batches
        ],
        schema=schema,
    )


@dataclasses.dataclass(frozen=True)
class MergeSummary:
    """What the callers of a merge report of it: its figures, not its inputs and rows (those
    are freed before the write, which would otherwise need its memory beside theirs)."""

    local_files: int
    cloud_items: int  # provider artists, albums and tracks read
    tracks: int
    duplicate_files: int  # files placed on a track as a copy beside its primary file
    aliases: int  # entities found to be one (merged into another)
    rules: dict[str, int]  # the rules that placed files and items, in the order the merge counted them
    link_rules: dict[str, int]  # "type:rule" -> provider items linked by it, sorted
    changes: dict[str, TableChanges]  # per table the rows written (``write_merge``)


def rebuild_library(
    conn: duckdb.DuckDBPyConnection,
    *,
    auto_queue: bool,
    source_order: tuple[str, ...],
    metadata_order: tuple[str, ...],
) -> MergeSummary:
    """Read every source and what the library knows, merge, write; returns the merge's figures.
    The inputs and the result's Python rows go before the write (its Arrow copy takes a
    fraction of their memory), so the write's memory is not added to theirs."""
    inputs = load_inputs(conn, auto_queue=auto_queue, source_order=source_order, metadata_order=metadata_order)
    result = merge_library(inputs)
    current_ids = [*result.artists, *result.albums, *result.tracks]
    superseded = superseded_states(inputs.previous_states, current_ids, inputs.decisions)
    del current_ids
    link_rules = Counter(f"{link.entity_type}:{link.matched_by}" for link in result.links)
    summary = MergeSummary(
        local_files=len(inputs.local_files),
        cloud_items=len(inputs.cloud_tracks) + len(inputs.cloud_albums) + len(inputs.cloud_artists),
        tracks=len(result.tracks),
        duplicate_files=sum(1 for _, _, _, primary in result.track_files if not primary),
        aliases=len(result.aliases),
        rules=dict(result.rules),
        link_rules=dict(sorted(link_rules.items())),
        changes={},
    )
    del inputs  # the merge is done with it
    rows = merge_rows(result)
    del result
    return dataclasses.replace(summary, changes=write_merge(conn, rows, superseded))
