"""Reading which covers and pictures the library wants, and recording what was stored or why not."""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.image_sources import DEEZER, SPOTIFY, ImageState, ImageTarget
from soulspot_pipeline.store.sql import registered, transaction

_S = pa.string()

# The providers' image of each owned album and artist, through the links the merge made.
_TARGETS = """
WITH provider AS (
    SELECT l.entity_type, l.entity_id, l.source, max(c.image_url) AS url
    FROM library.source_links l
    JOIN (SELECT 'album' AS entity_type, source, album_id AS id, image_url FROM library.cloud_albums
          UNION ALL SELECT 'artist', source, artist_id, image_url FROM library.cloud_artists) c
      ON c.entity_type = l.entity_type AND c.source = l.source AND c.id = l.source_id
    WHERE c.image_url IS NOT NULL
    GROUP BY ALL
)
SELECT 'album' AS entity_type, al.album_id AS entity_id, al.release_group_mbid, al.release_mbid,
       (SELECT url FROM provider p WHERE p.entity_type = 'album' AND p.entity_id = al.album_id AND p.source = ?) AS spotify_url,
       (SELECT url FROM provider p WHERE p.entity_type = 'album' AND p.entity_id = al.album_id AND p.source = ?) AS deezer_url
FROM library.albums al WHERE al.ownership_state = 'owned'
UNION ALL
SELECT 'artist', ar.artist_id, NULL, NULL,
       (SELECT url FROM provider p WHERE p.entity_type = 'artist' AND p.entity_id = ar.artist_id AND p.source = ?),
       (SELECT url FROM provider p WHERE p.entity_type = 'artist' AND p.entity_id = ar.artist_id AND p.source = ?)
FROM library.artists ar WHERE ar.ownership_state = 'owned'
ORDER BY 1, 2
"""


def load_targets(conn: duckdb.DuckDBPyConnection) -> list[ImageTarget]:
    return [
        ImageTarget(
            entity_type,
            entity_id,
            rg,
            release,
            tuple((source, url) for source, url in ((SPOTIFY, spotify_url), (DEEZER, deezer_url)) if url),
        )
        for entity_type, entity_id, rg, release, spotify_url, deezer_url in conn.execute(
            _TARGETS, [SPOTIFY, DEEZER, SPOTIFY, DEEZER]
        ).fetchall()
    ]


def load_states(conn: duckdb.DuckDBPyConnection) -> dict[str, ImageState]:
    return {
        f"{entity_type}:{entity_id}": ImageState(status, attempted_at, bool(path) and os.path.exists(path))
        for entity_type, entity_id, status, attempted_at, path in conn.execute(
            "SELECT entity_type, entity_id, status, attempted_at, path FROM library.images"
        ).fetchall()
    }


@dataclass
class ImageOutcome:
    target: ImageTarget
    status: str  # stored | failed | none
    source: str | None = None
    source_url: str | None = None
    path: str | None = None
    thumbnail_path: str | None = None
    checksum: str | None = None
    size_bytes: int | None = None
    width: int | None = None
    height: int | None = None
    error: str | None = None
    retry_after: datetime | None = None


_SCHEMA = pa.schema(
    [
        ("entity_type", _S),
        ("entity_id", _S),
        ("status", _S),
        ("source", _S),
        ("source_url", _S),
        ("path", _S),
        ("thumbnail_path", _S),
        ("checksum", _S),
        ("size_bytes", pa.int64()),
        ("width", pa.int32()),
        ("height", pa.int32()),
        ("error", _S),
        ("retry_after", pa.timestamp("us")),
    ]
)


def write_outcomes(conn: duckdb.DuckDBPyConnection, outcomes: Sequence[ImageOutcome], now: datetime) -> dict[str, int]:
    """Record each attempt and point the albums and artists at their stored images."""
    rows = [
        {
            "entity_type": o.target.entity_type,
            "entity_id": o.target.entity_id,
            "status": o.status,
            "source": o.source,
            "source_url": o.source_url,
            "path": o.path,
            "thumbnail_path": o.thumbnail_path,
            "checksum": o.checksum,
            "size_bytes": o.size_bytes,
            "width": o.width,
            "height": o.height,
            "error": o.error,
            "retry_after": o.retry_after,
        }
        for o in outcomes
    ]
    with transaction(conn), registered(conn, attempted=pa.Table.from_pylist(rows, schema=_SCHEMA)):
        conn.execute(
            """
            INSERT INTO library.images
            SELECT entity_type, entity_id, status, source, source_url, path, thumbnail_path, checksum, size_bytes,
                   width, height, error, 1, ?, retry_after FROM attempted
            ON CONFLICT (entity_type, entity_id) DO UPDATE SET
                status = excluded.status, source = excluded.source, source_url = excluded.source_url,
                path = excluded.path, thumbnail_path = excluded.thumbnail_path, checksum = excluded.checksum,
                size_bytes = excluded.size_bytes, width = excluded.width, height = excluded.height,
                error = excluded.error, attempts = library.images.attempts + 1,
                attempted_at = excluded.attempted_at, retry_after = excluded.retry_after
            """,
            [now],
        )
        # image_path is this phase's column: the merge never writes it.
        for table, id_column, entity_type in (("albums", "album_id", "album"), ("artists", "artist_id", "artist")):
            conn.execute(
                f"""
                UPDATE library.{table} t SET image_path = i.path
                FROM library.images i
                WHERE i.entity_type = ? AND i.entity_id = t.{id_column} AND i.status = 'stored'
                  AND t.image_path IS DISTINCT FROM i.path
                """,
                [entity_type],
            )
    counts: dict[str, int] = {}
    for o in outcomes:
        counts[o.status] = counts.get(o.status, 0) + 1
    return counts


def cover_thumbnails(conn: duckdb.DuckDBPyConnection, limit: int) -> list[tuple[str, str]]:
    """(album title, thumbnail path) of the owned albums' stored covers: the latest added first (so a
    library larger than ``limit`` shows its newest albums), then by artist and year."""
    return conn.execute(
        """
        SELECT al.title, i.thumbnail_path
        FROM library.images i JOIN library.albums al ON i.entity_type = 'album' AND al.album_id = i.entity_id
        JOIN library.artists ar ON ar.artist_id = al.artist_id
        WHERE i.status = 'stored' AND al.ownership_state = 'owned'
        ORDER BY al.created_at DESC, coalesce(ar.sort_name, ar.name), al.release_date NULLS LAST, al.title
        LIMIT ?
        """,
        [limit],
    ).fetchall()


def album_folders(conn: duckdb.DuckDBPyConnection, album_ids: Sequence[str]) -> list[tuple[str, str]]:
    """(album id, folder) of the given albums whose present files all live in one folder."""
    ids = pa.table({"album_id": pa.array(list(album_ids), _S)})
    with registered(conn, wanted=ids):
        return conn.execute(
            """
            SELECT t.album_id, any_value(parse_dirpath(t.local_path))
            FROM library.tracks t JOIN wanted USING (album_id)
            WHERE t.local_path IS NOT NULL
            GROUP BY t.album_id HAVING count(DISTINCT parse_dirpath(t.local_path)) = 1
            ORDER BY 1
            """
        ).fetchall()
