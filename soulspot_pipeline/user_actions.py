"""What the user decides, as jobs launchable from the Dagster UI with typed config.

Each job records the decision and rebuilds the library with the same merge the
`library_entities` asset runs, so the decision shows at once and survives every later
sync: a removed like stays removed until it is liked again, an ignored one for good.
"""

from collections.abc import Callable
from datetime import datetime
from enum import StrEnum
from typing import TypeVar

import dagster as dg
import duckdb
from dagster._core.definitions.unresolved_asset_job_definition import UnresolvedAssetJobDefinition  # not exported
from pydantic import Field

from soulspot_pipeline.assets.expand import discography_gaps
from soulspot_pipeline.assets.shared import rebuild
from soulspot_pipeline.domain.cloud import DISABLED, OWN, REFERENCE
from soulspot_pipeline.domain.library_merge import ENRICHED_FIELDS
from soulspot_pipeline.domain.ownership import IGNORED, REMOVED
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.store import decisions
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.enrich import write_metadata
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
    "request",
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

user_action_jobs: list[dg.JobDefinition | UnresolvedAssetJobDefinition] = [
    remove_from_library,
    ignore_in_library,
    restore_to_library,
    request_downloads,
    set_playlist_sync_mode,
    set_metadata,
    decide_discography_gaps,
]
