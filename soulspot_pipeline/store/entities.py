"""Reading the merge's inputs from the library and writing its result, in one transaction."""

from __future__ import annotations

import functools
import json
from collections.abc import Collection, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any, ClassVar

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.library_merge import (
    MergeInputs,
    MergeResult,
    RegisteredKey,
    SourceLink,
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


# DuckDB's memory while the merge writes and commits: under it, DuckDB spills what the
# transaction holds to its temp directory instead of keeping all of it beside the merge's own
# structures. Writes that need more even so run again without it.
_WRITE_MEMORY_LIMIT = "100MB"


def write_merge(
    conn: duckdb.DuckDBPyConnection, result: MergeResult, superseded: dict[str, str]
) -> dict[str, TableChanges]:
    """Apply the merge: insert new entities, update changed ones, nothing else.

    Returns per table the rows inserted, updated and superseded; unchanged input
    changes no row (and no ``updated_at``).
    """
    if _memory_limit(conn) != _default_memory_limit():
        return _write_merge(conn, result, superseded)  # a limit the connection was given is kept
    try:
        conn.execute(f"SET memory_limit = '{_WRITE_MEMORY_LIMIT}'")
        return _write_merge(conn, result, superseded)
    except duckdb.Error as exc:
        if not _out_of_memory(exc):
            raise
        conn.execute("RESET memory_limit")
        return _write_merge(conn, result, superseded)
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
    conn: duckdb.DuckDBPyConnection, result: MergeResult, superseded: dict[str, str]
) -> dict[str, TableChanges]:
    now = utc_now()
    counts: dict[str, TableChanges] = {}
    with transaction(conn):
        for table, rows in (("artists", result.artists), ("albums", result.albums), ("tracks", result.tracks)):
            id_column, schema, accumulating = _TABLES[table]
            desired = _entity_table(rows.values(), schema)
            counts[table] = {
                **upsert(conn, table, (id_column,), desired, now=now, accumulating=accumulating),
                "superseded": _supersede(conn, table, superseded, now),
            }
            del desired  # Arrow's copy goes before the next table's is built
        _insert_keys(conn, result.new_keys, now)
        counts["aliases"] = _write_aliases(conn, result.aliases, now)
        counts["track_files"] = _replace_track_files(conn, result.track_files)
        counts["source_links"] = _write_links(conn, result.links, now)
        counts["field_sources"] = _write_field_sources(conn, result.field_sources)
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


def _write_field_sources(
    conn: duckdb.DuckDBPyConnection, field_sources: list[tuple[str, str, str, str]]
) -> dict[str, int]:
    names = ("entity_type", "entity_id", "field", "source")
    desired = pa.table(
        {name: [row[n] for row in field_sources] for n, name in enumerate(names)},
        schema=pa.schema([(n, pa.string()) for n in names]),
    )
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


def _insert_keys(conn: duckdb.DuckDBPyConnection, keys: Sequence[RegisteredKey], now: datetime) -> None:
    table = pa.table(
        {
            "entity_type": [k.entity_type for k in keys],
            "key": [k.key for k in keys],
            "entity_id": [k.entity_id for k in keys],
            "rule": [k.rule for k in keys],
        },
        schema=pa.schema([(n, pa.string()) for n in ("entity_type", "key", "entity_id", "rule")]),
    )
    with registered(conn, new_keys=table):
        conn.execute(
            "INSERT INTO library.entity_keys SELECT entity_type, key, entity_id, rule, ? FROM new_keys "
            "ON CONFLICT DO NOTHING",
            [now],
        )


def _entity_table(rows: Collection[Mapping[str, Any]], schema: dict[str, pa.DataType]) -> pa.Table:
    """The rows as an Arrow table, built a column at a time (no second dict per row)."""
    return pa.table(
        {column: pa.array([row.get(column) for row in rows], type=kind) for column, kind in schema.items()},
        schema=pa.schema(list(schema.items())),
    )


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


def _replace_track_files(
    conn: duckdb.DuckDBPyConnection, track_files: list[tuple[str, str, str, bool]]
) -> dict[str, int]:
    desired = pa.table(
        {
            "path": [t[0] for t in track_files],
            "track_id": [t[1] for t in track_files],
            "matched_by": [t[2] for t in track_files],
            "is_primary": [t[3] for t in track_files],
        },
        schema=pa.schema(
            [("path", pa.string()), ("track_id", pa.string()), ("matched_by", pa.string()), ("is_primary", pa.bool_())]
        ),
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


def _write_links(conn: duckdb.DuckDBPyConnection, links: list[SourceLink], now: datetime) -> dict[str, int]:
    desired = pa.table(
        {
            "entity_type": [link.entity_type for link in links],
            "source": [link.source for link in links],
            "source_id": [link.source_id for link in links],
            "entity_id": [link.entity_id for link in links],
            "matched_by": [link.matched_by for link in links],
            "score": [link.score for link in links],
        },
        schema=pa.schema(
            [
                ("entity_type", pa.string()),
                ("source", pa.string()),
                ("source_id", pa.string()),
                ("entity_id", pa.string()),
                ("matched_by", pa.string()),
                ("score", pa.float64()),
            ]
        ),
    )
    return upsert(conn, "source_links", ("entity_type", "source", "source_id"), desired, now=now)


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


def rebuild_library(
    conn: duckdb.DuckDBPyConnection,
    *,
    auto_queue: bool,
    source_order: tuple[str, ...],
    metadata_order: tuple[str, ...],
) -> tuple[MergeInputs, MergeResult, dict[str, TableChanges]]:
    """Read every source and what the library knows, merge, write: (inputs, result, changes)."""
    inputs = load_inputs(conn, auto_queue=auto_queue, source_order=source_order, metadata_order=metadata_order)
    result = merge_library(inputs)
    current_ids = [*result.artists, *result.albums, *result.tracks]
    changes = write_merge(conn, result, superseded_states(inputs.previous_states, current_ids, inputs.decisions))
    return inputs, result, changes
