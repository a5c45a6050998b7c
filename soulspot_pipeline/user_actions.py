"""What the user decides, as jobs launchable from the Dagster UI with typed config.

Each job records the decision and rebuilds the library with the same merge the
`library_entities` asset runs, so the decision shows at once and survives every later
sync: a removed like stays removed until it is liked again, an ignored one for good.
"""

from datetime import UTC, datetime
from enum import Enum

import dagster as dg
from pydantic import Field

from soulspot_pipeline.assets.library import rebuild
from soulspot_pipeline.domain.cloud import PLAYLIST_MODES
from soulspot_pipeline.domain.library_merge import ENRICHED_FIELDS
from soulspot_pipeline.domain.ownership import IGNORED, REMOVED
from soulspot_pipeline.resources.music_folder import LibraryPolicy
from soulspot_pipeline.store import decisions
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.enrich import write_metadata


class EntityType(str, Enum):
    artist = "artist"
    album = "album"
    track = "track"


PlaylistMode = Enum("PlaylistMode", {mode: mode for mode in PLAYLIST_MODES}, type=str)


class EntityConfig(dg.Config):
    entity_type: EntityType = Field(description="artist, album or track.")
    entity_id: str = Field(description="The library id (artist_id, album_id or track_id in the library tables).")


class PlaylistModeConfig(dg.Config):
    playlist_id: str = Field(description="The library playlist id, `source:id` (library.playlists.playlist_id).")
    sync_mode: PlaylistMode = Field(
        description="reference: listed, tracks not owned (default); own: its tracks become owned; disabled: not synced."
    )


def _now() -> datetime:
    return datetime.now(UTC).replace(tzinfo=None)


def _apply(context: dg.OpExecutionContext, library_db: LibraryDatabase, policy: LibraryPolicy, record):
    """Record the decision (``record`` returns what it did, in words) and rebuild the
    library, in one writer session."""
    with library_db.writer() as conn:
        try:
            text = record(conn, _now())
        except decisions.UnknownEntityError as exc:
            raise dg.Failure(description=str(exc)) from None
        _, result, changes = rebuild(conn, policy)
    context.log.info(text)
    context.log_event(
        dg.AssetMaterialization(
            asset_key="library_entities",
            description=text,
            metadata={"action": text, "changes": dg.MetadataValue.json(changes), "tracks": len(result.tracks)},
        )
    )
    return changes


def _decision_op(name: str, decision: str | None, verb: str) -> dg.OpDefinition:
    @dg.op(name=name, description=f"{verb.capitalize()} an artist, album or track (cascading to what it contains).")
    def decide(
        context: dg.OpExecutionContext, config: EntityConfig, library_db: LibraryDatabase, library_policy: LibraryPolicy
    ) -> None:
        entity_type, entity_id = config.entity_type.value, config.entity_id

        def record(conn, now):
            label = decisions.entity_name(conn, entity_type, entity_id)
            decisions.record_decision(conn, entity_type, entity_id, decision, now)
            return f"{verb} {entity_type} '{label}' ({entity_id})"

        _apply(context, library_db, library_policy, record)

    return decide


def _job(name: str, op_def: dg.OpDefinition, description: str) -> dg.JobDefinition:
    @dg.job(name=name, description=description, tags={"soulspot/kind": "user_action"})
    def action_job():
        op_def()

    return action_job


remove_from_library = _job(
    "remove_from_library",
    _decision_op("remove", REMOVED, "removed"),
    "Un-own an artist, album or track and what it contains; a later like, file or request owns it again.",
)
ignore_in_library = _job(
    "ignore_in_library",
    _decision_op("ignore", IGNORED, "ignored"),
    "Ignore an artist, album or track and what it contains: no sync owns it again, nothing downloads it.",
)
restore_to_library = _job(
    "restore_to_library",
    _decision_op("restore", None, "restored"),
    "Forget a remove or ignore decision: the entity is owned again wherever a source says so.",
)


@dg.op(description="Queue the files of a track, an album, or an artist's owned albums for download.")
def request(
    context: dg.OpExecutionContext, config: EntityConfig, library_db: LibraryDatabase, library_policy: LibraryPolicy
) -> None:
    entity_type, entity_id = config.entity_type.value, config.entity_id

    def record(conn, now):
        label = decisions.entity_name(conn, entity_type, entity_id)
        count = decisions.request_downloads(conn, entity_type, entity_id, now)
        return f"requested downloads for {entity_type} '{label}': {count} track(s)"

    _apply(context, library_db, library_policy, record)


request_downloads = _job(
    "request_downloads", request, "Request downloads: the tracks become owned and pending until the downloads phase fetches them."
)


@dg.op(description="Set how a playlist is synced: reference, own or disabled.")
def set_mode(
    context: dg.OpExecutionContext, config: PlaylistModeConfig, library_db: LibraryDatabase, library_policy: LibraryPolicy
) -> None:
    def record(conn, now):
        name = decisions.set_playlist_mode(conn, config.playlist_id, config.sync_mode.value, now)
        return f"playlist '{name}' is now synced as {config.sync_mode.value}"

    _apply(context, library_db, library_policy, record)


set_playlist_sync_mode = _job("set_playlist_sync_mode", set_mode, "Choose per playlist: reference only, auto-own its tracks, or disabled.")


class MetadataConfig(EntityConfig):
    field: str = Field(description="An enriched field: " + "; ".join(f"{t}: {', '.join(f)}" for t, f in ENRICHED_FIELDS.items()))
    value: str | None = Field(
        default=None, description="The value (lists comma-separated); empty to drop your value and fall back to the sources."
    )


def manual_value(entity_type: str, field: str, value: str | None) -> object:
    """The typed value of a field as the user typed it; raises ValueError with the reason."""
    if field not in ENRICHED_FIELDS[entity_type]:
        raise ValueError(f"{entity_type}s have no field {field!r}; choose one of {', '.join(ENRICHED_FIELDS[entity_type])}")
    if value is None or not value.strip():
        return None
    if field in ("genres", "tags", "secondary_types"):
        return [part.strip() for part in value.split(",") if part.strip()]
    if field in ("total_tracks", "medium_count", "duration_ms"):
        try:
            return int(value)
        except ValueError:
            raise ValueError(f"{field} must be a whole number, not {value!r}") from None
    return value.strip()


@dg.op(description="Set an enriched field by hand: your value wins over MusicBrainz and every provider.")
def set_field(
    context: dg.OpExecutionContext, config: MetadataConfig, library_db: LibraryDatabase, library_policy: LibraryPolicy
) -> None:
    entity_type = config.entity_type.value
    try:
        value = manual_value(entity_type, config.field, config.value)
    except ValueError as exc:
        raise dg.Failure(description=str(exc)) from None

    def record(conn, now):
        label = decisions.entity_name(conn, entity_type, config.entity_id)
        write_metadata(conn, [(entity_type, config.entity_id, config.field, value)], "manual", now)
        return f"{config.field} of {entity_type} '{label}' set to {value!r}" if value is not None else f"your {config.field} of '{label}' dropped"

    _apply(context, library_db, library_policy, record)


set_metadata = _job("set_metadata", set_field, "Set a genre, date, type or other enriched field by hand (it wins over every source).")

user_action_jobs = [remove_from_library, ignore_in_library, restore_to_library, request_downloads, set_playlist_sync_mode, set_metadata]
