"""Playlists in the media server: one M3U8 file per synced playlist, then a rescan of each configured server."""

import os
from pathlib import Path

import dagster as dg
import duckdb

from soulspot_pipeline.assets.shared import write_atomically
from soulspot_pipeline.domain.playlists import EXTENSION, Entry, Playlist, counts, file_names, render, written_for
from soulspot_pipeline.resources.media_servers import (
    JellyfinResource,
    PlaylistFolder,
    PlexResource,
    RescanFailed,
    SubsonicResource,
)
from soulspot_pipeline.store.database import LibraryDatabase

PREVIEW_FILES, PREVIEW_LINES = 5, 12  # the metadata shows the start of a few files


def synced_playlists(conn: duckdb.DuckDBPyConnection) -> list[Playlist]:
    """Every playlist not disabled and still at its source, with its tracks in order."""
    rows = conn.execute(
        """
        SELECT p.playlist_id, p.name, a.name, t.title, t.duration_ms, t.local_path
        FROM library.playlists p
        LEFT JOIN library.playlist_tracks pt USING (playlist_id)
        LEFT JOIN library.tracks t USING (track_id)
        LEFT JOIN library.artists a USING (artist_id)
        WHERE p.sync_mode <> 'disabled' AND NOT p.removed
        ORDER BY p.playlist_id, pt.position
        """
    ).fetchall()
    names: dict[str, str] = {}
    entries: dict[str, list[Entry]] = {}
    for playlist_id, name, artist, title, duration_ms, local_path in rows:
        names[playlist_id] = name
        listed = entries.setdefault(playlist_id, [])
        if title is not None:
            # A path the library remembers but the disk lost would be a dead entry.
            on_disk = local_path if local_path and os.path.isfile(local_path) else None
            listed.append(Entry(artist or "", title, duration_ms, on_disk))
    return [Playlist(pid, names[pid], tuple(entries[pid])) for pid in names]


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8")
    except (FileNotFoundError, UnicodeDecodeError):
        return None


@dg.asset(
    deps=[dg.AssetKey("library_entities")],
    group_name="playlists",
    kinds={"m3u8"},
)
def playlist_files(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    playlist_folder: PlaylistFolder,
    jellyfin: JellyfinResource,
    subsonic: SubsonicResource,
    plex: PlexResource,
) -> dg.MaterializeResult:
    """Your playlists as M3U8 files in SOULSPOT_PLAYLISTS_DIR, so Jellyfin, Navidrome and Plex show them."""
    folder = Path(playlist_folder.playlists_dir)
    if not folder.parent.is_dir():
        # An unmounted drive: creating the folders would put playlists on the disk underneath.
        status = f"skipped: {folder.parent} does not exist"
        context.log.warning(status)
        return dg.MaterializeResult(metadata={"status": status})
    folder.mkdir(exist_ok=True)
    with library_db.reader() as conn:
        playlists = synced_playlists(conn)
    names = file_names(playlists)
    written: list[str] = []
    unchanged: list[str] = []
    not_ours: list[str] = []
    previews: dict[str, str] = {}
    for playlist in playlists:
        path = folder / names[playlist.playlist_id]
        text = render(playlist, folder)
        existing = _read(path)
        if len(previews) < PREVIEW_FILES:
            previews[path.name] = text
        if existing == text:
            unchanged.append(path.name)
        elif path.exists() and (existing is None or written_for(existing) is None):
            not_ours.append(path.name)  # the user's own file of that name stays as it is
        else:
            write_atomically(path, text.encode("utf-8"))
            written.append(path.name)
    # Our files whose playlist is gone, disabled or renamed; files we did not write stay.
    keep = set(names.values())
    removed = []
    for path in sorted(folder.glob(f"*{EXTENSION}")):
        existing = _read(path)
        if path.name not in keep and existing is not None and written_for(existing) is not None:
            path.unlink()
            removed.append(path.name)
    on_disk, missing = counts(playlists)
    context.log.info(
        f"{len(written)} playlist files written, {len(unchanged)} unchanged, {len(removed)} removed; "
        f"{on_disk} entries, {missing} missing"
    )
    if not_ours:
        context.log.warning(f"left alone, not written by soulspot: {', '.join(not_ours)}")
    rescans = _rescan(context, {"jellyfin": jellyfin, "subsonic": subsonic, "plex": plex}) if written or removed else {}
    preview = "\n\n".join(name + "\n" + "\n".join(text.splitlines()[:PREVIEW_LINES]) for name, text in previews.items())
    return dg.MaterializeResult(
        metadata={
            "playlists_dir": str(folder),
            "written": len(written),
            "unchanged": len(unchanged),
            "removed": len(removed),
            "not_ours": dg.MetadataValue.json(not_ours),
            "entries": on_disk,
            "missing": missing,
            "rescans": dg.MetadataValue.json(rescans),
            "preview": dg.MetadataValue.md(f"```\n{preview}\n```" if preview else "no synced playlists"),
        }
    )


def _rescan(
    context: dg.AssetExecutionContext, servers: dict[str, JellyfinResource | SubsonicResource | PlexResource]
) -> dict[str, str]:
    """Each configured server asked to rescan; a failure is one line in the log and the metadata, never fatal."""
    outcomes: dict[str, str] = {}
    for name, server in servers.items():
        if not server.configured:
            outcomes[name] = "skipped: not configured"
            continue
        try:
            outcomes[name] = server.rescan()
        except RescanFailed as exc:
            outcomes[name] = f"failed: {exc}"
            context.log.warning(f"{name} rescan failed: {exc}")
    return outcomes
