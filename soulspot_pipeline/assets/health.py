"""Library health: every file on disk decoded once, with its verdict and its audio's hash."""

import time
from collections import Counter
from datetime import datetime

import dagster as dg

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import DECODE_POOL
from soulspot_pipeline.domain.audio_health import (
    BROKEN,
    OK,
    TRUNCATED,
    Decoded,
    FileToCheck,
    Verdict,
    judge,
    plan_checks,
)
from soulspot_pipeline.domain.notify import BROKEN_FILE, Event, event_key, one_line
from soulspot_pipeline.domain.run_summary import inside_folder
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import VerifyPolicy
from soulspot_pipeline.scan.audio_check import check_in_workers
from soulspot_pipeline.store import file_checks as store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now

WRITE_BATCH = 100  # verdicts per transaction: a run stopped midway loses at most these decodes


def broken_events(
    batch: list[tuple[FileToCheck, Decoded, Verdict]], music_dir: str, now: datetime, run_id: str
) -> list[Event]:
    """A notification for each file found broken or truncated, keyed by its path, size and mtime:
    the same file checked again is not news, a changed file found broken again is."""
    return [
        Event(
            event_key(BROKEN_FILE, file.path, file.size, file.mtime_ns),
            BROKEN_FILE,
            inside_folder(file.path, music_dir.rstrip("/\\")),
            one_line(f"{verdict.status}: {verdict.reason}" if verdict.reason else verdict.status),
            now,
            run_id,
        )
        for file, _, verdict in batch
        if verdict.status != OK
    ]


@dg.asset(
    deps=[dg.AssetKey("local_scan")],
    group_name="library",
    kinds={"python", "duckdb"},
    pool=DECODE_POOL,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10),
)
def audio_checks(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    music_folder: MusicFolder,
    verify_policy: VerifyPolicy,
) -> dg.MaterializeResult:
    """Every file decoded once: whether its audio is whole (ok, broken or truncated, and why), and its audio's hash."""
    started = time.perf_counter()
    clock = verify_policy.clock
    deadline = clock.now() + verify_policy.minutes * 60
    with library_db.writer(publish=False, patient=True) as conn:
        plan = plan_checks(store.present_files(conn), store.checked_files(conn))
    context.log.info(
        f"{len(plan.to_check)} files to decode: {plan.new} new, {plan.changed} changed ({plan.unchanged} unchanged)"
    )
    statuses: Counter[str] = Counter()
    audio_s = 0.0
    changed_since_scan = 0
    batch: list[tuple[FileToCheck, Decoded, Verdict]] = []
    for results in check_in_workers(plan.to_check, music_folder.scan_workers, lambda: clock.now() < deadline):
        for checked in results:
            if checked.decoded is None:
                changed_since_scan += 1
                continue
            verdict = judge(checked.file, checked.decoded)
            statuses[verdict.status] += 1
            audio_s += checked.decoded.decoded_s
            batch.append((checked.file, checked.decoded, verdict))
        if len(batch) >= WRITE_BATCH:
            # A connection per batch: the lock is free between batches and what is written stays.
            with library_db.writer(publish=False, patient=True) as conn:
                now = utc_now()
                store.write_checks(
                    conn, batch, now, broken_events(batch, music_folder.music_dir, now, context.run.run_id)
                )
            batch = []
            context.log.info(f"decoded {statuses.total()} of {len(plan.to_check)} files")
    with library_db.writer(patient=True) as conn:
        now = utc_now()
        store.write_checks(conn, batch, now, broken_events(batch, music_folder.music_dir, now, context.run.run_id))
        health = store.library_health(conn)
        flagged = store.flagged_files(conn)
    seconds = time.perf_counter() - started
    decoded = statuses.total()
    stopped = decoded + changed_since_scan < len(plan.to_check)
    if stopped:
        context.log.info(
            f"stopped starting files after {verify_policy.minutes:g} minutes (SOULSPOT_VERIFY_MINUTES); "
            f"{health.unchecked} files are left for the next run"
        )
    metadata: dict[str, dg.MetadataValue | int | float | str | bool] = {
        "checked": decoded,
        "ok": statuses[OK],
        "broken": statuses[BROKEN],
        "truncated": statuses[TRUNCATED],
        "left": health.unchecked,
        "budget_reached": stopped,
        "budget_minutes": verify_policy.minutes,
        "new": plan.new,
        "changed": plan.changed,
        "unchanged": plan.unchanged,
        "changed_since_scan": changed_since_scan,
        "audio_hours": round(audio_s / 3600, 4),
        "seconds": round(seconds, 1),
        "files_per_second": round(decoded / seconds, 2) if seconds else 0.0,
        "audio_hours_per_second": round(audio_s / 3600 / seconds, 4) if seconds else 0.0,
        "library": dg.MetadataValue.json(
            {OK: health.ok, BROKEN: health.broken, TRUNCATED: health.truncated, "unchecked": health.unchecked}
        ),
        "dagster/row_count": health.rows,
    }
    if flagged:
        # Inside the music folder, as the user knows the files (the table cuts long cells).
        shown = [
            (inside_folder(path, music_folder.music_dir.rstrip("/\\")), status, reason)
            for path, status, reason in flagged
        ]
        metadata["flagged_files"] = dg.MetadataValue.md(markdown_table(["file", "status", "reason"], shown))
        # The first few for the console's summary, like local_scan's unreadable files.
        metadata["flagged"] = dg.MetadataValue.json(
            [[path, f"{status}: {reason}"] for path, status, reason in shown[:5]]
        )
    metadata["flagged_total"] = health.broken + health.truncated
    return dg.MaterializeResult(metadata=metadata)
