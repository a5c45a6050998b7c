"""Library: one deduplicated set of artists, albums and tracks, with ownership."""

import os
from collections import Counter

import dagster as dg

from soulspot_pipeline.assets.cloud import METADATA_ORDER, SOURCE_ORDER, cloud_assets
from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.store import entities
from soulspot_pipeline.store.database import LibraryDatabase


def rebuild(conn, policy: LibraryPolicy):
    """Merge every source into the library: the one writer of artists, albums and tracks,
    run by this asset and by every phase or action that changes what the merge reads."""
    return entities.rebuild_library(
        conn, auto_queue=policy.auto_queue_downloads, source_order=SOURCE_ORDER, metadata_order=METADATA_ORDER
    )


@dg.asset(
    deps=[local_scan, *cloud_assets],
    group_name="library",
    kinds={"python", "duckdb"},
    pool="duckdb",
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10),
)
def library_entities(
    context: dg.AssetExecutionContext, library_db: LibraryDatabase, library_policy: LibraryPolicy
) -> dg.MaterializeResult:
    """The library: every source deduplicated into artists, albums and tracks, with what the user owns."""
    with library_db.writer() as conn:
        inputs, result, changes = rebuild(conn, library_policy)
        totals = conn.execute(
            """
            SELECT (SELECT count(*) FROM library.artists), (SELECT count(*) FROM library.albums),
                   (SELECT count(*) FROM library.tracks),
                   (SELECT count(*) FROM library.tracks WHERE ownership_state = 'owned'),
                   (SELECT count(*) FROM library.tracks WHERE download_state = 'downloaded')
            """
        ).fetchall()[0]
        preview = conn.execute(
            """
            SELECT ar.name, al.title, t.title, t.audio_format, t.download_state
            FROM library.tracks t JOIN library.artists ar USING (artist_id)
            LEFT JOIN library.albums al USING (album_id)
            ORDER BY t.updated_at DESC, ar.name, al.title, t.track_number LIMIT 10
            """
        ).fetchall()
    artists, albums, tracks, owned, downloaded = totals
    file_count = len(inputs.local_files)
    duplicates = sum(1 for _, _, _, primary in result.track_files if not primary)
    cloud_items = len(inputs.cloud_tracks) + len(inputs.cloud_albums) + len(inputs.cloud_artists)
    context.log.info(
        f"{file_count} local files and {cloud_items} cloud items -> {len(result.tracks)} tracks "
        f"({duplicates} duplicate files)"
    )
    link_rules = Counter(f"{link.entity_type}:{link.matched_by}" for link in result.links)
    return dg.MaterializeResult(
        metadata={
            "artists": artists,
            "albums": albums,
            "tracks": tracks,
            "owned_tracks": owned,
            "downloaded_tracks": downloaded,
            "local_files": file_count,
            "duplicate_files": duplicates,
            "cloud_items": cloud_items,
            "matched_by": dg.MetadataValue.json(dict(result.rules)),
            "cloud_matched_by": dg.MetadataValue.json(dict(sorted(link_rules.items()))),
            "changes": dg.MetadataValue.json(changes),
            "dagster/row_count": tracks,
            "preview": dg.MetadataValue.md(
                markdown_table(["artist", "album", "title", "format", "download_state"], preview)
            ),
        }
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
