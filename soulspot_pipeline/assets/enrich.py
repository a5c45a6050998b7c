"""Enrich: genres, tags, dates, types, countries, sort names, durations, ISRCs and counts from MusicBrainz."""

import dagster as dg

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import MUSICBRAINZ_POOL, rebuild
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.enrich import artist_fields, recording_fields, release_fields, release_group_fields
from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource, lookup_key
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.store import enrich as enrich_store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now

SOURCE = "musicbrainz"


def collect_metadata(musicbrainz: MusicBrainzResource, artists, albums, tracks, progress) -> list[tuple]:
    """(entity_type, entity_id, field, value) for every entity with an MBID."""
    warmed = musicbrainz.warm(
        [lookup_key("artist", mbid) for _, mbid in artists]
        + [lookup_key("release-group", rg) for _, rg, _ in albums]
        + [lookup_key("release", release) for _, _, release in albums if release]
        + [lookup_key("recording", recording) for _, recording, _ in tracks]
    )
    progress(f"{warmed} answers already in the cache")
    values: list[tuple] = []
    for artist_id, mbid in artists:
        obj = musicbrainz.artist(mbid)
        if obj:
            values += [("artist", artist_id, f, v) for f, v in artist_fields(obj).items()]
    progress(f"enriched {len(artists)} artists")
    by_release: dict[str, dict] = {}
    for album_id, rg_mbid, release_mbid in albums:
        group = musicbrainz.release_group(rg_mbid)
        if group:
            values += [("album", album_id, f, v) for f, v in release_group_fields(group).items()]
        if release_mbid:
            release = musicbrainz.release(release_mbid)
            if release:
                album, recordings = release_fields(release)
                values += [("album", album_id, f, v) for f, v in album.items()]
                by_release[release_mbid] = recordings
    progress(f"enriched {len(albums)} albums")
    for track_id, recording_mbid, release_mbid in tracks:
        fields = by_release.get(release_mbid, {}).get(recording_mbid)
        if fields is None:  # not on an enriched release: ask for the recording itself
            obj = musicbrainz.recording(recording_mbid)
            fields = recording_fields(obj) if obj else None
        if fields:
            values += [("track", track_id, f, v) for f, v in fields.items()]
    progress(f"enriched {len(tracks)} tracks")
    return values


@dg.asset(
    deps=[dg.AssetKey("identified_entities")],
    group_name="enrich",
    kinds={"musicbrainz", "duckdb"},
    pool=MUSICBRAINZ_POOL,
)
def enriched_metadata(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    musicbrainz: MusicBrainzResource,
    library_policy: LibraryPolicy,
) -> dg.MaterializeResult:
    """Genres, tags, release dates, types and counts from MusicBrainz, each field with its source."""
    if not musicbrainz.configured:
        return dg.MaterializeResult(metadata={"status": "skipped: turned off (SOULSPOT_MUSICBRAINZ_URL=off)"})
    with library_db.writer(publish=False, patient=True) as conn:
        artists, albums, tracks = enrich_store.load_targets(conn)
    try:
        values = collect_metadata(musicbrainz, artists, albums, tracks, context.log.info)
    except ProviderError as exc:
        raise dg.Failure(
            description=f"enrich stopped, nothing was written: {exc}", metadata=musicbrainz.stats.as_metadata()
        ) from None
    now = utc_now()
    with library_db.writer(patient=True) as conn:
        written = enrich_store.write_metadata(conn, values, SOURCE, now)
        merged = rebuild(conn, library_policy)
        sources = conn.execute(
            "SELECT entity_type, field, source, count(*) FROM library.field_sources GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        preview = conn.execute(
            """
            SELECT ar.name, al.title, al.album_type, al.release_date, array_to_string(al.genres, ', ')
            FROM library.albums al JOIN library.artists ar USING (artist_id)
            WHERE al.release_group_mbid IS NOT NULL ORDER BY al.updated_at DESC, ar.name LIMIT 10
            """
        ).fetchall()
    context.log_event(merged.materialization())
    return dg.MaterializeResult(
        metadata={
            "status": "enriched",
            "artists": len(artists),
            "albums": len(albums),
            "tracks": len(tracks),
            "values": len([v for v in values if v[3] is not None]),
            "cache_hits": musicbrainz.cache_hits,
            **musicbrainz.stats.as_metadata(),
            "written": dg.MetadataValue.json(written),
            "library_changes": dg.MetadataValue.json(merged.changes),
            "field_sources": dg.MetadataValue.md(markdown_table(["entity", "field", "source", "values"], sources)),
            "dagster/row_count": len(values),
            "preview": dg.MetadataValue.md(markdown_table(["artist", "album", "type", "released", "genres"], preview)),
        }
    )
