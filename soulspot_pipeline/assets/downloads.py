"""Downloads: wanted tracks searched on Soulseek through slskd, the best file chosen with its reasons and
enqueued; transfers followed to the end and finished files imported into the music folder."""

import os
import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import dagster as dg

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import LIBRARY_ENTITIES, SLSKD_POOL, rebuild
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.download_query import album_query, search_queries
from soulspot_pipeline.domain.download_ranking import (
    PeerRecord,
    RankingPolicy,
    after_failure,
    after_success,
    album_mode_applies,
    only_upgrades,
    parse_candidates,
    rank_album_folders,
    rank_candidates,
)
from soulspot_pipeline.domain.naming import DEFAULT_TEMPLATE, safe_component
from soulspot_pipeline.domain.notify import DOWNLOAD_FAILED, IMPORTED, Event, event_key, one_line, subject
from soulspot_pipeline.domain.quality import Quality
from soulspot_pipeline.domain.slskd_states import transfer_outcome
from soulspot_pipeline.domain.transfers import (
    FAIL,
    IMPORT,
    MAX_ATTEMPTS,
    PROGRESS,
    RETRY,
    WAIT,
    Tracked,
    Verdict,
    judge_transfer,
)
from soulspot_pipeline.importing.place import ImportOutcome, import_download, set_aside
from soulspot_pipeline.importing.tags import TaggingError, TrackTags
from soulspot_pipeline.importing.verify import ImportRejected
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import DownloadPolicy, LibraryPolicy
from soulspot_pipeline.resources.search_budget import SearchBudget
from soulspot_pipeline.resources.slskd import SlskdResource, Transfer
from soulspot_pipeline.store import downloads as store
from soulspot_pipeline.store import notifications
from soulspot_pipeline.store.database import DatabaseLockedError, LibraryDatabase
from soulspot_pipeline.store.sql import transaction, utc_now

ENQUEUE_TRIES = 3  # accepted candidates offered to slskd before the track waits for the next search
PAUSE_CHECK_WAIT_S = 5.0  # a pause job's write is brief; a longer writer does not stop the run


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
        if queued.existing is not None:
            ranked = only_upgrades(ranked, queued.existing)
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
            outcome.error = (
                "; ".join(f"{c.username}: {reason}" for _, reason in taken.failed) or f"{c.username} refused"
            )
        return outcome
    return outcome


def search_album(
    group: list[store.QueuedTrack],
    slskd: SlskdResource,
    budget: SearchBudget,
    policy: RankingPolicy,
    peers: Mapping[str, PeerRecord],
    now: datetime,
) -> list[store.SearchOutcome] | None:
    """Most of an album is wanted: one search for the album, and one peer's folder holding all of
    it, rather than a file from each of many peers. None when no folder qualifies."""
    first = group[0].wanted
    query = album_query(first.artist, first.album)
    if query is None:
        return None
    with budget.slot(query.text):
        result = slskd.search(query.text)
    folders = rank_album_folders([q.wanted for q in group], parse_candidates(result.responses), policy, peers, now)
    best = next((f for f in folders if f.accepted), None)
    if best is None:
        return None
    taken = slskd.enqueue(best.username, [(r.candidate.filename, r.candidate.size) for r in best.chosen.values()])
    outcomes = []
    for queued in group:
        # Each track is explained by every folder that offered it, with the folder's verdict.
        ranked = [
            replace(
                f.chosen[queued.wanted.track_id],
                accepted=f.accepted,
                rank=f.rank,
                score=f.score,
                breakdown=f.breakdown,
                decided_by=f.decided_by,
                reason=f"folder {f.folder}: {f.reason}",
            )
            for f in folders
            if queued.wanted.track_id in f.chosen
        ]
        chosen = next(r for r in ranked if r.rank == best.rank)
        outcome = store.SearchOutcome(queued, [(query.tier, query.text, ranked)], (query.tier, query.text, chosen))
        if chosen.candidate.filename in taken.enqueued:
            outcome.enqueued = True
            outcome.transfer_id = next((t.id for t in taken.transfers if t.filename == chosen.candidate.filename), None)
        else:
            outcome.error = f"{best.username} did not take it"
        outcomes.append(outcome)
    return outcomes


def search_queue(
    queue: list[store.QueuedTrack],
    slskd: SlskdResource,
    budget: SearchBudget,
    policy: RankingPolicy,
    peers: Mapping[str, PeerRecord],
    now: datetime,
    progress: Callable[[str], None],
    paused: Callable[[], str | None] = lambda: None,
) -> tuple[list[store.SearchOutcome], ProviderError | None]:
    """Every queued track's search, albums mostly wanted as whole folders first; on a slskd
    failure, what was done so far and the failure. ``paused`` is asked before each search:
    once it gives a reason, no further search starts."""
    outcomes: list[store.SearchOutcome] = []
    by_album: dict[str, list[store.QueuedTrack]] = {}
    for queued in queue:
        if queued.album_id and queued.existing is None:
            by_album.setdefault(queued.album_id, []).append(queued)
    done: set[str] = set()
    for group in by_album.values():
        if not album_mode_applies(len(group), group[0].wanted.album_track_count):
            continue
        if (reason := paused()) is not None:
            progress(f"downloads {reason}: no further search")
            return outcomes, None
        try:
            found = search_album(group, slskd, budget, policy, peers, now)
        except ProviderError as exc:
            return outcomes, exc
        if found:
            outcomes += found
            done |= {q.wanted.track_id for q in group}
    for n, queued in enumerate([q for q in queue if q.wanted.track_id not in done], start=1):
        if (reason := paused()) is not None:
            progress(f"downloads {reason}: no further search")
            return outcomes, None
        try:
            outcomes.append(search_track(queued, slskd, budget, policy, peers, now))
        except ProviderError as exc:
            return outcomes, exc
        if n % 10 == 0:
            progress(f"searched {n} of {len(queue)} tracks")
    return outcomes, None


@dg.asset(
    deps=[LIBRARY_ENTITIES, dg.AssetKey("discography_gaps")],
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
        if (reason := pause_reason(download_policy, store.paused_since(conn))) is not None:
            return dg.MaterializeResult(metadata={"status": f"skipped: {reason}"})
        search_again_before = now - timedelta(hours=download_policy.search_again_hours)
        queue = store.load_queue(conn, search_again_before=search_again_before, limit=download_policy.tracks_per_run)
        upgrades = store.load_upgrades(
            conn,
            below_bitrate=download_policy.upgrade_below_bitrate,
            search_again_before=search_again_before,
            limit=download_policy.tracks_per_run,
        )
        if download_policy.request_upgrades:  # after every wanted track: upgrades only fill what is left of the run
            queue += upgrades[: download_policy.tracks_per_run - len(queue)]
        peers = store.load_peers(conn)
    context.log.info(f"{len(queue)} pending tracks to search for")
    # Re-read before each search, so a pause mid-run stops the searches still to come.
    switch = PauseSwitch(library_db, context)
    outcomes, failure = search_queue(
        queue,
        slskd,
        search_budget,
        download_policy.ranking(),
        peers,
        now,
        context.log.info,
        lambda: pause_reason(download_policy, switch()),
    )
    failed = [
        failed_event(
            o.queued.wanted.track_id, o.queued.wanted.artist, o.queued.wanted.title, o.error, now, context.run.run_id
        )
        for o in outcomes
        if not o.enqueued and o.error
    ]
    with library_db.writer(patient=True) as conn:
        written = store.write_outcomes(conn, outcomes, now, events=failed)
        merged = rebuild(conn, library_policy)
        preview = conn.execute(
            """
            SELECT t.title, d.state, d.query_tier, c.username, c.filename, c.reason
            FROM library.downloads d JOIN library.tracks t USING (track_id)
            LEFT JOIN library.download_candidates c ON c.track_id = d.track_id AND c.chosen
            ORDER BY d.updated_at DESC, t.title LIMIT 15
            """
        ).fetchall()
        states = dict(conn.execute("SELECT state, count(*) FROM library.downloads GROUP BY 1").fetchall())
    context.log_event(merged.materialization())
    metadata = {
        "searched": len(outcomes),
        "upgrade_candidates": len(upgrades),
        "this_run": dg.MetadataValue.json(written),
        "downloads": dg.MetadataValue.json(states),
        **slskd.stats.as_metadata(),
        "library_changes": dg.MetadataValue.json(merged.changes),
        "dagster/row_count": sum(states.values()),
        "preview": dg.MetadataValue.md(markdown_table(["track", "state", "found by", "peer", "file", "why"], preview)),
    }
    if failure is not None:
        raise dg.Failure(
            description=f"downloads stopped after {len(outcomes)} tracks (their results are kept): {failure}",
            metadata=metadata,
        )
    reason = pause_reason(download_policy, switch()) if len(outcomes) < len(queue) else None
    return dg.MaterializeResult(metadata={"status": f"searched, then {reason}" if reason else "searched", **metadata})


def pause_reason(policy: DownloadPolicy, paused_since: datetime | None) -> str | None:
    """Why downloads are paused, with how to resume; None while they run."""
    if policy.paused:
        return "paused (SOULSPOT_DOWNLOADS_PAUSED=true; unset it to resume)"
    if paused_since is not None:
        return f"paused by pause_downloads at {paused_since:%Y-%m-%d %H:%M} UTC (run resume_downloads to resume)"
    return None


class PauseSwitch:
    """The pause switch as it is now: read again only when the database files changed since the
    last read (a stat costs microseconds, opening the database tens of milliseconds a search).
    While another writer holds the library, searching goes on."""

    def __init__(self, library_db: LibraryDatabase, context: dg.AssetExecutionContext) -> None:
        self.library_db, self.context = library_db, context
        self.seen: tuple | None = None
        self.since: datetime | None = None

    def __call__(self) -> datetime | None:
        stamp = self._stamp()
        if stamp is not None and stamp == self.seen:
            return self.since
        try:
            with self.library_db.get_connection(read_only=True, wait_s=PAUSE_CHECK_WAIT_S) as conn:
                self.since = store.paused_since(conn)
        except DatabaseLockedError as exc:
            self.context.log.warning(f"could not read the pause switch, searching on: {exc}")
            return None
        self.seen = stamp
        return self.since

    def _stamp(self) -> tuple | None:
        """The database file's and its write-ahead log's (mtime, size); None when unknown."""
        stamps: list[tuple[int, int] | None] = []
        for path in (Path(self.library_db.database), Path(f"{self.library_db.database}.wal")):
            try:
                stat = path.stat()
            except FileNotFoundError:
                stamps.append(None)
            except OSError:
                return None
            else:
                stamps.append((stat.st_mtime_ns, stat.st_size))
        return tuple(stamps)


def find_finished_file(downloads_dir: Path, remote_filename: str, size: int | None) -> Path | None:
    """Where slskd put a finished download: ``<downloads>/<remote folder>/<file>``, its names made
    safe; else a file of that name one folder down. Never a path outside ``downloads_dir``."""
    root = downloads_dir.resolve()
    parts = [p for p in re.split(r"[\\/]", remote_filename) if p.strip(" .")]
    if not parts:
        return None
    name = safe_component(parts[-1])
    folder = safe_component(parts[-2]) if len(parts) > 1 else None

    def existing(paths) -> list[Path]:
        return [p for p in paths if p.is_file() and p.resolve().is_relative_to(root)]

    def right_size(paths: list[Path]) -> Path | None:
        return next((p for p in paths if size is None or p.stat().st_size == size), None)

    found = existing([root / folder / name] if folder else []) + existing([root / name])
    if (hit := right_size(found)) is not None:
        return hit
    # Only then the folders one level down: a downloads folder can hold thousands.
    found += existing(sorted(p / name for p in root.iterdir() if p.is_dir()) if root.is_dir() else [])
    # The right size first; a wrong-sized one is still returned, for verification to reject with the reason.
    return right_size(found) or (found[0] if found else None)


def _quality(values: dict | None) -> Quality | None:
    return Quality(**values) if values else None


def import_finished(
    active: store.ActiveDownload,
    downloads_dir: Path,
    music_dir: Path,
    broken: Mapping[str, str | None],
    template: str = DEFAULT_TEMPLATE,
    embed_lyrics: bool = False,
) -> ImportOutcome:
    """Verify, tag, rename and move one finished download into the music folder (raises ImportRejected).

    ``broken``: the library's broken files and their tracks (``store.load_broken_files``). One at
    the destination is replaced whatever its header claims, and the track's others leave the
    library: kept under ``.soulspot-replaced/``, never deleted. ``template``: the naming template
    (SOULSPOT_NAMING_TEMPLATE); ``embed_lyrics``: the track's known lyrics go into the tags."""
    source = find_finished_file(downloads_dir, active.remote_filename, active.size_bytes)
    if source is None:
        raise ImportRejected(f"the finished file is not in {downloads_dir}")
    t = active.tags
    fields = {
        "albumartist": t["albumartist"],
        "artist": t["artist"],
        "album": t["album"],
        "year": t["date"],
        "disc": t["disc_number"],
        "disc_total": t["disc_total"],
        "track": t["track_number"],
        "title": t["title"],
        "albumtype": active.album_type,
        "genre": t["genre"],
    }
    cover = Path(active.cover_path).read_bytes() if active.cover_path and os.path.exists(active.cover_path) else None
    existing = _quality(active.existing)

    def place(tags: TrackTags | None) -> ImportOutcome:
        return import_download(
            source,
            music_dir,
            template=template,
            fields=fields,
            tags=tags,
            cover_jpeg=cover,
            expected_duration_ms=active.duration_ms,
            expected_size=active.size_bytes,
            existing=existing,
            broken=[Path(p) for p in broken],
            lyrics=active.lyrics if embed_lyrics else None,
        )

    try:
        outcome = place(TrackTags(**t))
    except TaggingError:
        outcome = place(None)  # a format we cannot tag still counts
    if outcome.status == "kept_existing":
        return outcome
    # The copies the new file replaces under other names leave the library, kept aside: the old
    # file of an upgrade, and every broken file of the track.
    replaced = [active.existing_path, *(p for p, track_id in broken.items() if track_id == active.track_id)]
    moved = [
        set_aside(Path(old), music_dir)
        for old in dict.fromkeys(p for p in replaced if p)
        if Path(old).resolve().is_relative_to(music_dir.resolve())
        and os.path.exists(old)
        and Path(old).resolve() != outcome.path.resolve()
    ]
    return replace(outcome, moved_aside=tuple(moved))


@dataclass
class TransferReport:
    counts: Counter = field(default_factory=Counter)
    events: list[tuple[str, str, str]] = field(default_factory=list)  # (track, what happened, detail)


def follow_transfers(
    conn,
    active,
    slskd: SlskdResource,
    music_dir: Path,
    downloads_dir: Path,
    now: datetime,
    policy: DownloadPolicy,
    paused: str | None = None,
    run_id: str | None = None,
    template: str = DEFAULT_TEMPLATE,
) -> TransferReport:
    """Apply the verdict on every active download: note progress, import, or retry with the next candidate.
    ``paused`` (why downloads are paused): nothing new is enqueued, so a transfer given up on fails.
    An import and a final failure are each recorded with their notification event (of run ``run_id``)."""
    report = TransferReport()
    listed = {
        (t.username, t.filename): t
        for t in sorted(slskd.downloads(), key=lambda t: t.requested_at or datetime.min.replace(tzinfo=UTC))
    }
    peers = store.load_peers(conn)
    broken = store.load_broken_files(conn)
    for download in active:
        transfer = listed.get((download.username, download.remote_filename))
        tracked = Tracked(
            download.track_id, download.attempts, download.percent_complete, download.enqueued_at, download.progress_at
        )
        verdict = judge_transfer(
            tracked,
            transfer.state if transfer else None,
            transfer.percent_complete if transfer else None,
            transfer.exception if transfer else None,
            now,
            stall_after=timedelta(minutes=policy.stall_minutes),
            queued_after=timedelta(minutes=policy.queued_minutes),
        )
        report.counts[verdict.action] += 1
        title = download.tags["title"]
        if verdict.action == PROGRESS:
            speed, eta = transfer_pace(transfer, now) if transfer else (None, None)
            store.update_download(
                conn,
                download.track_id,
                now,
                percent_complete=verdict.percent,
                progress_at=now,
                speed_bps=speed,
                eta_at=eta,
            )
            continue
        if verdict.action == IMPORT:
            try:
                outcome = import_finished(download, downloads_dir, music_dir, broken, template, policy.embed_lyrics)
            except ImportRejected as exc:
                verdict = Verdict(RETRY if download.attempts < MAX_ATTEMPTS else FAIL, f"import rejected: {exc.reason}")
            else:
                imported = Event(
                    event_key(IMPORTED, download.track_id, now.isoformat()),
                    IMPORTED,
                    subject(download.tags["artist"], title),
                    download.tags["album"] or "",
                    now,
                    run_id,
                )
                with transaction(conn):
                    store.update_download(
                        conn,
                        download.track_id,
                        now,
                        state="downloaded",
                        percent_complete=100.0,
                        local_path=str(outcome.path),
                        finished_at=now,
                        eta_at=None,
                        error=None,
                    )
                    notifications.record(conn, [imported], now)
                record = after_success(peers.get(download.username, PeerRecord()))
                store.record_peer(conn, download.username, record, None, now)
                peers[download.username] = record
                kept = [f"{p} kept aside" for p in (outcome.replaced_to, *outcome.moved_aside) if p]
                report.events.append((title, outcome.status, "; ".join([str(outcome.path), *kept])))
                # The file now at that path is the good copy just imported, not the broken one listed.
                broken = {p: t for p, t in broken.items() if Path(p).resolve() != outcome.path.resolve()}
                continue
        if verdict.action == WAIT:
            continue
        # Give up on this peer's file: cancel it, count it against the peer, try the next candidate.
        if transfer is not None and not transfer_outcome(transfer.state).finished:
            slskd.cancel(download.username, transfer.id)
        record = after_failure(peers.get(download.username, PeerRecord()), now)
        store.record_peer(conn, download.username, record, verdict.reason, now)
        peers[download.username] = record
        nxt = None
        if verdict.action == RETRY and paused is not None:
            verdict = Verdict(FAIL, f"{verdict.reason}; not retried with another file: downloads {paused}")
        if verdict.action == RETRY:
            skipped = {u for u, r in peers.items() if r.skipped_until and r.skipped_until > now} | {download.username}
            nxt = _enqueue_next(conn, slskd, download, skipped, now)
        if nxt is None:
            gave_up = failed_event(download.track_id, download.tags["artist"], title, verdict.reason, now, run_id)
            with transaction(conn):
                store.update_download(
                    conn, download.track_id, now, state="failed", error=verdict.reason, finished_at=now, eta_at=None
                )
                notifications.record(conn, [gave_up], now)
            report.events.append((title, "failed", verdict.reason or ""))
        else:
            report.counts["retried"] += 1
            report.events.append((title, "retried", f"{verdict.reason}; now {nxt}"))
    return report


def failed_event(
    track_id: str, artist: str | None, title: str | None, reason: str | None, now: datetime, run_id: str | None
) -> Event:
    """A download given up as failed, as its notification event."""
    return Event(
        event_key(DOWNLOAD_FAILED, track_id, now.isoformat()),
        DOWNLOAD_FAILED,
        subject(artist, title),
        one_line(reason),
        now,
        run_id,
    )


def transfer_pace(transfer: Transfer, now: datetime) -> tuple[float | None, datetime | None]:
    """A transfer's speed (slskd's averageSpeed, bytes/s) and when it should end at that speed."""
    if transfer.average_speed <= 0:
        return None, None
    remaining = max(transfer.size - transfer.bytes_transferred, 0)
    return transfer.average_speed, now + timedelta(seconds=remaining / transfer.average_speed)


def _enqueue_next(
    conn, slskd: SlskdResource, download: store.ActiveDownload, avoid: set[str], now: datetime
) -> str | None:
    """Hand slskd the next candidate of the track; returns its peer, or None when none is left."""
    while (candidate := store.next_candidate(conn, download.track_id, avoid)) is not None:
        attempt, tier, username, filename, size = candidate
        store.mark_chosen(conn, download.track_id, attempt, tier, username, filename)
        taken = slskd.enqueue(username, [(filename, size)])
        if filename in taken.enqueued:
            store.update_download(
                conn,
                download.track_id,
                now,
                attempts=download.attempts + 1,
                username=username,
                remote_filename=filename,
                size_bytes=size,
                query_tier=tier,
                percent_complete=0.0,
                transfer_id=next((t.id for t in taken.transfers if t.filename == filename), None),
                enqueued_at=now,
                progress_at=now,
                error=None,
            )
            return username
        avoid.add(username)
    return None


@dg.asset(
    deps=[downloads],
    group_name="downloads",
    kinds={"slskd", "duckdb"},
    pool=SLSKD_POOL,
)
def download_transfers(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    slskd: SlskdResource,
    music_folder: MusicFolder,
    download_policy: DownloadPolicy,
    library_policy: LibraryPolicy,
) -> dg.MaterializeResult:
    """Downloads followed to the end: progress noted, stalled or failed ones retried, finished files verified, tagged and moved into the music folder."""
    if not slskd.configured:
        return dg.MaterializeResult(metadata={"status": "skipped: not configured (set SLSKD_URL and SLSKD_API_KEY)"})
    music_dir = Path(music_folder.music_dir)
    now = utc_now()
    with library_db.writer(patient=True) as conn:
        active = store.load_active(conn)
        paused = pause_reason(download_policy, store.paused_since(conn))
        try:
            report = follow_transfers(
                conn,
                active,
                slskd,
                music_dir,
                Path(slskd.downloads_dir),
                now,
                download_policy,
                paused,
                context.run.run_id,
                music_folder.naming_template,
            )
        except ProviderError as exc:
            raise dg.Failure(description=f"following transfers stopped: {exc}") from None
        if any(what in ("placed", "replaced") for _, what, _ in report.events):
            music_folder.scan(conn, progress=context.log.info)  # the new files join the library as files
        merged = rebuild(conn, library_policy) if report.events else None
        states = dict(conn.execute("SELECT state, count(*) FROM library.downloads GROUP BY 1").fetchall())
    if merged is not None:
        context.log_event(merged.materialization())
    return dg.MaterializeResult(
        metadata={
            "status": f"followed, {paused}" if paused else "followed",
            "active": len(active),
            "verdicts": dg.MetadataValue.json(dict(report.counts)),
            "downloads": dg.MetadataValue.json(states),
            **({"library_changes": dg.MetadataValue.json(merged.changes)} if merged else {}),
            "dagster/row_count": sum(states.values()),
            "events": dg.MetadataValue.md(markdown_table(["track", "what", "detail"], report.events[:20])),
        }
    )
