"""What the user decides, as jobs launchable from the Dagster UI with typed config.

Each job records the decision and rebuilds the library with the same merge the
`library_entities` asset runs, so the decision shows at once and survives every later
sync: a removed like stays removed until it is liked again, an ignored one for good.
"""

import os
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import TypeVar

import dagster as dg
import duckdb
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition  # not exported
from pydantic import Field

from soulspot_pipeline.assets.expand import discography_gaps
from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import rebuild
from soulspot_pipeline.domain.cloud import DISABLED, OWN, REFERENCE, ProviderError
from soulspot_pipeline.domain.library_merge import ENRICHED_FIELDS
from soulspot_pipeline.domain.naming import UnsafePathError
from soulspot_pipeline.domain.ownership import IGNORED, REMOVED
from soulspot_pipeline.domain.slskd_states import transfer_outcome
from soulspot_pipeline.importing.place import REPLACED, append_record, set_aside
from soulspot_pipeline.organize import organize_library, undo_organize
from soulspot_pipeline.requests_job import request_job
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.resources.slskd import SlskdResource
from soulspot_pipeline.store import decisions
from soulspot_pipeline.store import downloads as download_store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.duplicates import ExtraCopy, extra_copies, tracks_left_without_a_file, write_duplicates
from soulspot_pipeline.store.enrich import write_metadata
from soulspot_pipeline.store.requests import request_label
from soulspot_pipeline.store.sql import utc_now


class EntityType(StrEnum):
    artist = "artist"
    album = "album"
    track = "track"


class PlaylistMode(StrEnum):
    reference = REFERENCE
    own = OWN
    disabled = DISABLED


class EntityConfig(dg.Config):
    entity_type: EntityType = Field(description="artist, album or track.")
    entity_id: str = Field(description="The library id (artist_id, album_id or track_id in the library tables).")


class PlaylistModeConfig(dg.Config):
    playlist_id: str = Field(description="The library playlist id, `source:id` (library.playlists.playlist_id).")
    sync_mode: PlaylistMode = Field(
        description="reference: listed, tracks not owned (default); own: its tracks become owned; disabled: not synced."
    )


class MetadataConfig(EntityConfig):
    field: str = Field(
        description="An enriched field: " + "; ".join(f"{t}: {', '.join(f)}" for t, f in ENRICHED_FIELDS.items())
    )
    value: str | None = Field(
        default=None,
        description="The value (lists comma-separated); empty to drop your value and fall back to the sources.",
    )


def manual_value(entity_type: str, field: str, value: str | None) -> object:
    """The typed value of a field as the user typed it; raises InvalidValueError with the reason."""
    if field not in ENRICHED_FIELDS[entity_type]:
        raise decisions.InvalidValueError(
            f"{entity_type}s have no field {field!r}; choose one of {', '.join(ENRICHED_FIELDS[entity_type])}"
        )
    if value is None or not value.strip():
        return None
    if field in ("genres", "tags", "secondary_types"):
        return [part.strip() for part in value.split(",") if part.strip()]
    if field in ("total_tracks", "medium_count", "duration_ms"):
        try:
            return int(value)
        except ValueError:
            raise decisions.InvalidValueError(f"{field} must be a whole number, not {value!r}") from None
    return value.strip()


C = TypeVar("C", bound=dg.Config)

# What each action records, given its config; returns what it did, in words.
Act = Callable[[duckdb.DuckDBPyConnection, datetime, C], str]


def _action_job(name: str, op_name: str, config_type: type[C], description: str, act: Act[C]) -> dg.JobDefinition:
    """A job of one op: record the decision and rebuild the library in one writer session."""

    @dg.op(name=op_name, description=description)
    def action(
        context: dg.OpExecutionContext,
        config: config_type,  # type: ignore[valid-type]  # Dagster reads each job's config class from here
        library_db: LibraryDatabase,
        library_policy: LibraryPolicy,
    ) -> None:
        with library_db.writer() as conn:
            try:
                text = act(conn, utc_now(), config)
            except (decisions.UnknownEntityError, decisions.InvalidValueError) as exc:
                raise dg.Failure(description=str(exc)) from None
            merged = rebuild(conn, library_policy)
        context.log.info(text)
        context.log_event(merged.materialization(action=text))

    @dg.job(name=name, description=description, tags={"soulspot/kind": "user_action"})
    def action_job():
        action()

    return action_job


def _decide(decision: str | None, verb: str) -> Act[EntityConfig]:
    def act(conn, now, config: EntityConfig) -> str:
        entity_type, entity_id = config.entity_type.value, config.entity_id
        label = decisions.entity_name(conn, entity_type, entity_id)
        decisions.record_decision(conn, entity_type, entity_id, decision, now)
        return f"{verb} {entity_type} '{label}' ({entity_id})"

    return act


def _request(conn, now, config: EntityConfig) -> str:
    entity_type, entity_id = config.entity_type.value, config.entity_id
    label = decisions.entity_name(conn, entity_type, entity_id)
    count = decisions.request_downloads(conn, entity_type, entity_id, now)
    return f"requested downloads for {entity_type} '{label}': {count} track(s)"


def _set_mode(conn, now, config: PlaylistModeConfig) -> str:
    name = decisions.set_playlist_mode(conn, config.playlist_id, config.sync_mode.value, now)
    return f"playlist '{name}' is now synced as {config.sync_mode.value}"


def _set_field(conn, now, config: MetadataConfig) -> str:
    entity_type = config.entity_type.value
    value = manual_value(entity_type, config.field, config.value)
    label = decisions.entity_name(conn, entity_type, config.entity_id)
    write_metadata(conn, [(entity_type, config.entity_id, config.field, value)], "manual", now)
    return (
        f"{config.field} of {entity_type} '{label}' set to {value!r}"
        if value is not None
        else f"your {config.field} of '{label}' dropped"
    )


remove_from_library = _action_job(
    "remove_from_library",
    "remove",
    EntityConfig,
    "Un-own an artist, album or track and what it contains; a later like, file or request owns it again.",
    _decide(REMOVED, "removed"),
)
ignore_in_library = _action_job(
    "ignore_in_library",
    "ignore",
    EntityConfig,
    "Ignore an artist, album or track and what it contains: no sync owns it again, nothing downloads it.",
    _decide(IGNORED, "ignored"),
)
restore_to_library = _action_job(
    "restore_to_library",
    "restore",
    EntityConfig,
    "Forget a remove or ignore decision: the entity is owned again wherever a source says so.",
    _decide(None, "restored"),
)
request_downloads = _action_job(
    "request_downloads",
    "request_entity",  # not `request`: that is the request job's name
    EntityConfig,
    "Request downloads: a track, an album's tracks, or an artist's owned albums become owned and pending.",
    _request,
)
set_playlist_sync_mode = _action_job(
    "set_playlist_sync_mode",
    "set_mode",
    PlaylistModeConfig,
    "Choose per playlist: reference only, auto-own its tracks, or disabled.",
    _set_mode,
)
set_metadata = _action_job(
    "set_metadata",
    "set_field",
    MetadataConfig,
    "Set a genre, date, type or other enriched field by hand: your value wins over every source.",
    _set_field,
)

# Deciding on gaps runs the discography phase itself with the decisions as its config, so a
# requested album's tracks are fetched and queued at once (the browse is cached).
decide_discography_gaps = dg.define_asset_job(
    "decide_discography_gaps",
    selection=[discography_gaps],
    description=(
        "Request, ignore or reset discography gaps: in the launchpad, list release group MBIDs under "
        "ops.discography_gaps.config.request / ignore / reset."
    ),
    tags={"soulspot/kind": "user_action"},
)


class ResolveDuplicatesConfig(dg.Config):
    dry_run: bool = Field(
        default=True, description="Only show the plan (a table in the run's metadata): nothing moves."
    )
    track_ids: list[str] | None = Field(
        default=None,
        description="Only the duplicate groups holding a file of these tracks (library.tracks.track_id); all when left out.",
    )


# One JSON object per line (original, moved_to, reason, kept, moved_at): any file name fits.
MANIFEST = "manifest.jsonl"
PLAN_ROWS = 200  # rows of the plan table shown; the counts cover every file


@dataclass(frozen=True)
class Verdict:
    """What becomes of one extra copy: moved to ``moved_to``, or left where it is because of ``skipped``."""

    copy: ExtraCopy
    skipped: str | None = None
    moved_to: Path | None = None


def _hold_back(copy: ExtraCopy, music_dir: Path) -> str | None:
    """Why moving ``copy`` now would be unsafe, or None: only files the last scan saw as they are,
    whose kept file is still there and is another file, leave the library."""
    kept, extra = Path(copy.kept_path), Path(copy.path)
    try:
        if kept.stat().st_size != copy.kept_size:
            return "the kept file changed since the last scan"
        st = extra.stat()
        if (st.st_size, st.st_mtime_ns) != (copy.size, copy.mtime_ns):
            return "changed since the last scan"
        if os.path.samefile(kept, extra):
            return "the same file as the kept one (a link)"
    except OSError as exc:
        which = "the kept file" if exc.filename == str(kept) else "the file"
        gone = isinstance(exc, FileNotFoundError)
        return f"{which} is gone since the last scan" if gone else f"{which} cannot be read: {exc.strerror or exc}"
    if not extra.resolve().is_relative_to(music_dir.resolve()):
        return "outside the music folder"
    return None


def append_manifest(music_dir: Path, original: Path, moved_to: Path, reason: str, kept: str) -> None:
    """Record a file moved to ``REPLACED`` (after the move: a line never names a move that did not happen)."""
    entry = {
        "original": str(original),
        "moved_to": str(moved_to),
        "reason": reason,
        "kept": kept,
        "moved_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    append_record(music_dir / REPLACED / MANIFEST, entry)


def _plan_table(verdicts: list[Verdict], music_dir: Path) -> str:
    def shown(path: str | Path) -> str:
        p = Path(path)
        return p.relative_to(music_dir).as_posix() if p.is_relative_to(music_dir) else str(p)

    rows = [
        (
            shown(v.copy.kept_path),
            shown(v.copy.path),
            v.copy.reason,
            f"skipped: {v.skipped}" if v.skipped else shown(v.moved_to) if v.moved_to else "to move",
        )
        for v in verdicts[:PLAN_ROWS]
    ]
    return markdown_table(["kept", "extra copy", "why the kept one", "outcome"], rows)


@dg.op(
    name="resolve",
    description="Move every extra copy of a duplicate group to .soulspot-replaced/, with a manifest line; rescan.",
)
def resolve(
    context: dg.OpExecutionContext,
    config: ResolveDuplicatesConfig,
    library_db: LibraryDatabase,
    library_policy: LibraryPolicy,
    music_folder: MusicFolder,
) -> None:
    music_dir = Path(music_folder.music_dir)
    with library_db.writer() as conn:
        now = utc_now()
        for track_id in config.track_ids or ():
            try:
                decisions.entity_name(conn, "track", track_id)
            except decisions.UnknownEntityError as exc:
                raise dg.Failure(description=str(exc)) from None
        # Afresh: the decode checks may have found new hashes since the last merge.
        left = write_duplicates(conn, now)["groups"]
        verdicts = [Verdict(copy, _hold_back(copy, music_dir)) for copy in extra_copies(conn, config.track_ids)]
        if not config.dry_run:
            verdicts = [v if v.skipped else _move(v.copy, music_dir) for v in verdicts]
        # Dry run: what would move; otherwise: what moved (a failed move is skipped).
        movable = [v for v in verdicts if not v.skipped]
        groups = len({v.copy.group_id for v in verdicts})
        merged, emptied = None, []
        if movable and not config.dry_run:
            music_folder.scan(conn, progress=context.log.info)  # the moved files are now missing
            # A track whose only file was the same audio as another track's (a compilation's copy
            # of an album track) would wait to be downloaded again: it leaves the library instead,
            # as remove_from_library would (restore_to_library brings it back).
            emptied = tracks_left_without_a_file(conn, [v.copy.path for v in movable])
            for track_id in emptied:
                decisions.record_decision(conn, "track", track_id, REMOVED, now)
            merged = rebuild(conn, library_policy)
            left = merged.duplicates["groups"]
    action = (
        f"{'would move' if config.dry_run else 'moved'} {len(movable)} extra "
        f"{'copy' if len(movable) == 1 else 'copies'} of {groups} duplicate group(s) to {REPLACED}/"
        + (f"; {len(verdicts) - len(movable)} left in place" if len(movable) < len(verdicts) else "")
        + (f"; {len(emptied)} track(s) whose audio another track keeps removed from the library" if emptied else "")
    )
    context.log.info(action)
    if merged is not None:
        context.log_event(merged.materialization(action=action))
    context.add_output_metadata(
        {
            "action": action,
            "dry_run": config.dry_run,
            "groups": groups,
            "extra_copies": len(verdicts),
            "moved": 0 if config.dry_run else len(movable),
            "skipped": len(verdicts) - len(movable),
            "tracks_removed": len(emptied),
            "bytes": sum(v.copy.size for v in movable),
            "groups_left": left,
            "manifest": dg.MetadataValue.path(str(music_dir / REPLACED / MANIFEST)),
            "plan": dg.MetadataValue.md(_plan_table(verdicts, music_dir)),
        }
    )


def _move(copy: ExtraCopy, music_dir: Path) -> Verdict:
    try:
        moved_to = set_aside(Path(copy.path), music_dir)  # never overwrites: refuses if the target exists
    except (OSError, UnsafePathError) as exc:  # e.g. the target appeared meanwhile, a name set_aside refuses
        return Verdict(copy, skipped=f"not moved: {exc}")
    append_manifest(music_dir, Path(copy.path), moved_to, copy.reason, copy.kept_path)
    return Verdict(copy, moved_to=moved_to)


@dg.job(
    name="resolve_duplicates",
    description=(
        "Keep one file of each duplicate group (library.duplicates) and move the other copies to "
        ".soulspot-replaced/ with a manifest line each, never deleting; then rescan. dry_run (default) shows the plan."
    ),
    tags={"soulspot/kind": "user_action"},
)
def resolve_duplicates():
    resolve()


# -- controlling downloads --------------------------------------------------------------------


class DownloadScope(StrEnum):
    track = "track"
    album = "album"
    request = "request"
    all = "all"


class DownloadsConfig(dg.Config):
    scope: DownloadScope = Field(description="track, album, request (by link or search), or all downloads.")
    entity_id: str | None = Field(
        default=None,
        description="The track_id, album_id or request_id (library.tracks / library.albums / library.requests); not for all.",
    )


class PriorityConfig(DownloadsConfig):
    priority: int = Field(description="The place in the queue: higher is searched first; 0 is the default.")


def _scope_label(conn: duckdb.DuckDBPyConnection, config: DownloadsConfig) -> str:
    """What the config names, in words; raises when it names nothing."""
    if config.scope == DownloadScope.all:
        return "all downloads"
    if not config.entity_id:
        raise decisions.InvalidValueError(f"give the {config.scope.value}'s id in entity_id (or choose scope all)")
    if config.scope == DownloadScope.request:
        return f"request {config.entity_id} '{request_label(conn, config.entity_id)}'"
    return f"{config.scope.value} '{decisions.entity_name(conn, config.scope.value, config.entity_id)}'"


def _retry(conn, now, config: DownloadsConfig) -> str:
    label = _scope_label(conn, config)
    count = download_store.retry(conn, config.scope.value, config.entity_id, now)
    return f"retrying {label}: {count} failed, not found or abandoned download(s) pending again, attempts reset"


def _prioritize(conn, now, config: PriorityConfig) -> str:
    label = _scope_label(conn, config)
    count = download_store.set_priority(conn, config.scope.value, config.entity_id, config.priority, now)
    return f"download priority of {label} set to {config.priority}: {count} track(s)"


retry_downloads = _action_job(
    "retry_downloads",
    "retry",
    DownloadsConfig,
    "Failed, not found, abandoned or cancelled downloads of a track, an album, a request or all back to pending, attempts reset.",
    _retry,
)
set_download_priority = _action_job(
    "set_download_priority",
    "prioritize",
    PriorityConfig,
    "Set the queue priority of a track's, an album's or a request's downloads: higher is searched first (0 is the default).",
    _prioritize,
)


def _switch_job(name: str, paused: bool, description: str) -> dg.JobDefinition:
    """Pause or resume downloads: one row of library.download_control, read before every search."""

    @dg.op(name=name.removesuffix("_downloads"), description=description)
    def switch(context: dg.OpExecutionContext, library_db: LibraryDatabase) -> None:
        with library_db.writer(publish=False) as conn:
            download_store.set_paused(conn, paused, utc_now())
        context.log.info(f"downloads {'paused' if paused else 'resumed'}")
        context.add_output_metadata({"paused": paused})

    @dg.job(name=name, description=description, tags={"soulspot/kind": "user_action"})
    def switch_job():
        switch()

    return switch_job


pause_downloads = _switch_job(
    "pause_downloads",
    True,
    "Pause downloads: no new search or enqueue (even mid-run); transfers in flight still finish and are imported.",
)
resume_downloads = _switch_job("resume_downloads", False, "Resume downloads after pause_downloads.")


@dg.op(
    name="cancel",
    description="Cancel the downloads of a track, an album, a request or all: in slskd, and un-requested in the library.",
)
def cancel(
    context: dg.OpExecutionContext,
    config: DownloadsConfig,
    library_db: LibraryDatabase,
    library_policy: LibraryPolicy,
    slskd: SlskdResource,
) -> None:
    with library_db.writer() as conn:
        try:
            label = _scope_label(conn, config)
        except (decisions.UnknownEntityError, decisions.InvalidValueError) as exc:
            raise dg.Failure(description=str(exc)) from None
        targets = download_store.cancellable(conn, config.scope.value, config.entity_id)
        in_flight = {(user, filename) for _, state, user, filename in targets if state == "downloading"}
        stopped = 0
        if in_flight and slskd.configured:
            try:
                # By peer and file, as download_transfers matches them: an older slskd gives no transfer id.
                for transfer in slskd.downloads():
                    key = (transfer.username, transfer.filename)
                    if key in in_flight and not transfer_outcome(transfer.state).finished:
                        stopped += slskd.cancel(transfer.username, transfer.id, remove=True)
            except ProviderError as exc:  # nothing is marked: the user can run it again
                raise dg.Failure(description=f"slskd could not cancel: {exc}") from None
        download_store.mark_cancelled(conn, [track_id for track_id, *_ in targets], utc_now())
        merged = rebuild(conn, library_policy)
    action = (
        f"cancelled {label}: {len(targets)} track(s) not needed any more, "
        f"{stopped} transfer(s) stopped in slskd (retry_downloads or request_downloads brings them back)"
    )
    context.log.info(action)
    context.log_event(merged.materialization(action=action))


@dg.job(
    name="cancel_downloads",
    description=(
        "Cancel the downloads of a track, an album, a request or all: transfers stopped in slskd, tracks left not needed "
        "and never searched again until requested or retried."
    ),
    tags={"soulspot/kind": "user_action"},
)
def cancel_downloads():
    cancel()


user_action_jobs: list[dg.JobDefinition | UnresolvedAssetJobDefinition] = [
    remove_from_library,
    ignore_in_library,
    restore_to_library,
    request_downloads,
    set_playlist_sync_mode,
    set_metadata,
    decide_discography_gaps,
    resolve_duplicates,
    organize_library,
    undo_organize,
    pause_downloads,
    resume_downloads,
    cancel_downloads,
    retry_downloads,
    set_download_priority,
    request_job,
]
