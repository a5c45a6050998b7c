"""Identify: MusicBrainz ids for the library's tracks, artists and albums, each decision explained;
files nothing else settles, by their fingerprint (AcoustID)."""

from collections import Counter

import dagster as dg
from pydantic import Field

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import LIBRARY_ENTITIES, MUSICBRAINZ_POOL, rebuild
from soulspot_pipeline.domain.acoustid import StoredFingerprint
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.identify_albums import ParsedReleases
from soulspot_pipeline.domain.identify_run import LibraryIdentification, TrackTodo, acoustid_outcome, identify_library
from soulspot_pipeline.resources.acoustid import AcoustIDResource
from soulspot_pipeline.resources.musicbrainz import (
    MusicBrainzResource,
    artist_query,
    recording_query,
    release_group_query,
    search_key,
)
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.scan.fingerprint import FileToFingerprint, FingerprintRun, fingerprint_and_lookup
from soulspot_pipeline.store import album_matches as album_store
from soulspot_pipeline.store import fingerprints as fingerprint_store
from soulspot_pipeline.store import identify as identify_store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now


class IdentifyConfig(dg.Config):
    retry_undecided: bool = Field(
        default=False, description="Ask again for entities that were ambiguous or found nothing last time."
    )


ACOUSTID_ANSWER_DAYS = 30.0  # AcoustID learns new fingerprints: a file it did not know is asked again after this


def identify_by_sound(
    library_db: LibraryDatabase, acoustid: AcoustIDResource, run: LibraryIdentification, todo: list[TrackTodo]
) -> FingerprintRun:
    """Files that neither their tags, their album nor a search settled, identified by their
    fingerprint; each accepted match replaces the track's outcome in ``run``."""
    unsettled = sorted(
        o.entity_id for o in run.outcomes if o.entity_type == "track" and o.decision.status != "accepted"
    )
    files: list[FileToFingerprint] = []
    known: dict = {}
    answers: dict = {}
    if unsettled and acoustid.configured:
        with library_db.writer(publish=False, patient=True) as conn:
            paths = dict(
                conn.execute(
                    "SELECT track_id, path FROM library.track_files WHERE is_primary AND list_contains(?, track_id)",
                    [unsettled],
                ).fetchall()
            )
            hashes = fingerprint_store.content_hashes(conn, paths.values())
            known = fingerprint_store.known_fingerprints(conn, hashes.values())
            answers = fingerprint_store.fresh_answers(conn, hashes.values(), utc_now(), ACOUSTID_ANSWER_DAYS)
        files = [FileToFingerprint(t, path, hashes[path]) for t, path in sorted(paths.items()) if path in hashes]

    def save_fingerprints(rows: list[StoredFingerprint]) -> None:
        with library_db.writer(publish=False, patient=True) as conn:
            fingerprint_store.save_fingerprints(conn, rows)

    def save_answers(found: dict[str, list[dict]]) -> None:
        with library_db.writer(publish=False, patient=True) as conn:
            fingerprint_store.save_answers(conn, found, utc_now())

    sound = fingerprint_and_lookup(
        files,
        known=known,
        answers=answers,
        lookup=acoustid,
        save_fingerprints=save_fingerprints,
        save_answers=save_answers,
        now=utc_now,
        tools=acoustid.chromaprint(),
    )
    by_id = {t.track_id: t for t in todo}
    by_sound = {
        track_id: outcome
        for track_id, matches in sound.matches.items()
        if (outcome := acoustid_outcome(by_id[track_id], matches)) is not None and outcome.decision.status == "accepted"
    }
    if by_sound:
        run.outcomes = [o for o in run.outcomes if not (o.entity_type == "track" and o.entity_id in by_sound)] + list(
            by_sound.values()
        )
    return sound


@dg.asset(
    deps=[LIBRARY_ENTITIES],
    group_name="identify",
    kinds={"musicbrainz", "acoustid", "duckdb"},
    pool=MUSICBRAINZ_POOL,
)
def identified_entities(
    context: dg.AssetExecutionContext,
    config: IdentifyConfig,
    library_db: LibraryDatabase,
    musicbrainz: MusicBrainzResource,
    acoustid: AcoustIDResource,
    library_policy: LibraryPolicy,
) -> dg.MaterializeResult:
    """MusicBrainz ids for tracks, artists and albums: from tags, ISRCs, whole albums, searches and sound."""
    if not musicbrainz.configured:
        return dg.MaterializeResult(metadata={"status": "skipped: turned off (SOULSPOT_MUSICBRAINZ_URL=off)"})
    with library_db.writer(publish=False, patient=True) as conn:
        tracks, artists, albums = identify_store.load_todo(conn, retry_undecided=config.retry_undecided)
        local = album_store.load_local_tracks(conn, [t.track_id for t in tracks])
        tagged = conn.execute("SELECT count(*) FROM library.tracks WHERE recording_mbid IS NOT NULL").fetchall()[0][0]
    # The searches this run may make that were made before: their answers read in one go.
    warmed = musicbrainz.warm(
        [search_key("recording", recording_query(t.title, t.artist)) for t in tracks]
        + [search_key("artist", artist_query(a.name)) for a in artists]
        + [search_key("release-group", release_group_query(a.name, a.artist)) for a in albums if a.artist]
    )
    context.log.info(f"{warmed} MusicBrainz answers already in the cache")
    try:
        run = identify_library(
            tracks,
            artists,
            albums,
            musicbrainz,
            progress=context.log.info,
            local=local,
            release_source=ParsedReleases(musicbrainz),
        )
    except ProviderError as exc:
        raise dg.Failure(
            description=f"identify stopped, nothing was written: {exc}",
            metadata={**musicbrainz.stats.as_metadata(), "cache_hits": musicbrainz.cache_hits},
        ) from None

    try:
        sound = identify_by_sound(library_db, acoustid, run, tracks)
        by_sound = f"skipped: {sound.skipped}" if sound.skipped else "identified"
    except ProviderError as exc:  # a refused key costs this part only; what it saved stays saved
        context.log.warning(f"identification by fingerprint stopped: {exc}")
        sound, by_sound = FingerprintRun(), f"failed: {exc}"
    context.log.info(f"by fingerprint: {by_sound} {sound.counts()}")
    outcomes = run.outcomes
    with library_db.writer(patient=True) as conn:
        written = identify_store.write_outcomes(conn, outcomes, utc_now(), albums=run.albums, clusters=run.clusters)
        merged = rebuild(conn, library_policy)
        preview = conn.execute(
            """
            SELECT i.entity_type, coalesce(t.title, al.title, ar.name), i.status, i.rule, round(i.score, 2), i.reason
            FROM library.identifications i
            LEFT JOIN library.tracks t ON i.entity_type = 'track' AND t.track_id = i.entity_id
            LEFT JOIN library.albums al ON i.entity_type = 'album' AND al.album_id = i.entity_id
            LEFT JOIN library.artists ar ON i.entity_type = 'artist' AND ar.artist_id = i.entity_id
            ORDER BY i.identified_at DESC, i.status, 2 LIMIT 15
            """
        ).fetchall()
        totals = dict(conn.execute("SELECT status, count(*) FROM library.identifications GROUP BY 1").fetchall())

    context.log_event(merged.materialization())
    statuses = Counter(f"{o.entity_type}:{o.decision.status}" for o in outcomes)
    rules = Counter(f"{o.entity_type}:{o.rule}" for o in outcomes if o.decision.status == "accepted")
    context.log.info(
        f"{len(outcomes)} decisions with {musicbrainz.stats.requests} MusicBrainz requests "
        f"({musicbrainz.cache_hits} answered from the cache)"
    )
    return dg.MaterializeResult(
        metadata={
            "status": "identified",
            "decided": len(outcomes),
            "tracks_with_tag_mbids": tagged,
            "decisions": dg.MetadataValue.json(dict(sorted(statuses.items()))),
            "accepted_by": dg.MetadataValue.json(dict(sorted(rules.items()))),
            "all_identifications": dg.MetadataValue.json(totals),
            "entities_merged": merged.summary.aliases,
            "cache_hits": musicbrainz.cache_hits,
            "cache_opens": musicbrainz.cache_opens,
            **musicbrainz.stats.as_metadata(),
            "albums_matched": dg.MetadataValue.json(dict(sorted(Counter(d.status for d in run.albums).items()))),
            "by_fingerprint": by_sound,
            "fingerprints": dg.MetadataValue.json(sound.counts()),
            "written": dg.MetadataValue.json(written),
            "library_changes": dg.MetadataValue.json(merged.changes),
            "dagster/row_count": sum(totals.values()),
            "preview": dg.MetadataValue.md(
                markdown_table(["type", "name", "status", "rule", "score", "reason"], preview)
            ),
        }
    )
