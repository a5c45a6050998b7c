"""What is left to identify, and writing each identification with every candidate weighed."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.album_match import AlbumCluster, AlbumDecision
from soulspot_pipeline.domain.identify_run import NamedTodo, Outcome, TrackTodo
from soulspot_pipeline.domain.library_merge import UNKNOWN_ARTIST
from soulspot_pipeline.store.album_matches import write_album_decisions
from soulspot_pipeline.store.sql import registered, transaction


def facts_hash(*facts: object) -> str:
    """Identifies what an entity looked like when it was identified: a change asks again."""
    return hashlib.sha1(repr(facts).encode("utf-8")).hexdigest()[:16]


def load_todo(
    conn: duckdb.DuckDBPyConnection, *, retry_undecided: bool = False
) -> tuple[list[TrackTodo], list[NamedTodo], list[NamedTodo]]:
    """Entities without an MBID that were never identified as they are now (ignored ones
    are left alone). ``retry_undecided`` asks again for those that found nothing."""
    keep = "status = 'accepted'" if retry_undecided else "true"
    decided = {
        entity_type: dict(
            conn.execute(
                f"SELECT entity_id, facts_hash FROM library.identifications WHERE entity_type = ? AND {keep}",
                [entity_type],
            ).fetchall()
        )
        for entity_type in ("track", "artist", "album")
    }
    tracks = []
    for row in conn.execute(
        """
        SELECT t.track_id, t.title, t.artist_id, ar.name, t.album_id, al.title, t.duration_ms, t.isrc
        FROM library.tracks t JOIN library.artists ar USING (artist_id) LEFT JOIN library.albums al USING (album_id)
        WHERE t.recording_mbid IS NULL AND t.ownership_state <> 'ignored'
        ORDER BY t.track_id
        """
    ).fetchall():
        track_id, title, artist_id, artist, album_id, album, duration_ms, isrc = row
        digest = facts_hash(title, artist, album, round((duration_ms or 0) / 5000), isrc)
        if decided["track"].get(track_id) != digest:
            tracks.append(TrackTodo(track_id, title, artist_id, artist, album_id, album, duration_ms, isrc, digest))
    artists = [
        NamedTodo(artist_id, name, None, digest)
        for artist_id, name in conn.execute(
            "SELECT artist_id, name FROM library.artists WHERE artist_mbid IS NULL AND ownership_state <> 'ignored' "
            "AND name <> ? ORDER BY artist_id",
            [UNKNOWN_ARTIST],
        ).fetchall()
        if decided["artist"].get(artist_id) != (digest := facts_hash(name))
    ]
    albums = [
        NamedTodo(album_id, title, artist, digest)
        for album_id, title, artist in conn.execute(
            """
            SELECT al.album_id, al.title, ar.name FROM library.albums al JOIN library.artists ar USING (artist_id)
            WHERE al.release_group_mbid IS NULL AND al.ownership_state <> 'ignored' ORDER BY al.album_id
            """
        ).fetchall()
        if decided["album"].get(album_id) != (digest := facts_hash(title, artist))
    ]
    return tracks, artists, albums


_CANDIDATE_SCHEMA = pa.schema(
    [
        ("entity_type", pa.string()),
        ("entity_id", pa.string()),
        ("candidate_mbid", pa.string()),
        ("rank", pa.int32()),
        ("rule", pa.string()),
        ("query", pa.string()),
        ("candidate_title", pa.string()),
        ("candidate_artist", pa.string()),
        ("candidate_album", pa.string()),
        ("candidate_length_ms", pa.int64()),
        ("mb_score", pa.int32()),
        ("title_score", pa.float64()),
        ("artist_score", pa.float64()),
        ("album_score", pa.float64()),
        ("duration_score", pa.float64()),
        ("isrc_match", pa.bool_()),
        ("total", pa.float64()),
        ("decision", pa.string()),
        ("reason", pa.string()),
        ("decided_at", pa.timestamp("us")),
    ]
)


def write_outcomes(
    conn: duckdb.DuckDBPyConnection,
    outcomes: list[Outcome],
    now: datetime,
    *,
    albums: Sequence[AlbumDecision] = (),
    clusters: Mapping[str, AlbumCluster] | None = None,
) -> dict[str, int]:
    """Each entity's identification replaces its last one, candidates included, and each album
    cluster's weighed releases theirs (``albums``, of ``clusters``); in one transaction."""
    identifications = pa.Table.from_pylist(
        [
            {
                "entity_type": o.entity_type,
                "entity_id": o.entity_id,
                "status": o.decision.status,
                "mbid": o.decision.mbid,
                "release_mbid": o.release_mbid,
                "rule": o.rule,
                "score": o.decision.score,
                "reason": o.decision.reason,
                "facts_hash": o.facts_hash,
                "identified_at": now,
            }
            for o in outcomes
        ],
        schema=pa.schema(
            [
                ("entity_type", pa.string()),
                ("entity_id", pa.string()),
                ("status", pa.string()),
                ("mbid", pa.string()),
                ("release_mbid", pa.string()),
                ("rule", pa.string()),
                ("score", pa.float64()),
                ("reason", pa.string()),
                ("facts_hash", pa.string()),
                ("identified_at", pa.timestamp("us")),
            ]
        ),
    )
    candidates = pa.Table.from_pylist(
        [
            {
                "entity_type": o.entity_type,
                "entity_id": o.entity_id,
                "candidate_mbid": s.mbid,
                "rank": rank,
                "rule": o.rule,
                "query": o.query,
                "candidate_title": o.shown.get(s.mbid, (None,) * 4)[0],
                "candidate_artist": o.shown.get(s.mbid, (None,) * 4)[1],
                "candidate_album": o.shown.get(s.mbid, (None,) * 4)[2],
                "candidate_length_ms": o.shown.get(s.mbid, (None,) * 4)[3],
                "mb_score": s.mb_score,
                "title_score": s.title,
                "artist_score": s.artist,
                "album_score": s.album,
                "duration_score": s.duration,
                "isrc_match": s.isrc_match,
                "total": s.total,
                "decision": s.decision,
                "reason": s.reason,
                "decided_at": now,
            }
            for o in outcomes
            for rank, s in enumerate(o.decision.candidates, 1)
        ],
        schema=_CANDIDATE_SCHEMA,
    )
    with transaction(conn):
        counts = _replace_identifications(conn, identifications)
        with registered(conn, identified=identifications, candidates=candidates):
            conn.execute(
                """
                DELETE FROM library.match_candidates m
                WHERE EXISTS (SELECT 1 FROM identified i WHERE i.entity_type = m.entity_type AND i.entity_id = m.entity_id)
                """
            )
            conn.execute(
                f"INSERT INTO library.match_candidates ({', '.join(candidates.column_names)}) SELECT * FROM candidates"
            )
        counts["release_candidates"] = write_album_decisions(conn, albums, clusters or {}, now) if albums else 0
    return counts


def _replace_identifications(conn: duckdb.DuckDBPyConnection, identifications: pa.Table) -> dict[str, int]:
    with registered(conn, identified=identifications):
        replaced = conn.execute(
            """
            DELETE FROM library.identifications d
            WHERE EXISTS (SELECT 1 FROM identified i WHERE i.entity_type = d.entity_type AND i.entity_id = d.entity_id)
            """
        ).fetchall()[0][0]
        written = conn.execute("INSERT INTO library.identifications SELECT * FROM identified").fetchall()[0][0]
    return {"written": written, "replaced": replaced}
