"""Library: one deduplicated set of artists, albums and tracks, with ownership."""

import os
from datetime import UTC

import dagster as dg

from soulspot_pipeline.assets.shared import (
    DUCKDB_POOL,
    library_counts,
    rebuild,
    unchanged_since,
)
from soulspot_pipeline.resources.cloud_sources import CLOUD_SOURCES
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.store.database import LibraryDatabase


@dg.asset(
    deps=[
        dg.AssetKey("local_scan"),
        dg.AssetKey("audio_checks"),  # the verdicts: a broken file is no track's good copy
        *(dg.AssetKey(spec.asset_name) for spec in CLOUD_SOURCES),
    ],
    group_name="library",
    kinds={"python", "duckdb"},
    pool=DUCKDB_POOL,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10),
)
def library_entities(
    context: dg.AssetExecutionContext, library_db: LibraryDatabase, library_policy: LibraryPolicy
) -> dg.MaterializeResult:
    """The library: every source deduplicated into artists, albums and tracks, with what the user owns."""
    with library_db.writer(publish=False) as conn:
        unchanged = unchanged_since(conn, library_policy)
        if unchanged is not None:
            # Nothing the merge reads changed since the last one wrote: it would change nothing.
            fingerprint, merged_at = unchanged
            context.log.info(f"up to date: nothing the merge reads changed since {merged_at:%Y-%m-%d %H:%M:%S} UTC")
            return dg.MaterializeResult(
                metadata={
                    **library_counts(conn),
                    "up_to_date": True,
                    "merged_at": dg.MetadataValue.timestamp(merged_at.replace(tzinfo=UTC)),
                },
                data_version=dg.DataVersion(fingerprint),
            )
        merged = rebuild(conn, library_policy)
        library_db.publish(conn)
    context.log.info(
        f"{merged.summary.local_files} local files and {merged.summary.cloud_items} cloud items -> "
        f"{merged.summary.tracks} tracks ({merged.summary.duplicate_files} duplicate files)"
    )
    # The same fingerprint is the same data: the UI shows the phases downstream up to date.
    return dg.MaterializeResult(
        metadata={**merged.metadata, "up_to_date": False}, data_version=dg.DataVersion(merged.fingerprint)
    )


@dg.asset_check(asset=library_entities, blocking=True, description="No two tracks point at the same file.")
def unique_local_paths(library_db: LibraryDatabase) -> dg.AssetCheckResult:
    with library_db.reader() as conn:
        shared = conn.execute(
            "SELECT local_path, count(*) FROM library.tracks WHERE local_path IS NOT NULL "
            "GROUP BY local_path HAVING count(*) > 1 ORDER BY 2 DESC LIMIT 20"
        ).fetchall()
    return dg.AssetCheckResult(
        passed=not shared,
        metadata={"shared_paths": len(shared), "examples": dg.MetadataValue.json([p for p, _ in shared])},
    )


@dg.asset_check(
    asset=library_entities, blocking=True, description="Every track's artist and album exist in the library."
)
def no_orphaned_tracks(library_db: LibraryDatabase) -> dg.AssetCheckResult:
    with library_db.reader() as conn:
        orphans = conn.execute(
            """
            SELECT t.track_id FROM library.tracks t
            WHERE NOT EXISTS (SELECT 1 FROM library.artists a WHERE a.artist_id = t.artist_id)
               OR (t.album_id IS NOT NULL
                   AND NOT EXISTS (SELECT 1 FROM library.albums al WHERE al.album_id = t.album_id))
            LIMIT 20
            """
        ).fetchall()
    return dg.AssetCheckResult(
        passed=not orphans,
        metadata={"orphaned_tracks": len(orphans), "examples": dg.MetadataValue.json([o for (o,) in orphans])},
    )


@dg.asset_check(asset=library_entities, description="Every downloaded track's file exists on disk.")
def downloaded_files_exist(library_db: LibraryDatabase) -> dg.AssetCheckResult:
    with library_db.reader() as conn:
        paths = conn.execute("SELECT local_path FROM library.tracks WHERE download_state = 'downloaded'").fetchall()
    absent = [p for (p,) in paths if not p or not os.path.isfile(p)]
    return dg.AssetCheckResult(
        passed=not absent,
        severity=dg.AssetCheckSeverity.ERROR,
        metadata={
            "downloaded_tracks": len(paths),
            "absent_files": len(absent),
            "examples": dg.MetadataValue.json([str(p) for p in absent[:20]]),
        },
    )


@dg.asset_check(
    asset=library_entities,
    blocking=True,
    description="No downloaded track points at a file the decode check found broken or truncated.",
)
def no_downloaded_track_on_a_broken_file(library_db: LibraryDatabase) -> dg.AssetCheckResult:
    # Blocking: downloads after a failed check would take such a track for one the user has.
    with library_db.reader() as conn:
        wrong = conn.execute(
            """
            SELECT t.local_path, b.status, b.reason FROM library.tracks t
            JOIN library.broken_files b ON b.path = t.local_path
            WHERE t.download_state = 'downloaded' ORDER BY t.local_path
            """
        ).fetchall()
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={
            "tracks_on_broken_files": len(wrong),
            "examples": dg.MetadataValue.json([f"{p} ({status}: {reason})" for p, status, reason in wrong[:20]]),
        },
    )


@dg.asset_check(asset=library_entities, description="Every group of duplicate files keeps exactly one file.")
def duplicates_keep_one_file(library_db: LibraryDatabase) -> dg.AssetCheckResult:
    with library_db.reader() as conn:
        groups, files = conn.execute("SELECT count(DISTINCT group_id), count(*) FROM library.duplicates").fetchall()[0]
        wrong = conn.execute(
            "SELECT group_id, count(*) FILTER (kept) FROM library.duplicates GROUP BY group_id "
            "HAVING count(*) FILTER (kept) <> 1 ORDER BY group_id LIMIT 20"
        ).fetchall()
    return dg.AssetCheckResult(
        passed=not wrong,
        metadata={
            "groups": groups,
            "files": files,
            "groups_not_keeping_one": len(wrong),
            "examples": dg.MetadataValue.json({group: kept for group, kept in wrong}),
        },
    )
