"""Writing one cloud source's sync into the raw cloud tables, in one transaction.

A sync killed before this runs writes nothing; one that gets here writes everything.
Rows that did not change are not touched, so an unchanged provider changes no row.
"""

from __future__ import annotations

from datetime import datetime

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.cloud_sync import ENDPOINTS, SourceSync
from soulspot_pipeline.domain.resilience import Breaker
from soulspot_pipeline.store.sql import registered, run, transaction, upsert

_S = pa.string()


def _table(rows: list[dict], schema: list[tuple[str, pa.DataType]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=pa.schema(schema))


def load_playlist_state(conn: duckdb.DuckDBPyConnection, source: str) -> tuple[dict[str, str], dict[str, str | None]]:
    """(playlist id -> the user's sync mode, playlist id -> version of the stored items)."""
    modes = dict(
        conn.execute("SELECT playlist_id, sync_mode FROM library.playlist_modes WHERE source = ?", [source]).fetchall()
    )
    versions = dict(
        conn.execute(
            "SELECT playlist_id, version FROM library.cloud_playlists WHERE source = ? AND removed_at IS NULL", [source]
        ).fetchall()
    )
    return modes, versions


def load_breaker(conn: duckdb.DuckDBPyConnection, source: str) -> Breaker:
    rows = conn.execute(
        "SELECT failures, open_until, last_error FROM library.provider_health WHERE source = ?", [source]
    ).fetchall()
    return Breaker(*rows[0]) if rows else Breaker()


def save_breaker(conn: duckdb.DuckDBPyConnection, source: str, breaker: Breaker, now: datetime) -> None:
    if load_breaker(conn, source) == breaker:
        return
    conn.execute(
        """
        INSERT INTO library.provider_health VALUES (?, ?, ?, ?, ?)
        ON CONFLICT (source) DO UPDATE SET failures = excluded.failures, open_until = excluded.open_until,
            last_error = excluded.last_error, changed_at = excluded.changed_at
        """,
        [source, breaker.failures, breaker.open_until, breaker.last_error, now],
    )


def write_sync(conn: duckdb.DuckDBPyConnection, sync: SourceSync, now: datetime) -> dict[str, dict[str, int]]:
    """Store the sync; returns per table what changed."""
    source = sync.source
    changes: dict[str, dict[str, int]] = {}
    with transaction(conn):
        changes["cloud_artists"] = upsert(
            conn,
            "cloud_artists",
            ("source", "artist_id"),
            _table(
                [
                    {
                        "source": source,
                        "artist_id": a.artist_id,
                        "name": a.name,
                        "genres": list(a.genres) or None,
                        "image_url": a.image_url,
                    }
                    for a in sync.artists.values()
                ],
                [("source", _S), ("artist_id", _S), ("name", _S), ("genres", pa.list_(_S)), ("image_url", _S)],
            ),
            now=now,
            accumulating=frozenset({"genres", "image_url"}),
            created_column="first_seen_at",
        )
        changes["cloud_albums"] = upsert(
            conn,
            "cloud_albums",
            ("source", "album_id"),
            _table(
                [
                    {
                        "source": source,
                        "album_id": a.album_id,
                        "title": a.title,
                        "artist_id": a.artist.artist_id or None,
                        "artist_name": a.artist.name or None,
                        "album_type": a.album_type,
                        "release_date": a.release_date,
                        "total_tracks": a.total_tracks,
                        "upc": a.upc,
                        "image_url": a.image_url,
                    }
                    for a in sync.albums.values()
                ],
                [
                    ("source", _S),
                    ("album_id", _S),
                    ("title", _S),
                    ("artist_id", _S),
                    ("artist_name", _S),
                    ("album_type", _S),
                    ("release_date", _S),
                    ("total_tracks", pa.int32()),
                    ("upc", _S),
                    ("image_url", _S),
                ],
            ),
            now=now,
            accumulating=frozenset({"album_type", "release_date", "total_tracks", "upc", "image_url"}),
            created_column="first_seen_at",
        )
        changes["cloud_tracks"] = upsert(
            conn,
            "cloud_tracks",
            ("source", "track_id"),
            _table(
                [
                    {
                        "source": source,
                        "track_id": t.track_id,
                        "title": t.title,
                        "artist_id": t.artist.artist_id or None,
                        "artist_name": t.artist.name or None,
                        "album_id": t.album.album_id if t.album else None,
                        "isrc": t.isrc,
                        "duration_ms": t.duration_ms,
                        "track_number": t.track_number,
                        "disc_number": t.disc_number,
                    }
                    for t in sync.tracks.values()
                ],
                [
                    ("source", _S),
                    ("track_id", _S),
                    ("title", _S),
                    ("artist_id", _S),
                    ("artist_name", _S),
                    ("album_id", _S),
                    ("isrc", _S),
                    ("duration_ms", pa.int64()),
                    ("track_number", pa.int32()),
                    ("disc_number", pa.int32()),
                ],
            ),
            now=now,
            accumulating=frozenset({"isrc", "album_id", "track_number", "disc_number"}),
            created_column="first_seen_at",
        )
        changes["cloud_album_tracks"] = _write_album_tracks(conn, sync)
        changes["cloud_likes"] = _write_likes(conn, sync, now)
        changes["cloud_playlists"] = _write_playlists(conn, sync, now)
        changes["cloud_playlist_items"] = _write_playlist_items(conn, sync)
        changes["cloud_endpoints"] = _write_endpoints(conn, sync, now)
        changes["cloud_skips"] = _write_skips(conn, sync, now)
    return changes


def _write_album_tracks(conn: duckdb.DuckDBPyConnection, sync: SourceSync) -> dict[str, int]:
    desired = _table(
        [{"album_id": album, "track_id": track} for album, tracks in sync.album_tracks.items() for track in tracks],
        [("album_id", _S), ("track_id", _S)],
    )
    albums = _table([{"album_id": a} for a in sync.album_tracks], [("album_id", _S)])
    with registered(conn, desired=desired, listed=albums):
        removed = run(
            conn,
            """
            DELETE FROM library.cloud_album_tracks t
            WHERE t.source = $source AND t.album_id IN (SELECT album_id FROM listed)
              AND NOT EXISTS (SELECT 1 FROM desired d WHERE d.album_id = t.album_id AND d.track_id = t.track_id)
            """,
            {"source": sync.source},
        )
        inserted = run(
            conn,
            """
            INSERT INTO library.cloud_album_tracks SELECT $source, album_id, track_id FROM desired d
            WHERE NOT EXISTS (SELECT 1 FROM library.cloud_album_tracks t
                              WHERE t.source = $source AND t.album_id = d.album_id AND t.track_id = d.track_id)
            """,
            {"source": sync.source},
        )
    return {"inserted": inserted, "removed": removed}


def _write_likes(conn: duckdb.DuckDBPyConnection, sync: SourceSync, now: datetime) -> dict[str, int]:
    counts = {"liked": 0, "unliked": 0, "relinked": 0}
    for kind, items in sync.likes.items():
        desired = _table(
            [{"item_id": item, "added_at": added} for item, added in items.items()], [("item_id", _S), ("added_at", _S)]
        )
        params = {"source": sync.source, "kind": kind, "now": now}
        with registered(conn, desired=desired):
            counts["liked"] += run(
                conn,
                """
                INSERT INTO library.cloud_likes SELECT $source, $kind, item_id, added_at, $now, NULL FROM desired d
                WHERE NOT EXISTS (SELECT 1 FROM library.cloud_likes l
                                  WHERE l.source = $source AND l.kind = $kind AND l.item_id = d.item_id)
                """,
                params,
            )
            # A like that comes back is a new like: it starts again now.
            counts["relinked"] += run(
                conn,
                """
                UPDATE library.cloud_likes l SET unliked_at = NULL, liked_since = $now, added_at = d.added_at
                FROM desired d
                WHERE l.source = $source AND l.kind = $kind AND l.item_id = d.item_id AND l.unliked_at IS NOT NULL
                """,
                params,
            )
            run(
                conn,
                """
                UPDATE library.cloud_likes l SET added_at = d.added_at FROM desired d
                WHERE l.source = $source AND l.kind = $kind AND l.item_id = d.item_id
                  AND l.added_at IS DISTINCT FROM d.added_at
                """,
                params,
            )
            counts["unliked"] += run(
                conn,
                """
                UPDATE library.cloud_likes l SET unliked_at = $now
                WHERE l.source = $source AND l.kind = $kind AND l.unliked_at IS NULL
                  AND NOT EXISTS (SELECT 1 FROM desired d WHERE d.item_id = l.item_id)
                """,
                params,
            )
    return counts


def _write_playlists(conn: duckdb.DuckDBPyConnection, sync: SourceSync, now: datetime) -> dict[str, int]:
    if sync.playlists is None:
        return {"inserted": 0, "updated": 0, "removed": 0}
    rows = [
        {
            "playlist_id": p.playlist_id,
            "name": p.name,
            "owner": p.owner,
            "track_count": p.track_count,
            # The stored version names the stored items: advance it only with them.
            "version": p.version,
            "items_read": p.playlist_id in sync.playlist_items,
        }
        for p in sync.playlists
    ]
    desired = _table(
        rows,
        [
            ("playlist_id", _S),
            ("name", _S),
            ("owner", _S),
            ("track_count", pa.int32()),
            ("version", _S),
            ("items_read", pa.bool_()),
        ],
    )
    params = {"source": sync.source, "now": now}
    with registered(conn, desired=desired):
        inserted = run(
            conn,
            """
            INSERT INTO library.cloud_playlists
            SELECT $source, playlist_id, name, owner, CASE WHEN items_read THEN version END, track_count, $now, NULL
            FROM desired d WHERE NOT EXISTS (
                SELECT 1 FROM library.cloud_playlists p WHERE p.source = $source AND p.playlist_id = d.playlist_id)
            """,
            params,
        )
        updated = run(
            conn,
            """
            UPDATE library.cloud_playlists p SET name = d.name, owner = d.owner, track_count = d.track_count,
                version = CASE WHEN d.items_read THEN d.version ELSE p.version END, removed_at = NULL
            FROM desired d
            WHERE p.source = $source AND p.playlist_id = d.playlist_id AND (
                p.name IS DISTINCT FROM d.name OR p.owner IS DISTINCT FROM d.owner
                OR p.track_count IS DISTINCT FROM d.track_count OR p.removed_at IS NOT NULL
                OR (d.items_read AND p.version IS DISTINCT FROM d.version))
            """,
            params,
        )
        removed = run(
            conn,
            """
            UPDATE library.cloud_playlists p SET removed_at = $now
            WHERE p.source = $source AND p.removed_at IS NULL
              AND NOT EXISTS (SELECT 1 FROM desired d WHERE d.playlist_id = p.playlist_id)
            """,
            params,
        )
    return {"inserted": inserted, "updated": updated, "removed": removed}


def _write_playlist_items(conn: duckdb.DuckDBPyConnection, sync: SourceSync) -> dict[str, int]:
    desired = _table(
        [
            {"playlist_id": playlist, "position": position, "track_id": track, "added_at": added}
            for playlist, items in sync.playlist_items.items()
            for position, (track, added) in enumerate(items)
        ],
        [("playlist_id", _S), ("position", pa.int32()), ("track_id", _S), ("added_at", _S)],
    )
    read = _table([{"playlist_id": p} for p in sync.playlist_items], [("playlist_id", _S)])
    params = {"source": sync.source}
    with registered(conn, desired=desired, read=read):
        removed = run(
            conn,
            """
            DELETE FROM library.cloud_playlist_items i
            WHERE i.source = $source AND i.playlist_id IN (SELECT playlist_id FROM read)
              AND NOT EXISTS (SELECT 1 FROM desired d WHERE d.playlist_id = i.playlist_id AND d.track_id = i.track_id)
            """,
            params,
        )
        updated = run(
            conn,
            """
            UPDATE library.cloud_playlist_items i SET position = d.position, added_at = d.added_at FROM desired d
            WHERE i.source = $source AND i.playlist_id = d.playlist_id AND i.track_id = d.track_id
              AND (i.position <> d.position OR i.added_at IS DISTINCT FROM d.added_at)
            """,
            params,
        )
        inserted = run(
            conn,
            """
            INSERT INTO library.cloud_playlist_items SELECT $source, playlist_id, position, track_id, added_at FROM desired d
            WHERE NOT EXISTS (SELECT 1 FROM library.cloud_playlist_items i
                              WHERE i.source = $source AND i.playlist_id = d.playlist_id AND i.track_id = d.track_id)
            """,
            params,
        )
    return {"inserted": inserted, "updated": updated, "removed": removed}


def _write_endpoints(conn: duckdb.DuckDBPyConnection, sync: SourceSync, now: datetime) -> dict[str, int]:
    rows = [
        {"endpoint": name, "status": o.status, "detail": o.detail, "items": o.items}
        for name, o in sync.endpoints.items()
        # An album's or playlist's own row is kept only once something went wrong with it.
        if name in ENDPOINTS or o.status != "ok"
    ]
    readable = sorted(sync.items_read)
    desired = _table(rows, [("endpoint", _S), ("status", _S), ("detail", _S), ("items", pa.int32())])
    params = {"source": sync.source, "now": now}
    with registered(conn, desired=desired, readable=_table([{"endpoint": e} for e in readable], [("endpoint", _S)])):
        recovered = run(
            conn,
            """
            UPDATE library.cloud_endpoints e SET status = 'ok', detail = NULL, changed_at = $now
            WHERE e.source = $source AND e.status <> 'ok' AND e.endpoint IN (SELECT endpoint FROM readable)
            """,
            params,
        )
        changed = run(
            conn,
            """
            INSERT INTO library.cloud_endpoints SELECT $source, endpoint, status, detail, items, $now FROM desired
            ON CONFLICT (source, endpoint) DO UPDATE SET status = excluded.status, detail = excluded.detail,
                items = excluded.items, changed_at = excluded.changed_at
            WHERE cloud_endpoints.status IS DISTINCT FROM excluded.status
               OR cloud_endpoints.detail IS DISTINCT FROM excluded.detail
               OR cloud_endpoints.items IS DISTINCT FROM excluded.items
            """,
            params,
        )
    return {"changed": changed + recovered}


def _write_skips(conn: duckdb.DuckDBPyConnection, sync: SourceSync, now: datetime) -> dict[str, int]:
    """The skip counts of every listing read this time; listings not read keep theirs."""
    desired = _table(
        [
            {"endpoint": endpoint, "reason": reason, "items": count}
            for endpoint, counts in sync.skips.items()
            for reason, count in counts.items()
            if count > 0
        ],
        [("endpoint", _S), ("reason", _S), ("items", pa.int32())],
    )
    read = _table([{"endpoint": e} for e in sorted(sync.read_endpoints)], [("endpoint", _S)])
    params = {"source": sync.source, "now": now}
    with registered(conn, desired=desired, read=read):
        removed = run(
            conn,
            """
            DELETE FROM library.cloud_skips s
            WHERE s.source = $source AND s.endpoint IN (SELECT endpoint FROM read)
              AND NOT EXISTS (SELECT 1 FROM desired d WHERE d.endpoint = s.endpoint AND d.reason = s.reason)
            """,
            params,
        )
        changed = run(
            conn,
            """
            INSERT INTO library.cloud_skips SELECT $source, endpoint, reason, items, $now FROM desired
            ON CONFLICT (source, endpoint, reason) DO UPDATE SET items = excluded.items, changed_at = excluded.changed_at
            WHERE cloud_skips.items IS DISTINCT FROM excluded.items
            """,
            params,
        )
    return {"changed": changed, "removed": removed}
