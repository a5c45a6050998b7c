"""The `request` job: request anything by Spotify or Deezer link, or by search.

Each item is resolved through the provider resources (searches through Spotify's or
Deezer's search, MusicBrainz when neither is configured), recorded in
library.request_items and library.request_tracks, and the library rebuilt: the tracks
become owned and pending, served before auto-queue. library.requests shows each request's
progress. One item failing never stops the others.
"""

import dagster as dg
import httpx
from pydantic import Field

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import rebuild
from soulspot_pipeline.domain.cloud import CloudTrack, EndpointUnavailable, LoginRequired, ProviderError
from soulspot_pipeline.domain.identify import parse_recording
from soulspot_pipeline.domain.requests import (
    AMBIGUOUS,
    DEEZER,
    FAILED,
    MUSICBRAINZ,
    NOT_FOUND,
    RESOLVED,
    SEARCH,
    SPOTIFY,
    UNKNOWN,
    Link,
    Outcome,
    Search,
    ShortLink,
    UnusableItem,
    choose,
    parse_item,
    parse_link,
    parse_pick,
    recording_track,
    track_name,
)
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource
from soulspot_pipeline.resources.policies import LibraryPolicy
from soulspot_pipeline.resources.spotify import SpotifyResource
from soulspot_pipeline.store import requests as request_store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now

SEARCH_LIMIT = 10
_NOT_CONFIGURED = {
    SPOTIFY: "Spotify is not configured: set SPOTIFY_CLIENT_ID and SPOTIFY_REDIRECT_URI, then run `soulspot spotify-login`",
    DEEZER: "Deezer is not configured: set DEEZER_USER_ID (any Deezer user id: the catalogue is public)",
}


class RequestConfig(dg.Config):
    items: list[str] = Field(
        default_factory=list,
        description=(
            "Spotify or Deezer links (track, album, playlist, artist: its top tracks) or searches "
            "('artist - title', or any text), one per entry."
        ),
    )
    only_missing: bool = Field(
        default=True,
        description="An album, playlist or artist request asks only for the tracks the library has no file of.",
    )
    pick: list[str] = Field(
        default_factory=list,
        description=(
            "Resolve ambiguous searches: '<request_id>:<n>' picks candidate n "
            "(library.requests.candidates); or request the candidate's link as an item."
        ),
    )


class Providers:
    """The provider resources a run resolves through, and which of them can be asked."""

    def __init__(self, spotify: SpotifyResource, deezer: DeezerResource, musicbrainz: MusicBrainzResource):
        self.spotify, self.deezer, self.musicbrainz = spotify, deezer, musicbrainz

    def cloud(self, provider: str) -> SpotifyResource | DeezerResource:
        source = self.spotify if provider == SPOTIFY else self.deezer
        if not source.configured:
            raise UnusableItem(_NOT_CONFIGURED[provider])
        return source

    def searchable(self) -> list[str]:
        return [name for name, source in ((SPOTIFY, self.spotify), (DEEZER, self.deezer)) if source.configured]


def expand_short_link(url: str, timeout_s: float = 10.0) -> Link:
    """The full link a share link redirects to (one hop, never fetched beyond its Location)."""
    try:
        response = httpx.get(url, follow_redirects=False, timeout=timeout_s)
    except httpx.HTTPError as exc:
        raise UnusableItem(
            f"the short link {url} could not be followed ({type(exc).__name__}); paste the full link"
        ) from None
    target = response.headers.get("location")
    if not target:
        raise UnusableItem(f"the short link {url} leads nowhere (HTTP {response.status_code}); paste the full link")
    found = parse_link(target)
    if isinstance(found, ShortLink):
        raise UnusableItem(f"the short link {url} leads to another short link; paste the full link")
    return found


def resolve_link(link: Link, asked: str, providers: Providers) -> Outcome:
    """A link's tracks, through its provider."""
    if link.provider == MUSICBRAINZ:
        found = providers.musicbrainz.recording(link.item_id)
        recording = parse_recording(found) if found else None
        if recording is None:
            return Outcome(
                asked, link.kind, NOT_FOUND, MUSICBRAINZ, link.item_id, error="MusicBrainz has no such recording"
            )
        track = recording_track(recording)
        return Outcome(asked, "track", RESOLVED, MUSICBRAINZ, link.item_id, track_name(track), ((MUSICBRAINZ, track),))
    source = providers.cloud(link.provider)
    name: str | None
    tracks: list[CloudTrack]
    if link.kind == "track":
        track = source.track(link.item_id)
        name, tracks = track_name(track), [track]
    elif link.kind == "album":
        album, tracks = source.album_tracks(link.item_id)
        name = f"{album.artist.name or '?'} - {album.title}"
    elif link.kind == "playlist":
        title, tracks = source.playlist_tracks(link.item_id)
        name = f"playlist {title or link.item_id}"
    else:
        tracks = source.artist_top_tracks(link.item_id)
        artist = next((t.artist.name for t in tracks if t.artist.artist_id == link.item_id), None)
        name = f"{artist or (tracks[0].artist.name if tracks else link.item_id)}: top tracks"
    if not tracks:
        return Outcome(asked, link.kind, NOT_FOUND, link.provider, link.item_id, name, error=f"{name} lists no tracks")
    return Outcome(
        asked, link.kind, RESOLVED, link.provider, link.item_id, name, tuple((link.provider, t) for t in tracks)
    )


def _musicbrainz_hits(search: Search, musicbrainz: MusicBrainzResource) -> list[CloudTrack]:
    _, found = musicbrainz.search_recordings(search.title, search.artist)
    return [recording_track(r) for r in found]


def resolve_search(search: Search, providers: Providers) -> Outcome:
    """A search through the first configured provider that answers (Spotify, then Deezer), else MusicBrainz."""
    query = f"{search.artist} {search.title}" if search.artist else search.title
    hits: list[tuple[str, CloudTrack]] = []
    failures = []
    searched = None
    for name in providers.searchable():
        try:
            hits = [(name, t) for t in providers.cloud(name).search_tracks(query, SEARCH_LIMIT)]
        except (ProviderError, EndpointUnavailable, LoginRequired) as exc:
            failures.append(f"{name}: {exc}")
            continue
        searched = name
        break
    if searched is None:
        if failures:
            raise ProviderError("; ".join(failures))
        hits = [(MUSICBRAINZ, t) for t in _musicbrainz_hits(search, providers.musicbrainz)]
    choice = choose(search, hits)
    chosen = choice.chosen
    if choice.status == RESOLVED and chosen is not None:
        return Outcome(
            search.text,
            SEARCH,
            RESOLVED,
            chosen.source,
            chosen.track.track_id,
            track_name(chosen.track),
            ((chosen.source, chosen.track),),
            choice.candidates,
        )
    return Outcome(
        search.text, SEARCH, choice.status, searched or MUSICBRAINZ, candidates=choice.candidates, error=choice.reason
    )


def resolve_item(item: str, providers: Providers) -> Outcome:
    """One asked item, resolved; a provider error or an unusable item is a failed outcome, never raised."""
    kind = UNKNOWN
    try:
        parsed = parse_item(item)
        if isinstance(parsed, ShortLink):
            parsed = expand_short_link(parsed.url)
        kind = parsed.kind if isinstance(parsed, Link) else SEARCH
        if isinstance(parsed, Link):
            return resolve_link(parsed, item, providers)
        return resolve_search(parsed, providers)
    except EndpointUnavailable as exc:
        said = "not found" if exc.status == 404 else "refused"
        return Outcome(item, kind, FAILED, error=f"{exc.endpoint}: {said} (HTTP {exc.status}: {exc.message})")
    except (UnusableItem, ProviderError, LoginRequired) as exc:
        return Outcome(item, kind, FAILED, error=" ".join(str(exc).split()))


def _report(rows: list[tuple], candidates: dict[int, list[dict]]) -> str:
    table = markdown_table(
        ["request", "asked", "resolved to", "tracks requested", "already had", "status"],
        [
            (request_id, asked, resolved_to or "", requested, had, status if not error else f"{status}: {error}")
            for request_id, asked, resolved_to, status, requested, _, _, had, error in rows
        ],
    )
    for request_id, listed in candidates.items():
        table += f"\n\n**Request {request_id} is ambiguous**: pick one with `pick: ['{request_id}:<n>']`\n\n"
        table += markdown_table(
            ["n", "artist", "title", "album", "score", "link"],
            [(c["n"], c["artist"], c["title"], c["album"], c["score"], c["link"]) for c in listed],
        )
    return table


@dg.op(
    name="ask",  # an op may not share its job's name: the launchpad's config is ops.ask.config
    description="Request tracks by Spotify or Deezer link or by search: they become owned and pending, first in the queue.",
)
def request_op(
    context: dg.OpExecutionContext,
    config: RequestConfig,
    library_db: LibraryDatabase,
    library_policy: LibraryPolicy,
    spotify: SpotifyResource,
    deezer: DeezerResource,
    musicbrainz: MusicBrainzResource,
) -> None:
    if not config.items and not config.pick:
        raise dg.Failure(
            description="nothing to request: list links or 'artist - title' searches under items, or picks"
        )
    providers = Providers(spotify, deezer, musicbrainz)
    try:
        picks = [parse_pick(p) for p in config.pick]
    except UnusableItem as exc:
        raise dg.Failure(description=str(exc)) from None
    # The providers are asked before the database is opened: no lock is held while they answer.
    outcomes = [resolve_item(item, providers) for item in config.items]
    ids: list[int] = []
    picked: list[str] = []
    with library_db.writer() as conn:
        now = utc_now()
        held = request_store.held_tracks(conn) if config.only_missing else None
        for outcome in outcomes:
            ids.append(
                request_store.record(
                    conn, outcome, only_missing=config.only_missing, held=held, now=now, run_id=context.run_id
                )
            )
        for request_id, n in picks:
            try:
                picked.append(request_store.pick(conn, request_id, n, now))
            except request_store.NoSuchCandidate as exc:
                raise dg.Failure(description=str(exc)) from None
            ids.append(request_id)
        merged = rebuild(conn, library_policy)
        rows = request_store.progress(conn, ids)
    failed = [o for o in outcomes if o.status == FAILED]
    ambiguous = {
        i: [c.as_json(n) for n, c in enumerate(o.candidates, 1)]
        for i, o in zip(ids[: len(outcomes)], outcomes, strict=True)
        if o.status == AMBIGUOUS
    }
    requested = sum(row[4] for row in rows)
    action = (
        f"{len(outcomes)} item(s) asked: {sum(o.status == RESOLVED for o in outcomes)} resolved, "
        f"{len(ambiguous)} ambiguous, {sum(o.status == NOT_FOUND for o in outcomes)} not found, {len(failed)} failed"
        + (f"; {len(picked)} pick(s) resolved" if picked else "")
        + f"; {requested} track(s) requested"
    )
    for outcome in failed:
        context.log.warning(f"{outcome.asked!r} failed: {outcome.error}")
    context.log.info(action)
    context.log_event(merged.materialization(action=action))
    context.add_output_metadata(
        {
            "action": action,
            "request_ids": dg.MetadataValue.json(ids),
            "tracks_requested": requested,
            "failed": len(failed),
            "ambiguous": len(ambiguous),
            "requests": dg.MetadataValue.md(_report(rows, ambiguous)),
        }
    )
    if outcomes and len(failed) == len(outcomes) and not picked:
        first = failed[0]
        raise dg.Failure(
            description=f"every item failed; the first, {first.asked!r}: {first.error}",
            metadata={"requests": dg.MetadataValue.md(_report(rows, {}))},
        )


@dg.job(
    name="request",
    description=(
        "Request anything by Spotify or Deezer link (track, album, playlist, artist) or by search "
        "('artist - title'): owned and pending, downloaded first. Progress in library.requests."
    ),
    tags={"soulspot/kind": "user_action"},
)
def request_job():
    request_op()
