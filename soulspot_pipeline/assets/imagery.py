"""Imagery: album covers and artist pictures fetched, validated and stored; a cover wall of the library."""

import base64
import hashlib
import os
from datetime import timedelta
from pathlib import Path

import dagster as dg
from dagster._core.storage.local_compute_log_manager import LocalComputeLogManager  # not exported

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import IMAGES_POOL, LIBRARY_ENTITIES, write_atomically
from soulspot_pipeline.domain.image_sources import (
    COVER_ART_ARCHIVE,
    FAILED,
    NONE,
    STORED,
    ImageTarget,
    candidates,
    needs_fetch,
)
from soulspot_pipeline.domain.images import (
    WALL_MAX_COLUMNS,
    WALL_MAX_TILES,
    WALL_TILE_PX,
    ImageRejected,
    prepare_image,
    render_cover_wall,
)
from soulspot_pipeline.resources.images import CoverArtResource
from soulspot_pipeline.resources.policies import ImagePolicy
from soulspot_pipeline.store import images as store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now

# Without a local compute-log folder to serve the wall from, the metadata holds a preview
# instead: 100 covers at 48 px, a few hundred kilobytes at most, so the event log stays light.
PREVIEW_TILES, PREVIEW_TILE_PX = 100, 48
# The webserver serves <compute-log dir>/<namespace>/<name>.<ext> at /logs/<namespace>/<name>/<ext>.
WALL_LOG_NAMESPACE = "soulspot"
WALLS_KEPT = 5


def front_covers(
    cover_art: CoverArtResource, targets: list[ImageTarget]
) -> tuple[dict[str, str], dict[str, list[str]]]:
    """The Cover Art Archive's front cover URL per target (by release group, else release),
    and per target why the archive gave none."""
    found: dict[str, str] = {}
    problems: dict[str, list[str]] = {}
    remaining = {t.key: list(t.caa_refs) for t in targets if t.caa_refs}
    while remaining:
        refs = [(key, *refs.pop(0)) for key, refs in remaining.items()]
        for key, answer in cover_art.front_cover_urls(refs).items():
            if isinstance(answer, str):
                found[key] = answer
                remaining.pop(key)
            elif isinstance(answer, Exception):
                problems.setdefault(key, []).append(f"{COVER_ART_ARCHIVE}: {answer}")
        remaining = {key: refs for key, refs in remaining.items() if refs}
    return found, problems


def fetch_images(
    cover_art: CoverArtResource, targets: list[ImageTarget], images_dir: Path, now, retry: timedelta, progress
):
    """Try each target's sources in order until one gives a valid image; store it as JPEGs."""
    caa, problems = front_covers(cover_art, targets)
    pending = {t.key: candidates(t, caa.get(t.key)) for t in targets}
    by_key = {t.key: t for t in targets}
    outcomes: list[store.ImageOutcome] = []
    for key in [k for k, c in pending.items() if not c]:
        target = by_key[key]
        reason = (
            "; ".join(problems.get(key, []))
            or f"no source has a{'' if target.entity_type == 'album' else 'n'} {target.entity_type} image"
        )
        outcomes.append(
            store.ImageOutcome(target, FAILED if key in problems else NONE, error=reason, retry_after=now + retry)
        )
        pending.pop(key)
    while pending:
        tries = {key: found.pop(0) for key, found in pending.items()}
        answers = cover_art.fetch([(key, url) for key, (_, url) in tries.items()])
        for key, (source, url) in tries.items():
            target, answer = by_key[key], answers[key]
            try:
                if isinstance(answer, Exception):
                    raise ImageRejected(str(answer))
                image = prepare_image(answer)
            except ImageRejected as exc:
                problems.setdefault(key, []).append(f"{source}: {exc.reason}")
                if not pending[key]:
                    pending.pop(key)
                    outcomes.append(
                        store.ImageOutcome(
                            target, FAILED, source, url, error="; ".join(problems[key]), retry_after=now + retry
                        )
                    )
                continue
            folder = images_dir / f"{target.entity_type}s"
            path, thumbnail = folder / f"{target.entity_id}.jpg", folder / f"{target.entity_id}-250.jpg"
            write_atomically(thumbnail, image.thumbnail)
            write_atomically(path, image.full)
            pending.pop(key)
            outcomes.append(
                store.ImageOutcome(
                    target,
                    STORED,
                    source,
                    url,
                    str(path),
                    str(thumbnail),
                    image.checksum,
                    len(image.full),
                    image.width,
                    image.height,
                )
            )
        progress(f"{len(outcomes)} of {len(targets)} images decided")
    return outcomes


def write_cover_files(conn, outcomes: list[store.ImageOutcome]) -> int:
    """cover.jpg beside the files of each album that lives in one folder, never over one already there."""
    stored = {
        o.target.entity_id: o.path
        for o in outcomes
        if o.status == STORED and o.path is not None and o.target.entity_type == "album"
    }
    written = 0
    for album_id, folder in store.album_folders(conn, list(stored)):
        cover = Path(folder) / "cover.jpg"
        if Path(folder).is_dir() and not cover.exists():
            write_atomically(cover, Path(stored[album_id]).read_bytes())
            written += 1
    return written


@dg.asset(
    deps=[dg.AssetKey("enriched_metadata"), LIBRARY_ENTITIES],
    group_name="imagery",
    kinds={"pillow", "duckdb"},
    pool=IMAGES_POOL,
)
def images(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    cover_art: CoverArtResource,
    image_policy: ImagePolicy,
) -> dg.MaterializeResult:
    """Album covers and artist pictures, validated and stored as JPEGs with thumbnails."""
    now = utc_now()
    with library_db.writer(publish=False, patient=True) as conn:
        targets = store.load_targets(conn)
        states = store.load_states(conn)
    retry = timedelta(hours=image_policy.retry_hours)
    todo = [t for t in targets if needs_fetch(states.get(t.key), now, retry)]
    context.log.info(f"{len(todo)} of {len(targets)} albums and artists need an image")
    outcomes = fetch_images(cover_art, todo, Path(image_policy.images_dir), now, retry, context.log.info)
    with library_db.writer(patient=True) as conn:
        counts = store.write_outcomes(conn, outcomes, now)
        covers_written = write_cover_files(conn, outcomes) if image_policy.write_cover_jpg else 0
        totals = dict(conn.execute("SELECT status, count(*) FROM library.images GROUP BY 1").fetchall())
        sources = conn.execute(
            "SELECT entity_type, coalesce(source, '-'), status, count(*) FROM library.images GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        failures = conn.execute(
            "SELECT entity_type, entity_id, error FROM library.images WHERE status = 'failed' ORDER BY attempted_at DESC, 2 LIMIT 10"
        ).fetchall()
    return dg.MaterializeResult(
        metadata={
            "status": "fetched",
            "looked_for": len(todo),
            "this_run": dg.MetadataValue.json(counts),
            "all_images": dg.MetadataValue.json(totals),
            "cover_jpg_written": covers_written,
            **cover_art.stats.as_metadata(),
            "dagster/row_count": sum(totals.values()),
            "by_source": dg.MetadataValue.md(markdown_table(["type", "source", "status", "count"], sources)),
            "recent_failures": dg.MetadataValue.md(markdown_table(["type", "id", "reason"], failures)),
        }
    )


def publish_wall(instance: dg.DagsterInstance, wall: bytes) -> str | None:
    """The wall's URL on the Dagster webserver, written into the instance's compute-log folder
    (which it serves at ``/logs/...``); None when that folder is not local.

    The name carries the wall's digest, so each materialization links its own picture and a
    browser never shows a stale one; only the newest ``WALLS_KEPT`` stay.
    """
    manager = instance.compute_log_manager
    if not isinstance(manager, LocalComputeLogManager):
        return None
    name = f"cover_wall-{hashlib.sha256(wall).hexdigest()[:16]}"
    path = Path(manager.get_captured_local_path([WALL_LOG_NAMESPACE, name], "png"))
    write_atomically(path, wall)  # the same wall again is simply the newest once more
    walls = sorted(path.parent.glob("cover_wall-*.png"), key=lambda p: p.stat().st_mtime_ns, reverse=True)
    for old in walls[WALLS_KEPT:]:
        if old != path:
            old.unlink(missing_ok=True)
    return f"/logs/{WALL_LOG_NAMESPACE}/{name}/png"


@dg.asset(deps=[images], group_name="imagery", kinds={"pillow"})
def cover_wall(
    context: dg.AssetExecutionContext, library_db: LibraryDatabase, image_policy: ImagePolicy
) -> dg.MaterializeResult:
    """A mosaic of the library's album covers, newest first: the whole library at a glance."""
    with library_db.reader() as conn:
        covers = store.cover_thumbnails(conn, WALL_MAX_TILES)
    thumbnails = [Path(path).read_bytes() for _, path in covers if path and os.path.exists(path)]
    wall = render_cover_wall(thumbnails, tile_px=WALL_TILE_PX, max_columns=WALL_MAX_COLUMNS, max_tiles=WALL_MAX_TILES)
    path = Path(image_policy.images_dir) / "cover_wall.png"
    write_atomically(path, wall)
    url = publish_wall(context.instance, wall)
    if url is not None:
        shown = f"![cover wall]({url})"  # short, so the UI shows it inline, at full size
    else:
        preview = render_cover_wall(thumbnails, tile_px=PREVIEW_TILE_PX, max_tiles=PREVIEW_TILES)
        shown = f"![cover wall](data:image/png;base64,{base64.b64encode(preview).decode()})"
    context.log.info(f"cover wall of {len(thumbnails)} covers written to {path} ({len(wall):,} bytes)")
    return dg.MaterializeResult(
        metadata={
            "cover_wall": dg.MetadataValue.md(shown),
            "covers": len(thumbnails),
            "path": dg.MetadataValue.path(str(path)),
            "size_bytes": len(wall),
        }
    )
