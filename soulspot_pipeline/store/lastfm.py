"""What Last.fm is asked about (owned artists and albums), its cached answers, and the
similar artists it named: ``library.lastfm_answers`` and ``library.similar_artists``."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.lastfm import SimilarArtist
from soulspot_pipeline.store.sql import registered, transaction

Answer = tuple[Any, datetime]  # what Last.fm said (None: it knows no such thing), and when


def load_targets(conn: duckdb.DuckDBPyConnection) -> tuple[list[tuple[str, str]], list[tuple[str, str, str]]]:
    """(artist id, name) of the owned artists, (album id, title, artist name) of the owned albums."""
    artists = conn.execute(
        "SELECT artist_id, name FROM library.artists WHERE ownership_state = 'owned' AND name <> '' ORDER BY 1"
    ).fetchall()
    albums = conn.execute(
        """
        SELECT al.album_id, al.title, ar.name FROM library.albums al JOIN library.artists ar USING (artist_id)
        WHERE al.ownership_state = 'owned' AND al.title <> '' AND ar.name <> '' ORDER BY 1
        """
    ).fetchall()
    return artists, albums


def load_answers(conn: duckdb.DuckDBPyConnection, now: datetime, ttl_days: float) -> dict[str, Answer]:
    """Every answer younger than ``ttl_days``, by key."""
    rows = conn.execute(
        "SELECT key, response, fetched_at FROM library.lastfm_answers WHERE fetched_at > ?",
        [now - timedelta(days=ttl_days)],
    ).fetchall()
    return {key: (None if response is None else json.loads(response), fetched) for key, response, fetched in rows}


def write(
    conn: duckdb.DuckDBPyConnection,
    new_answers: dict[str, tuple[str, Any]],
    similar: dict[str, tuple[list[SimilarArtist], datetime]],
    now: datetime,
) -> dict[str, int]:
    """Keep the new answers (key -> (method, response)) and replace the similar artists of
    each artist in ``similar`` (artist id -> (its list, when Last.fm said so)), in one transaction."""
    answers = pa.table(
        {
            "key": list(new_answers),
            "method": [method for method, _ in new_answers.values()],
            "response": [None if r is None else json.dumps(r) for _, r in new_answers.values()],
        },
        schema=pa.schema([("key", pa.string()), ("method", pa.string()), ("response", pa.string())]),
    )
    listed = pa.Table.from_pylist(
        [
            {
                "artist_id": artist_id,
                "similar_name": s.name,
                "similar_mbid": s.mbid,
                "match": s.match,
                "rank": rank,
                "fetched_at": fetched,
            }
            for artist_id, (items, fetched) in similar.items()
            for rank, s in enumerate(items, start=1)
        ],
        schema=pa.schema(
            [
                ("artist_id", pa.string()),
                ("similar_name", pa.string()),
                ("similar_mbid", pa.string()),
                ("match", pa.float64()),
                ("rank", pa.int32()),
                ("fetched_at", pa.timestamp("us")),
            ]
        ),
    )
    artists = pa.table({"artist_id": pa.array(list(similar), pa.string())})
    with transaction(conn), registered(conn, answers=answers, listed=listed, artists=artists):
        conn.execute(
            "INSERT OR REPLACE INTO library.lastfm_answers SELECT key, method, response::JSON, $now FROM answers",
            {"now": now},
        )
        # Only rows that differ are rewritten: a re-run with the same answers changes nothing.
        removed = conn.execute(
            """
            DELETE FROM library.similar_artists s WHERE s.artist_id IN (SELECT artist_id FROM artists)
              AND NOT EXISTS (
                SELECT 1 FROM listed l WHERE l.artist_id = s.artist_id AND l.similar_name = s.similar_name
                  AND l.similar_mbid IS NOT DISTINCT FROM s.similar_mbid AND l.match = s.match AND l.rank = s.rank)
            """
        ).fetchall()[0][0]
        added = conn.execute(
            """
            INSERT INTO library.similar_artists SELECT * FROM listed l WHERE NOT EXISTS (
                SELECT 1 FROM library.similar_artists s WHERE s.artist_id = l.artist_id AND s.similar_name = l.similar_name)
            """
        ).fetchall()[0][0]
    return {"answers_cached": len(new_answers), "similar_added": added, "similar_removed": removed}
