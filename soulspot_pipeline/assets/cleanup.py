"""Cleanup: downloads failed long ago given up, leftovers of interrupted imports removed."""

from datetime import timedelta
from pathlib import Path

import dagster as dg

from soulspot_pipeline.assets.shared import DUCKDB_POOL, rebuild
from soulspot_pipeline.importing.place import clean_staging
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.store import downloads as store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now

GIVE_UP_AFTER = timedelta(days=7)  # a download failed this long ago goes back to not needed


@dg.asset(
    deps=[dg.AssetKey("download_transfers")],
    group_name="cleanup",
    kinds={"duckdb"},
    pool=DUCKDB_POOL,
)
def library_cleanup(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    library_policy: LibraryPolicy,
    music_folder: MusicFolder,
) -> dg.MaterializeResult:
    """Housekeeping: downloads failed for a week given up (their tracks back to not needed), import leftovers removed."""
    now = utc_now()
    leftovers = clean_staging(Path(music_folder.music_dir))
    with library_db.writer() as conn:
        abandoned = store.abandon_failed(conn, now - GIVE_UP_AFTER, now)
        # Only a given-up download changes what the merge reads.
        merged = rebuild(conn, library_policy) if abandoned else None
    if merged is not None:
        context.log_event(merged.materialization())
    context.log.info(f"{abandoned} failed downloads given up, {len(leftovers)} import leftovers removed")
    return dg.MaterializeResult(
        metadata={
            "abandoned_downloads": abandoned,
            "staging_leftovers_removed": len(leftovers),
            **({"library_changes": dg.MetadataValue.json(merged.changes)} if merged else {}),
        }
    )
