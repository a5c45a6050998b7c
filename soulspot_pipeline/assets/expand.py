"""Expand: the discographies of owned artists, the albums the library lacks, new releases,
and the missing tracks of partly owned albums."""

from collections import Counter
from dataclasses import dataclass, field, replace
from datetime import datetime

import dagster as dg
from pydantic import Field

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import LIBRARY_ENTITIES, MUSICBRAINZ_POOL, Merged, rebuild
from soulspot_pipeline.domain.cloud import EndpointUnavailable, ProviderError
from soulspot_pipeline.domain.discography import (
    MISSING,
    REQUESTED,
    DiscographyEntry,
    Release,
    ReleaseGroup,
    ReleaseTrack,
    choose_release,
    collapse_editions,
    gap_status,
    match_discography,
    missing_tracks,
    musicbrainz_groups,
    new_release_keys,
    release_summaries,
    release_with_tracks,
    spotify_group,
)
from soulspot_pipeline.domain.notify import NEW_RELEASE, Event, event_key, subject
from soulspot_pipeline.domain.ownership import IGNORED
from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource, browse_key, lookup_key
from soulspot_pipeline.resources.policies import DiscographyPolicy, LibraryPolicy
from soulspot_pipeline.resources.spotify import SpotifyResource
from soulspot_pipeline.store import discography as store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now


class GapDecisionsConfig(dg.Config):
    request: list[str] = Field(
        default=[],
        description="Gaps to request for download: release group MBIDs or release keys (library.discography_gaps).",
    )
    ignore: list[str] = Field(default=[], description="Gaps to ignore: never reported as missing, never requested.")
    reset: list[str] = Field(default=[], description="Gaps to set back to missing (undo a request or an ignore).")

    def decisions(self) -> dict[str, str]:
        chosen = {}
        for status, values in ((MISSING, self.reset), (IGNORED, self.ignore), (REQUESTED, self.request)):
            for value in values:
                value = value.strip()
                if value:
                    chosen[value if ":" in value else f"rg:{value.lower()}"] = status
        return chosen


@dataclass
class Expansion:
    """What one run found: per artist its discography, what is new, the gaps and their tracks."""

    entries: dict[str, list[DiscographyEntry]] = field(default_factory=dict)
    new_keys: dict[str, set[str]] = field(default_factory=dict)
    gaps: list[store.GapRow] = field(default_factory=list)
    auto_requests: dict[str, dict[str, str]] = field(default_factory=dict)  # origin -> key -> requested
    wanted: list[tuple[store.OwnedArtist, ReleaseGroup, Release]] = field(default_factory=list)
    missing: dict[tuple[str, str], list[ReleaseTrack]] = field(default_factory=dict)
    releases: dict[str, Release] = field(default_factory=dict)  # album id -> the release it was checked against
    counts: Counter = field(default_factory=Counter)


def expand_library(
    inputs: store.DiscographyInputs,
    musicbrainz: MusicBrainzResource,
    spotify: SpotifyResource,
    policy: DiscographyPolicy,
    progress,
) -> Expansion:
    """Browse every owned artist's discography (MusicBrainz, else Spotify) and compare it with the library."""
    out = Expansion()
    types = policy.types()
    ttl_days = policy.ttl_hours / 24
    album_states = {a.album_id: a.ownership_state for albums in inputs.albums.values() for a in albums}
    if musicbrainz.configured:
        musicbrainz.warm(
            [browse_key(a.artist_mbid) for a in inputs.artists if a.artist_mbid]
            + [lookup_key("release", p.release_mbid) for p in inputs.partly_owned]
        )
    decisions = dict(inputs.decisions)
    use_spotify = spotify.configured
    for n, artist in enumerate(inputs.artists, start=1):
        if artist.artist_mbid and musicbrainz.configured:
            groups = musicbrainz_groups(musicbrainz.artist_release_groups(artist.artist_mbid, ttl_days))
            out.counts["artists_from_musicbrainz"] += 1
        elif artist.spotify_id and use_spotify:
            try:
                listed = (spotify_group(o) for o in spotify.artist_albums(artist.spotify_id))
                groups = collapse_editions([g for g in listed if g is not None])
            except EndpointUnavailable as exc:
                # Spotify may refuse the endpoint to this app (403: stop asking) or not know the artist (404).
                out.counts["artists_spotify_refused"] += 1
                use_spotify = exc.status != 403
                progress(f"Spotify artist albums of {artist.name}: {exc}")
                continue
            out.counts["artists_from_spotify"] += 1
        else:
            out.counts["artists_without_source"] += 1
            continue
        seen = inputs.seen.get(artist.artist_id, set())
        entries = match_discography(groups, inputs.albums.get(artist.artist_id, []), types)
        new = new_release_keys(groups, seen, bool(seen))
        out.entries[artist.artist_id], out.new_keys[artist.artist_id] = entries, new
        for entry in entries:
            key = entry.group.key
            album_state = album_states.get(entry.album_id) if entry.album_id is not None else None
            status = gap_status(entry, decisions.get(key), album_state)
            if status == MISSING and (policy.request_gaps or (policy.request_new_releases and key in new)):
                origin = "auto_gaps" if policy.request_gaps else "auto_new"
                out.auto_requests.setdefault(origin, {})[key] = REQUESTED
                decisions[key] = status = REQUESTED
            if status is not None:
                out.gaps.append(store.GapRow(artist, entry.group, status, key in new))
        if n % 50 == 0:
            progress(f"browsed {n} of {len(inputs.artists)} artists")

    if musicbrainz.configured:
        fetched = set(inputs.wanted)
        for gap in out.gaps:
            if gap.status != REQUESTED or gap.group.key in fetched:
                continue
            fetched.add(gap.group.key)
            if not gap.group.release_group_mbid:
                out.counts["requested_without_tracklist"] += 1  # Spotify-only: no MusicBrainz tracklist to want
                continue
            group = musicbrainz.release_group_releases(gap.group.release_group_mbid) or {}
            chosen = choose_release(release_summaries(group))
            obj = musicbrainz.release(chosen.mbid) if chosen else None
            if obj and chosen:
                out.wanted.append((gap.artist, gap.group, release_with_tracks(obj, chosen.mbid)))
        for album in inputs.partly_owned:
            obj = musicbrainz.release(album.release_mbid)
            if obj:
                # The album's release id is what the library knows it by, whatever the answer says.
                release = replace(release_with_tracks(obj), mbid=album.release_mbid)
                out.releases[album.album_id] = release
                out.missing[(album.album_id, album.release_mbid)] = missing_tracks(release, album.present)
    return out


def _release_detail(gap: store.GapRow) -> str:
    """ "album, 2004-01-26, requested for download": what it is, when, and whether it is on its way."""
    parts = [gap.group.release_type, gap.group.first_release_date or ""]
    if gap.status == REQUESTED:
        parts.append("requested for download")
    return ", ".join(p for p in parts if p)


def new_release_events(gaps: list[store.GapRow], now: datetime, run_id: str) -> list[Event]:
    """A notification for each release group first seen now that the library lacks (an artist's
    first browse finds none: its back catalogue is not news)."""
    return [
        Event(
            event_key(NEW_RELEASE, g.artist.artist_id, g.group.key),
            NEW_RELEASE,
            subject(g.artist.name, g.group.title),
            _release_detail(g),
            now,
            run_id,
        )
        for g in gaps
        if g.is_new and g.status != IGNORED
    ]


@dg.asset(
    deps=[dg.AssetKey("enriched_metadata"), LIBRARY_ENTITIES],
    group_name="expand",
    kinds={"musicbrainz", "spotify", "duckdb"},
    pool=MUSICBRAINZ_POOL,
)
def discography_gaps(
    context: dg.AssetExecutionContext,
    config: GapDecisionsConfig,
    library_db: LibraryDatabase,
    musicbrainz: MusicBrainzResource,
    spotify: SpotifyResource,
    discography_policy: DiscographyPolicy,
    library_policy: LibraryPolicy,
) -> dg.MaterializeResult:
    """Albums of owned artists that the library lacks, new releases, and incomplete albums."""
    if not musicbrainz.configured and not spotify.configured:
        return dg.MaterializeResult(
            metadata={"status": "skipped: not configured (MusicBrainz is off and Spotify is not set up)"}
        )
    now = utc_now()
    decisions = config.decisions()
    unwanted: Merged | None = None
    with library_db.writer(publish=bool(decisions), patient=True) as conn:
        store.record_decisions(conn, decisions, "user", now)
        # A gap no longer requested stops owning its tracks before the library is compared.
        if store.drop_unwanted(conn):
            unwanted = rebuild(conn, library_policy)
        inputs = store.load_inputs(conn)
    if unwanted is not None:
        context.log_event(unwanted.materialization())
    try:
        found = expand_library(inputs, musicbrainz, spotify, discography_policy, context.log.info)
    except ProviderError as exc:
        raise dg.Failure(
            description=f"discography stopped, nothing was written: {exc}",
            metadata={**musicbrainz.stats.as_metadata(), "cache_hits": musicbrainz.cache_hits},
        ) from None

    with library_db.writer(patient=True) as conn:
        for origin, requested in found.auto_requests.items():
            store.record_decisions(conn, requested, origin, now)
        written = store.write_discography(
            conn,
            found.entries,
            found.new_keys,
            found.gaps,
            [a.artist_id for a in inputs.artists],
            now,
            new_release_events(found.gaps, now, context.run.run_id),
        )
        written["wanted_tracks"] = store.write_wanted(conn, found.wanted, now)
        written["missing_tracks"] = store.write_missing_tracks(
            conn, [a.album_id for a in inputs.partly_owned], found.missing, found.releases, now
        )
        merged = rebuild(conn, library_policy) if written["wanted_tracks"] else None
        statuses = dict(conn.execute("SELECT status, count(*) FROM library.discography_gaps GROUP BY 1").fetchall())
        preview = conn.execute(
            """
            SELECT artist_name, title, release_type, first_release_date, status, is_new
            FROM library.discography_gaps ORDER BY is_new DESC, first_release_date DESC NULLS LAST, artist_name, title LIMIT 15
            """
        ).fetchall()
        completeness = conn.execute(
            "SELECT name, owned, release_groups, completeness_pct FROM library.artist_completeness "
            "WHERE release_groups > 0 ORDER BY completeness_pct, name LIMIT 10"
        ).fetchall()
    if merged is not None:
        context.log_event(merged.materialization())
    new_releases = sum(len(keys) for keys in found.new_keys.values())
    context.log.info(
        f"{len(found.entries)} discographies, {len(found.gaps)} gaps, {new_releases} new release groups, "
        f"{musicbrainz.stats.requests} MusicBrainz requests ({musicbrainz.cache_hits} answered from the cache)"
    )
    return dg.MaterializeResult(
        metadata={
            "status": "compared",
            "artists": len(inputs.artists),
            **{k: v for k, v in sorted(found.counts.items())},
            "gaps": dg.MetadataValue.json(statuses),
            "new_release_groups": new_releases,
            "user_decisions": len(decisions),
            "incomplete_albums": sum(1 for tracks in found.missing.values() if tracks),
            "cache_hits": musicbrainz.cache_hits,
            **musicbrainz.stats.as_metadata(),
            "written": dg.MetadataValue.json(written),
            **({"library_changes": dg.MetadataValue.json(merged.changes)} if merged else {}),
            "dagster/row_count": sum(statuses.values()),
            "preview": dg.MetadataValue.md(
                markdown_table(["artist", "title", "type", "released", "status", "new"], preview)
            ),
            "least_complete_artists": dg.MetadataValue.md(
                markdown_table(["artist", "owned", "release groups", "complete %"], completeness)
            ),
        }
    )
