"""The file facts album matching works from, and writing what it weighed."""

from __future__ import annotations

import json
import posixpath
from collections.abc import Mapping, Sequence
from datetime import datetime

import duckdb
import pyarrow as pa

from soulspot_pipeline.domain.album_match import AlbumCluster, AlbumDecision, LocalTrack
from soulspot_pipeline.store.sql import registered


def load_local_tracks(conn: duckdb.DuckDBPyConnection, track_ids: Sequence[str]) -> dict[str, LocalTrack]:
    """Each track's facts as its primary file's tags have them (tracks without a file are left out)."""
    if not track_ids:
        return {}
    wanted = pa.table({"track_id": pa.array(list(track_ids), pa.string())})
    with registered(conn, wanted=wanted):
        rows = conn.execute(
            """
            SELECT t.track_id, coalesce(f.title, t.title), coalesce(f.artist, ar.name), f.albumartist, f.album,
                   f.path, f.track_number, f.disc_number, f.duration_ms, TRY_CAST(left(f.date, 4) AS INTEGER),
                   f.recording_mbid, f.release_mbid
            FROM wanted w
            JOIN library.tracks t USING (track_id)
            JOIN library.artists ar ON ar.artist_id = t.artist_id
            JOIN library.track_files tf ON tf.track_id = t.track_id AND tf.is_primary
            JOIN library.local_files f ON f.path = tf.path AND NOT f.missing
            """
        ).fetchall()
    return {
        track_id: LocalTrack(
            track_id=track_id,
            title=title or "",
            artist=artist or "",
            album_artist=album_artist or None,
            album=album or None,
            folder=posixpath.dirname(path),
            track_number=track_number,
            disc_number=disc_number,
            duration_ms=duration_ms,
            year=year,
            recording_mbid=recording_mbid,
            release_mbid=release_mbid,
        )
        for (
            track_id,
            title,
            artist,
            album_artist,
            album,
            path,
            track_number,
            disc_number,
            duration_ms,
            year,
            recording_mbid,
            release_mbid,
        ) in rows
    }


_CANDIDATES = pa.schema(
    [
        ("cluster_key", pa.string()),
        ("release_mbid", pa.string()),
        ("rank", pa.int32()),
        ("rule", pa.string()),
        ("query", pa.string()),
        ("cluster_artist", pa.string()),
        ("cluster_album", pa.string()),
        ("release_title", pa.string()),
        ("release_artist", pa.string()),
        ("release_group_mbid", pa.string()),
        ("release_date", pa.string()),
        ("release_country", pa.string()),
        ("track_count", pa.int32()),
        ("files", pa.int32()),
        ("matched_files", pa.int32()),
        ("distance", pa.float64()),
        ("parts", pa.string()),
        ("status", pa.string()),
        ("chosen", pa.bool_()),
        ("reason", pa.string()),
        ("decided_at", pa.timestamp("us")),
    ]
)
_ASSIGNMENTS = pa.schema(
    [
        ("cluster_key", pa.string()),
        ("release_mbid", pa.string()),
        ("track_id", pa.string()),
        ("recording_mbid", pa.string()),
        ("medium", pa.int32()),
        ("position", pa.int32()),
        ("distance", pa.float64()),
        ("number_part", pa.float64()),
        ("title_part", pa.float64()),
        ("length_part", pa.float64()),
        ("decided_at", pa.timestamp("us")),
    ]
)


def write_album_decisions(
    conn: duckdb.DuckDBPyConnection,
    decisions: Sequence[AlbumDecision],
    clusters: Mapping[str, AlbumCluster],
    now: datetime,
) -> int:
    """Each cluster's candidates and assignments replace its last ones (call inside the
    transaction that writes the identifications)."""
    candidates: list[dict] = []
    assignments: list[dict] = []
    for decision in decisions:
        cluster = clusters[decision.cluster_key]
        artist, album, files = cluster.artist, cluster.album, len(cluster.tracks)
        chosen = decision.chosen.release.mbid if decision.chosen else None
        for rank, match in enumerate(decision.matches, 1):
            release = match.release
            candidates.append(
                {
                    "cluster_key": decision.cluster_key,
                    "release_mbid": release.mbid,
                    "rank": rank,
                    "rule": decision.rule,
                    "query": decision.query,
                    "cluster_artist": artist,
                    "cluster_album": album,
                    "release_title": release.title,
                    "release_artist": release.artist_phrase,
                    "release_group_mbid": release.release_group_mbid,
                    "release_date": release.date,
                    "release_country": release.country,
                    "track_count": release.track_count,
                    "files": files,
                    "matched_files": len(match.assignments),
                    "distance": match.distance,
                    "parts": json.dumps(match.parts, sort_keys=True),
                    "status": match.status,
                    "chosen": release.mbid == chosen,
                    "reason": match.reason,
                    "decided_at": now,
                }
            )
            assignments.extend(
                {
                    "cluster_key": decision.cluster_key,
                    "release_mbid": release.mbid,
                    "track_id": fit.track_id,
                    "recording_mbid": fit.recording_mbid,
                    "medium": fit.medium,
                    "position": fit.position,
                    "distance": fit.distance,
                    # An unknown part (no track number, no length) cost nothing.
                    "number_part": fit.number_part or 0.0,
                    "title_part": fit.title_part,
                    "length_part": fit.length_part or 0.0,
                    "decided_at": now,
                }
                for fit in match.assignments
            )
    decided = pa.table({"cluster_key": pa.array([d.cluster_key for d in decisions], pa.string())})
    rows = pa.Table.from_pylist(candidates, schema=_CANDIDATES)
    fits = pa.Table.from_pylist(assignments, schema=_ASSIGNMENTS)
    with registered(conn, decided=decided, rows=rows, fits=fits):
        for table in ("release_candidates", "track_assignments"):
            conn.execute(f"DELETE FROM library.{table} WHERE cluster_key IN (SELECT cluster_key FROM decided)")
        conn.execute(
            f"INSERT INTO library.release_candidates ({', '.join(rows.column_names)}) "
            "SELECT * REPLACE (CAST(parts AS JSON) AS parts) FROM rows"
        )
        conn.execute(f"INSERT INTO library.track_assignments ({', '.join(fits.column_names)}) SELECT * FROM fits")
    return len(candidates)
