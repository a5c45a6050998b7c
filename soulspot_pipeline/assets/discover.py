"""Discover: what the user has. Here, the audio files in the music folder."""

import dagster as dg
from pydantic import Field

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import DUCKDB_POOL
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.scan.scanner import MusicFolderUnavailableError
from soulspot_pipeline.store.database import LibraryDatabase


class LocalScanConfig(dg.Config):
    allow_empty: bool = Field(
        default=False,
        description=(
            "Accept a music folder with no audio files even though the library knows files "
            "in it (marks them all missing). Off, an empty folder is taken for an unmounted drive."
        ),
    )


@dg.asset(
    group_name="discover",
    kinds={"python", "duckdb"},
    pool=DUCKDB_POOL,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=10, backoff=dg.Backoff.EXPONENTIAL),
)
def local_scan(
    context: dg.AssetExecutionContext,
    config: LocalScanConfig,
    library_db: LibraryDatabase,
    music_folder: MusicFolder,
) -> dg.MaterializeResult:
    """Every audio file in the music folder with its tags and audio properties; unreadable files with the reason."""
    with library_db.writer() as conn:
        try:
            summary = music_folder.scan(conn, allow_empty=config.allow_empty, progress=context.log.info)
        except MusicFolderUnavailableError as exc:
            # Waiting a few seconds does not mount a drive: fail at once, with what to do.
            raise dg.Failure(description=str(exc), allow_retries=False) from None
        formats = dict(
            conn.execute(
                "SELECT format, count(*) FROM library.local_files WHERE NOT missing GROUP BY format ORDER BY 2 DESC"
            ).fetchall()
        )
        total_rows = conn.execute("SELECT count(*) FROM library.local_files").fetchall()[0][0]
        error_rows = conn.execute(
            "SELECT path, kind, error FROM library.scan_errors ORDER BY seen_at DESC, path LIMIT 10"
        ).fetchall()
        (unreadable,) = conn.execute("SELECT count(*) FROM library.scan_errors WHERE kind = 'unreadable'").fetchall()[0]
        unreadable_files = conn.execute(
            "SELECT path, error FROM library.scan_errors WHERE kind = 'unreadable' ORDER BY path LIMIT 5"
        ).fetchall()
        recent = conn.execute(
            "SELECT artist, album, title, format, path FROM library.local_files "
            "WHERE NOT missing ORDER BY scanned_at DESC, path LIMIT 10"
        ).fetchall()

    if not summary.folder_exists:
        context.log.warning(f"the music folder {summary.music_dir} does not exist yet; nothing to scan")
    metadata: dict[str, dg.MetadataValue | int | float | str] = {
        "music_dir": dg.MetadataValue.path(summary.music_dir),
        "seen": summary.seen,
        "new": summary.new,
        "changed": summary.changed,
        "unchanged": summary.unchanged,
        "reappeared": summary.reappeared,
        "missing": summary.missing,
        "errors": summary.errors,
        "errors_unchanged": summary.unchanged_errors,
        "unreadable": unreadable,
        # The first few by path, so the console and the UI can name them.
        "unreadable_files": dg.MetadataValue.json([list(row) for row in unreadable_files]),
        "tag_warnings": summary.warnings,
        "ignored_non_audio": summary.ignored_non_audio,
        "files_per_second": round(summary.files_per_second, 1),
        "formats": dg.MetadataValue.json(formats),
        "dagster/row_count": total_rows,
        "preview": dg.MetadataValue.md(markdown_table(["artist", "album", "title", "format", "path"], recent)),
    }
    if not summary.folder_exists:
        metadata["status"] = "music folder does not exist"
    if error_rows:
        metadata["scan_errors"] = dg.MetadataValue.md(markdown_table(["path", "kind", "error"], error_rows))
    if summary.walk.unreadable_dirs:
        metadata["unreadable_folders"] = dg.MetadataValue.json(dict(list(summary.walk.unreadable_dirs.items())[:50]))
    return dg.MaterializeResult(metadata=metadata)
