"""Discover: what the user liked, saved, followed and collected in playlists on cloud services.

One asset per provider registered in ``resources/cloud_sources.py``, all built by one factory.
"""

import traceback

import dagster as dg

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.domain.cloud import SKIP_REASONS, LoginRequired, ProviderError
from soulspot_pipeline.domain.cloud_sync import ENDPOINTS, SourceSync, collect
from soulspot_pipeline.domain.resilience import breaker_after_failure, breaker_after_success, breaker_allows
from soulspot_pipeline.resources.cloud_sources import CLOUD_SOURCES, CloudSourceSpec
from soulspot_pipeline.store import cloud as cloud_store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now


def sync_cloud_source(context: dg.AssetExecutionContext, source, library_db: LibraryDatabase) -> dg.MaterializeResult:
    """Read one provider completely and store it; the circuit breaker rests a failing one."""
    if not source.configured:
        return dg.MaterializeResult(metadata={"status": "skipped: not configured", "dagster/row_count": 0})
    now = utc_now()
    with library_db.writer(publish=False, patient=True) as conn:
        breaker = cloud_store.load_breaker(conn, source.name)
        modes, versions = cloud_store.load_playlist_state(conn, source.name)
    if not breaker_allows(breaker, now):
        status = (
            f"skipped: unavailable until {breaker.open_until:%Y-%m-%d %H:%M} UTC after {breaker.failures} failed "
            f"syncs (last error: {breaker.last_error})"
        )
        context.log.warning(f"{source.name}: {status}")
        return dg.MaterializeResult(metadata={"status": status, "dagster/row_count": 0})

    try:
        sync = collect(source, playlist_modes=modes, known_versions=versions, progress=context.log.info)
    except Exception as exc:
        if isinstance(exc, (LoginRequired, ProviderError)):
            reason = str(exc)
        else:
            # The resources turn every client error into one of ours; anything else is a bug,
            # whose traceback belongs in the run's log, not in the phase's message.
            context.log.error(f"{source.name} sync: unexpected error\n{traceback.format_exc()}")
            reason = (
                f"unexpected {type(exc).__name__}: {exc}. This is a bug in soulspot (the traceback is in the "
                "run's log); the next sync tries again"
            )
        failed = breaker_after_failure(breaker, now, reason)
        with library_db.writer(publish=False, patient=True) as conn:
            cloud_store.save_breaker(conn, source.name, failed, now)
        raise dg.Failure(
            description=f"{source.name} sync failed: {reason}",
            metadata={
                "failures_in_a_row": failed.failures,
                "rested_until": str(failed.open_until) if failed.open_until else "not rested yet",
                **source.stats.as_metadata(),
            },
            allow_retries=False,
        ) from None

    with library_db.writer(patient=True) as conn:
        changes = cloud_store.write_sync(conn, sync, now)
        cloud_store.save_breaker(conn, source.name, breaker_after_success(breaker), now)
        recent = conn.execute(
            """
            SELECT t.artist_name, t.title, l.added_at FROM library.cloud_likes l
            JOIN library.cloud_tracks t ON t.source = l.source AND t.track_id = l.item_id
            WHERE l.source = ? AND l.kind = 'track' AND l.unliked_at IS NULL
            ORDER BY l.added_at DESC NULLS LAST, t.title LIMIT 10
            """,
            [source.name],
        ).fetchall()

    for name, o in sync.endpoints.items():
        if o.status == "unavailable":
            context.log.warning(f"{source.name}: {name} unavailable ({o.detail}); the rest of the sync went on")
    endpoints = [(name, o.status, o.items, o.detail or "") for name, o in sync.endpoints.items()]
    likes = {kind: len(items) for kind, items in sync.likes.items()}
    skipped = sync.skipped
    by_listing = sync.skipped_by_listing()
    return dg.MaterializeResult(
        metadata={
            "status": sync_status(sync),
            "liked_tracks": likes.get("track", 0),
            "saved_albums": likes.get("album", 0),
            "followed_artists": likes.get("artist", 0),
            "playlists": len(sync.playlists or ()),
            "playlists_read": len(sync.playlist_items),
            "tracks_seen": len(sync.tracks),
            # Every reason, zeros included: a reason missing here is never a count lost.
            "skipped_items": dg.MetadataValue.json({reason: skipped.get(reason, 0) for reason in SKIP_REASONS}),
            "skipped": dg.MetadataValue.md(
                markdown_table(
                    ["endpoint", *SKIP_REASONS],
                    [(name, *(counts.get(r, 0) for r in SKIP_REASONS)) for name, counts in sorted(by_listing.items())],
                )
            ),
            "unavailable_items": len(sync.unavailable_items),
            "endpoints": dg.MetadataValue.md(markdown_table(["endpoint", "status", "items", "detail"], endpoints)),
            "changes": dg.MetadataValue.json(changes),
            **source.stats.as_metadata(),
            "dagster/row_count": sum(likes.values()),
            "preview": dg.MetadataValue.md(markdown_table(["artist", "title", "added_at"], recent)),
        }
    )


def sync_status(sync: SourceSync) -> str:
    """``synced``, or ``partial`` with what could not be read, and the endpoints the provider refused."""
    partial = [f"{name}: {o.detail}" for name, o in sync.endpoints.items() if o.status == "partial"]
    refused = sorted(
        name for name in ENDPOINTS if name in sync.endpoints and sync.endpoints[name].status == "unavailable"
    )
    status = f"partial: {'; '.join(partial)}" if partial else "synced"
    return f"{status}; unavailable: {', '.join(refused)}" if refused else status


def build_cloud_asset(spec: CloudSourceSpec) -> dg.AssetsDefinition:
    # The API calls are the long part, so the asset takes its provider's pool; its one
    # short write waits for the database lock like every writer.
    @dg.asset(
        name=spec.asset_name,
        description=spec.description,
        group_name="discover",
        kinds={spec.name, "duckdb"},
        pool=spec.pool,
        required_resource_keys={spec.resource_key, "library_db"},
    )
    def cloud_source_asset(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        return sync_cloud_source(context, getattr(context.resources, spec.resource_key), context.resources.library_db)

    return cloud_source_asset


cloud_assets: list[dg.AssetsDefinition] = [build_cloud_asset(spec) for spec in CLOUD_SOURCES]
