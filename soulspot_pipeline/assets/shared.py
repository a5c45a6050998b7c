"""What the phase modules share, so that none imports another: pools, the merge and its report,
atomic file writes.

Phases depend on each other by ``AssetKey``; this module imports no phase module.
"""

import functools
import os
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import dagster as dg
import duckdb

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.domain import file_choice, library_merge, ownership
from soulspot_pipeline.domain.library_merge import REQUEST, WANTED
from soulspot_pipeline.importing.place import synced_copy_beside
from soulspot_pipeline.resources.cloud_sources import CLOUD_SOURCES
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.store import duplicates as duplicates_store
from soulspot_pipeline.store import entities, merge_state
from soulspot_pipeline.store.duplicates import write_duplicates
from soulspot_pipeline.store.sql import utc_now

# Concurrency pools (limits in dagster.yaml): the one writer of the database, and the outside
# services whose budgets the phases share. Cloud providers' pools come from their CloudSourceSpec.
DUCKDB_POOL = "duckdb"
MUSICBRAINZ_POOL = "musicbrainz_api"
IMAGES_POOL = "image_hosts"
LASTFM_POOL = "lastfm_api"
SLSKD_POOL = "slskd_api"
# The decode check: one at a time (it uses every core), outside the `duckdb` pool so its
# minutes of decoding never hold back the writers; its short batch writes wait for the lock.
DECODE_POOL = "audio_decode"

LIBRARY_ENTITIES = dg.AssetKey("library_entities")

# Whose title and ids win when sources disagree: files first, then providers, then requested gaps,
# then requests by link or search.
SOURCE_ORDER: tuple[str, ...] = ("local", *(spec.name for spec in CLOUD_SOURCES), WANTED, REQUEST)
# Whose value of an enriched field (genres, dates, types, durations) wins. Last.fm (genres only)
# ranks below MusicBrainz and above the providers' own.
METADATA_ORDER: tuple[str, ...] = (
    "manual",
    "musicbrainz",
    "lastfm",
    WANTED,
    *(spec.name for spec in CLOUD_SOURCES),
    REQUEST,
    "local",
)


@dataclass(frozen=True)
class Merged:
    """One run of the merge: its figures, the rows it changed, and the ``library_entities``
    metadata of the tables it left."""

    summary: entities.MergeSummary
    changes: dict[str, entities.TableChanges]
    metadata: dict[str, dg.MetadataValue | int]
    duplicates: dict[str, int]  # groups, extra_files
    fingerprint: str  # of everything the merge read, as it left it (store/merge_state.py)

    def materialization(self, action: str | None = None) -> dg.AssetMaterialization:
        """This merge as a ``library_entities`` materialization, for the runs of other assets
        and jobs: whoever rewrote the tables, the catalog's counts match them."""
        return dg.AssetMaterialization(
            asset_key=LIBRARY_ENTITIES,
            description=action,
            metadata={**({"action": action} if action else {}), **self.metadata},
        )


def rebuild(conn: duckdb.DuckDBPyConnection, policy: LibraryPolicy) -> Merged:
    """Merge every source into the library: the one writer of artists, albums and tracks,
    run by ``library_entities`` and by every phase or action that changes what the merge reads."""
    summary = entities.rebuild_library(
        conn, auto_queue=policy.auto_queue_downloads, source_order=SOURCE_ORDER, metadata_order=METADATA_ORDER
    )
    duplicates = write_duplicates(conn, utc_now())  # the groups follow the tracks the merge just built
    fingerprint = merge_state.fingerprint(conn, *_merge_context(policy))
    merge_state.record_merge(conn, fingerprint, utc_now())
    metadata = library_entities_metadata(conn, summary)
    metadata["duplicate_groups"] = duplicates["groups"]
    metadata["duplicate_extra_files"] = duplicates["extra_files"]
    return Merged(summary, summary.changes, metadata, duplicates, fingerprint)


@functools.cache
def _merge_rules() -> str:
    """The digest of the merge's rules as this process loaded them (their source does not change under it)."""
    return merge_state.code_version(library_merge, ownership, file_choice, entities, duplicates_store)


def _merge_context(policy: LibraryPolicy) -> tuple[str, ...]:
    """What decides the merge besides its tables: its settings and its rules' code."""
    return (_merge_rules(), repr(policy.auto_queue_downloads), repr(SOURCE_ORDER), repr(METADATA_ORDER))


def unchanged_since(conn: duckdb.DuckDBPyConnection, policy: LibraryPolicy) -> tuple[str, datetime] | None:
    """The last merge's fingerprint and time, if nothing it reads has changed since (a merge
    now would change nothing)."""
    last = merge_state.last_merge(conn)
    if last is None or last[0] != merge_state.fingerprint(conn, *_merge_context(policy)):
        return None
    return last


def library_entities_metadata(
    conn: duckdb.DuckDBPyConnection, summary: entities.MergeSummary
) -> dict[str, dg.MetadataValue | int]:
    """What every ``library_entities`` materialization reports: the tables' counts as written,
    and how the merge that wrote them decided."""
    return {
        **library_counts(conn),
        "local_files": summary.local_files,
        "duplicate_files": summary.duplicate_files,
        "cloud_items": summary.cloud_items,
        "matched_by": dg.MetadataValue.json(summary.rules),
        "cloud_matched_by": dg.MetadataValue.json(summary.link_rules),
        "changes": dg.MetadataValue.json(summary.changes),
    }


def library_counts(conn: duckdb.DuckDBPyConnection) -> dict[str, dg.MetadataValue | int]:
    """The library tables' counts and newest tracks, as any materialization of them shows them."""
    artists, albums, tracks, owned, downloaded = conn.execute(
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
    return {
        "artists": artists,
        "albums": albums,
        "tracks": tracks,
        "owned_tracks": owned,
        "downloaded_tracks": downloaded,
        "dagster/row_count": tracks,
        "preview": dg.MetadataValue.md(
            markdown_table(["artist", "album", "title", "format", "download_state"], preview)
        ),
    }


def write_atomically(path: Path, data: bytes) -> None:
    """A file that is either all there or not there: written beside its place, then renamed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = synced_copy_beside(path, data)
    try:
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
