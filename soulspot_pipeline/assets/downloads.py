"""Downloads: wanted tracks searched on Soulseek through slskd, the best file chosen with its reasons, and enqueued."""

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta

import dagster as dg

from soulspot_pipeline.assets.expand import discography_gaps
from soulspot_pipeline.assets.library import library_entities, rebuild
from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.download_query import search_queries
from soulspot_pipeline.domain.download_ranking import PeerRecord, RankingPolicy, parse_candidates, rank_candidates
from soulspot_pipeline.resources.policies import DownloadPolicy, LibraryPolicy
from soulspot_pipeline.resources.search_budget import SearchBudget
from soulspot_pipeline.resources.slskd import SlskdResource
from soulspot_pipeline.store import downloads as store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now

SLSKD_POOL = "slskd_api"
ENQUEUE_TRIES = 3  # accepted candidates offered to slskd before the track waits for the next search


def search_track(
    queued: store.QueuedTrack,
    slskd: SlskdResource,
    budget: SearchBudget,
    policy: RankingPolicy,
    peers: Mapping[str, PeerRecord],
    now: datetime,
) -> store.SearchOutcome:
    """Search tier by tier until one finds an acceptable file, then enqueue the best that slskd takes."""
    outcome = store.SearchOutcome(queued, [], None)
    for query in search_queries(queued.wanted):
        with budget.slot(query.text):
            result = slskd.search(query.text)
        ranked = rank_candidates(queued.wanted, parse_candidates(result.responses), policy, peers, now)
        outcome.ranked.append((query.tier, query.text, ranked))
        accepted = [r for r in ranked if r.accepted]
        if not accepted:
            continue
        for candidate in accepted[:ENQUEUE_TRIES]:
            c = candidate.candidate
            taken = slskd.enqueue(c.username, [(c.filename, c.size)])
            if c.filename in taken.enqueued:
                outcome.chosen = (query.tier, query.text, candidate)
                outcome.enqueued = True
                outcome.transfer_id = next((t.id for t in taken.transfers if t.filename == c.filename), None)
                return outcome
            outcome.error = "; ".join(f"{c.username}: {reason}" for _, reason in taken.failed) or f"{c.username} refused"
        return outcome
    return outcome


def search_queue(
    queue: list[store.QueuedTrack],
    slskd: SlskdResource,
    budget: SearchBudget,
    policy: RankingPolicy,
    peers: Mapping[str, PeerRecord],
    now: datetime,
    progress: Callable[[str], None],
) -> tuple[list[store.SearchOutcome], ProviderError | None]:
    """Every queued track's search; on a slskd failure, what was done so far and the failure."""
    outcomes = []
    for n, queued in enumerate(queue, start=1):
        try:
            outcomes.append(search_track(queued, slskd, budget, policy, peers, now))
        except ProviderError as exc:
            return outcomes, exc
        if n % 10 == 0:
            progress(f"searched {n} of {len(queue)} tracks")
    return outcomes, None


@dg.asset(
    deps=[library_entities, discography_gaps],
    group_name="downloads",
    kinds={"slskd", "duckdb"},
    pool=SLSKD_POOL,
)
def downloads(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    slskd: SlskdResource,
    search_budget: SearchBudget,
    download_policy: DownloadPolicy,
    library_policy: LibraryPolicy,
) -> dg.MaterializeResult:
    """Wanted tracks searched on Soulseek, the best file chosen (every candidate explained) and handed to slskd."""
    if not slskd.configured:
        return dg.MaterializeResult(metadata={"status": "skipped: not configured (set SLSKD_URL and SLSKD_API_KEY)"})
    now = utc_now()
    with library_db.writer(publish=False, patient=True) as conn:
        queue = store.load_queue(
            conn, search_again_before=now - timedelta(hours=download_policy.search_again_hours),
            limit=download_policy.tracks_per_run,
        )
        peers = store.load_peers(conn)
    context.log.info(f"{len(queue)} pending tracks to search for")
    outcomes, failure = search_queue(queue, slskd, search_budget, download_policy.ranking(), peers, now, context.log.info)
    with library_db.writer(patient=True) as conn:
        written = store.write_outcomes(conn, outcomes, now)
        _, _, changes = rebuild(conn, library_policy)
        preview = conn.execute(
            """
            SELECT t.title, d.state, d.query_tier, c.username, c.filename, c.reason
            FROM library.downloads d JOIN library.tracks t USING (track_id)
            LEFT JOIN library.download_candidates c ON c.track_id = d.track_id AND c.chosen
            ORDER BY d.updated_at DESC, t.title LIMIT 15
            """
        ).fetchall()
        states = dict(conn.execute("SELECT state, count(*) FROM library.downloads GROUP BY 1").fetchall())
    metadata = {
        "searched": len(outcomes),
        "this_run": dg.MetadataValue.json(written),
        "downloads": dg.MetadataValue.json(states),
        **slskd.stats.as_metadata(),
        "library_changes": dg.MetadataValue.json(changes),
        "dagster/row_count": sum(states.values()),
        "preview": dg.MetadataValue.md(markdown_table(["track", "state", "found by", "peer", "file", "why"], preview)),
    }
    if failure is not None:
        raise dg.Failure(description=f"downloads stopped after {len(outcomes)} tracks (their results are kept): {failure}", metadata=metadata)
    return dg.MaterializeResult(metadata={"status": "searched", **metadata})
