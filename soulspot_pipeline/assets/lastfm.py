"""Last.fm: genres of owned artists and albums from their top tags, and similar artists.

An asset beside ``enriched_metadata`` rather than a part of it: it has its own pool
(``lastfm_api``) and its own failures, so a Last.fm outage or a bad key never stops
MusicBrainz enrichment, and MusicBrainz being down never holds back Last.fm. Its genres
enter ``library.entity_metadata`` as source ``lastfm``; the merge's precedence (manual >
musicbrainz > lastfm > providers > local) decides whether they show.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from typing import Any

import dagster as dg

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import LASTFM_POOL, rebuild
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.lastfm import SimilarArtist, genres_from_tags, similar_artists
from soulspot_pipeline.resources.lastfm import LastfmResource, answer_key
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.store import enrich as enrich_store
from soulspot_pipeline.store import lastfm as lastfm_store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now

SOURCE = "lastfm"
NOT_CONFIGURED = "skipped: not configured (set LASTFM_API_KEY)"


@dataclass
class Collected:
    """What one run learned: genre values, similar artists, the new answers to cache."""

    cached: dict[str, lastfm_store.Answer]
    now: datetime
    values: list[tuple[str, str, str, Any]] = field(default_factory=list)
    similar: dict[str, tuple[list[SimilarArtist], datetime]] = field(default_factory=dict)
    new_answers: dict[str, tuple[str, Any]] = field(default_factory=dict)
    cache_hits: int = 0
    tags_seen: int = 0
    genres_kept: int = 0

    def answer(self, method: str, key: str, ask: Callable[[], Any]) -> tuple[Any, datetime]:
        if key in self.cached:
            self.cache_hits += 1
            return self.cached[key]
        if key not in self.new_answers:
            self.new_answers[key] = (method, ask())
        return self.new_answers[key][1], self.now

    def genres(self, entity_type: str, entity_id: str, tags: Any, min_weight: int, names: list[str]) -> None:
        listed = tags if isinstance(tags, list) else []
        kept = genres_from_tags(listed, min_weight=min_weight, not_names=names)
        self.tags_seen += len(listed)
        self.genres_kept += len(kept)
        self.values.append((entity_type, entity_id, "genres", kept or None))


def collect(
    lastfm: LastfmResource,
    artists: list[tuple[str, str]],
    albums: list[tuple[str, str, str]],
    found: Collected,
    progress: Callable[[str], None],
) -> None:
    """Ask Last.fm (or the cache) about every owned artist and album, into ``found``."""
    for artist_id, name in artists:
        tags, _ = found.answer(
            "artist.getTopTags", answer_key("artist.getTopTags", name), partial(lastfm.artist_top_tags, name)
        )
        found.genres("artist", artist_id, tags, lastfm.min_tag_weight, [name])
        listed, fetched = found.answer(
            "artist.getSimilar", answer_key("artist.getSimilar", name), partial(lastfm.similar_artists, name)
        )
        found.similar[artist_id] = (similar_artists(listed if isinstance(listed, list) else []), fetched)
    progress(f"asked about {len(artists)} artists")
    for album_id, title, artist in albums:
        tags, _ = found.answer(
            "album.getTopTags",
            answer_key("album.getTopTags", artist, title),
            partial(lastfm.album_top_tags, artist, title),
        )
        found.genres("album", album_id, tags, lastfm.min_tag_weight, [title, artist])
    progress(f"asked about {len(albums)} albums")


@dg.asset(
    deps=[dg.AssetKey("identified_entities")],
    group_name="enrich",
    kinds={"lastfm", "duckdb"},
    pool=LASTFM_POOL,
)
def lastfm_metadata(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    lastfm: LastfmResource,
    library_policy: LibraryPolicy,
) -> dg.MaterializeResult:
    """Genres from Last.fm's top tags of owned artists and albums (source ``lastfm``, below
    MusicBrainz), and each owned artist's similar artists in ``library.similar_artists``."""
    if not lastfm.configured:
        return dg.MaterializeResult(metadata={"status": NOT_CONFIGURED, "dagster/row_count": 0})
    now = utc_now()
    with library_db.writer(publish=False, patient=True) as conn:
        artists, albums = lastfm_store.load_targets(conn)
        cached = lastfm_store.load_answers(conn, now, lastfm.cache_ttl_days)
    found = Collected(cached, now)
    try:
        collect(lastfm, artists, albums, found, context.log.info)
    except ProviderError as exc:
        if found.new_answers:  # what was learned is kept: the next run will not ask it again
            with library_db.writer(publish=False, patient=True) as conn:
                lastfm_store.write(conn, found.new_answers, {}, now)
        raise dg.Failure(
            description=f"Last.fm stopped, no genre or similar artist was written: {exc}",
            metadata={"requests": lastfm.requests, "answers_cached": len(found.new_answers)},
        ) from None
    with library_db.writer(patient=True) as conn:
        stored = lastfm_store.write(conn, found.new_answers, found.similar, now)
        written = enrich_store.write_metadata(conn, found.values, SOURCE, now)
        merged = rebuild(conn, library_policy)
        sources = conn.execute(
            "SELECT entity_type, source, count(*) FROM library.field_sources WHERE field = 'genres' "
            "GROUP BY ALL ORDER BY ALL"
        ).fetchall()
        preview = conn.execute(
            """
            SELECT ar.name, s.similar_name, round(s.match, 3) FROM library.similar_artists s
            JOIN library.artists ar USING (artist_id) WHERE s.rank <= 3 ORDER BY ar.name, s.rank LIMIT 10
            """
        ).fetchall()
        similar_rows = conn.execute("SELECT count(*) FROM library.similar_artists").fetchall()[0][0]
    context.log_event(merged.materialization())
    return dg.MaterializeResult(
        metadata={
            "status": "enriched",
            "artists": len(artists),
            "albums": len(albums),
            "requests": lastfm.requests,
            "cache_hits": found.cache_hits,
            "tags_seen": found.tags_seen,
            "genres_kept": found.genres_kept,
            "written": dg.MetadataValue.json({**written, **stored}),
            "similar_artists": similar_rows,
            "library_changes": dg.MetadataValue.json(merged.changes),
            "genre_sources": dg.MetadataValue.md(markdown_table(["entity", "source", "values"], sources)),
            "dagster/row_count": similar_rows,
            "preview": dg.MetadataValue.md(markdown_table(["artist", "similar", "match"], preview)),
        }
    )
