"""Lyrics: synced (LRC) or plain lyrics of every owned track on disk, from LRCLIB, then Genius
for what LRCLIB has none of, kept in ``library.lyrics``; optionally written beside the audio and
into its tags."""

from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path

import dagster as dg

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import LIBRARY_ENTITIES
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.lyrics import (
    FAILED,
    FAILED_RETRY,
    INSTRUMENTAL,
    NOT_FOUND,
    PLAIN,
    SYNCED,
    VIA_SEARCH,
    LyricsChoice,
    LyricsRecord,
    LyricsTarget,
    best_genius_hit,
    choose,
    choose_from_search,
    genius_record,
    lyrics_file_path,
    needs_fetch,
    retry_after,
)
from soulspot_pipeline.importing.lyrics_files import embed_lyrics, write_lyrics_file
from soulspot_pipeline.importing.tags import TaggingError
from soulspot_pipeline.resources.genius import TOKEN_SETTING, GeniusResource
from soulspot_pipeline.resources.lrclib import LrclibResource, LyricsPolicy, LyricsRefused
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.store import lyrics as store
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import utc_now

# Its own pool (limit in dagster.yaml: the default of one), so two runs never ask LRCLIB at once.
LYRICS_POOL = "lyrics_api"
IDENTIFIED_ENTITIES = dg.AssetKey("identified_entities")


# Answers are saved this many at a time: a run stopped half-way keeps what it was told.
SAVE_EVERY = 100


def ask_lrclib(lrclib: LrclibResource, target: LyricsTarget) -> tuple[LyricsRecord | None, LyricsChoice]:
    """The exact get first; when it has no such track, one search by title and artist."""
    record = lrclib.get(target)
    if record is not None:
        return record, choose(record)
    return choose_from_search(target, lrclib.search(target))


def ask_genius(genius: GeniusResource, target: LyricsTarget) -> tuple[LyricsRecord | None, LyricsChoice]:
    """Genius's song of this artist and title, and the plain lyrics on its page."""
    hit = best_genius_hit(target, genius.search(target))
    if hit is None:
        return None, LyricsChoice(NOT_FOUND, reason="no song of this artist and title")
    record = genius_record(hit, None if hit.instrumental else genius.lyrics(hit))
    return record, choose(record)


@dataclass
class Fetched:
    """What one run's asking gave, and why each source stopped early (None when it did not)."""

    outcomes: list[store.LyricsOutcome]
    stopped: str | None = None
    genius_stopped: str | None = None


def fetch_lyrics(
    lrclib: LrclibResource,
    genius: GeniusResource | None,
    todo: list[LyricsTarget],
    now: datetime,
    retry_days: float,
    progress: Callable[[str], None],
    save: Callable[[list[store.LyricsOutcome]], None],
) -> Fetched:
    """Ask about each track in turn, LRCLIB first and Genius (when given) for what LRCLIB has
    none of, saving the answers in batches.

    A track LRCLIB refuses is a ``failed`` row; LRCLIB unreachable or failing after its
    retries stops the asking: the tracks not asked keep their rows for the next run. Genius
    failing (a refused token too) only stops Genius: LRCLIB's answers are still kept, and a
    track Genius was not asked about is asked again after a day rather than the retry days.
    """
    fetched = Fetched([])
    saved = 0
    for n, target in enumerate(todo, 1):
        try:
            record, choice = ask_lrclib(lrclib, target)
        except LyricsRefused as exc:
            record, choice = None, LyricsChoice(FAILED, reason=f"lrclib: {exc}")
        except ProviderError as exc:
            fetched.stopped = str(exc)
            break
        retry = retry_after(choice.status, now, retry_days)
        if choice.status == NOT_FOUND and genius is not None:
            missed = choice.reason or "no record"
            if fetched.genius_stopped is None:
                try:
                    found, answer = ask_genius(genius, target)
                    if answer.status == NOT_FOUND:
                        choice = replace(choice, reason=f"{missed}; genius: {answer.reason}")
                    else:
                        record, choice = found, answer
                    retry = retry_after(choice.status, now, retry_days)
                except LyricsRefused as exc:
                    choice, retry = replace(choice, reason=f"{missed}; genius: {exc}"), now + FAILED_RETRY
                except ProviderError as exc:
                    fetched.genius_stopped = str(exc)
            if fetched.genius_stopped is not None:
                choice, retry = replace(choice, reason=f"{missed}; genius not asked"), now + FAILED_RETRY
        fetched.outcomes.append(store.LyricsOutcome(target.track_id, choice, record, retry))
        if n % SAVE_EVERY == 0:
            save(fetched.outcomes[saved:])
            saved = len(fetched.outcomes)
            progress(f"{n} of {len(todo)} tracks asked")
    save(fetched.outcomes[saved:])
    return fetched


def write_files(found: list[store.FoundLyrics], log) -> tuple[list[tuple[str, str]], int]:
    """``.lrc``/``.txt`` beside each audio file that has none; (track, path) written, and files left alone."""
    written, left = [], 0
    for item in found:
        if item.file_path is not None:
            continue
        audio = Path(item.local_path)
        target = Path(lyrics_file_path(item.local_path, item.synced))
        try:
            if write_lyrics_file(audio, target, item.text):
                written.append((item.track_id, str(target)))
            else:
                left += 1
        except OSError as exc:
            log.warning(f"lyrics file {target} not written: {exc}")
    return written, left


def embed_tags(found: list[store.FoundLyrics], music_dir: Path, log) -> tuple[list[tuple[str, str]], list[list[str]]]:
    """The lyrics into each audio file's tags not yet holding them; (track, path) embedded, and [path, reason] failures."""
    embedded, failures = [], []
    for item in found:
        if item.embedded_path == item.local_path:
            continue
        audio = Path(item.local_path)
        if not audio.is_file():
            continue
        try:
            embed_lyrics(audio, music_dir, item.text, item.synced)
        except (TaggingError, OSError) as exc:
            log.warning(f"lyrics not embedded in {audio}: {exc}")
            failures.append([str(audio), str(exc)])
            continue
        embedded.append((item.track_id, str(audio)))
    return embedded, failures


@dg.asset(
    deps=[IDENTIFIED_ENTITIES, LIBRARY_ENTITIES],
    group_name="enrich",
    kinds={"lrclib", "genius", "duckdb"},
    pool=LYRICS_POOL,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
)
def lyrics(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    lrclib: LrclibResource,
    genius: GeniusResource,
    lyrics_policy: LyricsPolicy,
    music_folder: MusicFolder,
) -> dg.MaterializeResult:
    """Synced or plain lyrics of every owned track on disk, from LRCLIB, else plain ones from
    Genius when GENIUS_ACCESS_TOKEN is set; asked once, kept for good."""
    if not lrclib.configured:
        return dg.MaterializeResult(metadata={"status": "skipped: turned off (SOULSPOT_LRCLIB_URL=off)"})
    now = utc_now()
    with library_db.writer(publish=False, patient=True) as conn:
        targets = store.load_targets(conn)
        states = store.load_states(conn)
    todo = [t for t in targets if needs_fetch(states.get(t.track_id), now)]
    context.log.info(f"{len(todo)} of {len(targets)} owned tracks on disk need lyrics")

    def save(batch: list[store.LyricsOutcome]) -> None:
        if batch:
            with library_db.writer(publish=False, patient=True) as conn:
                store.write_outcomes(conn, batch, now)

    fetched = fetch_lyrics(
        lrclib, genius if genius.configured else None, todo, now, lyrics_policy.retry_days, context.log.info, save
    )
    outcomes, stopped = fetched.outcomes, fetched.stopped
    if stopped:
        context.log.warning(f"lyrics: stopped asking LRCLIB after {len(outcomes)} of {len(todo)} tracks: {stopped}")
    if fetched.genius_stopped:
        context.log.warning(f"lyrics: stopped asking Genius: {fetched.genius_stopped}")
    genius_status = (
        f"not configured ({TOKEN_SETTING} is not set)"
        if not genius.configured
        else f"stopped: {fetched.genius_stopped}"
        if fetched.genius_stopped
        else "asked"
    )

    written: list[tuple[str, str]] = []
    embedded: list[tuple[str, str]] = []
    tag_failures: list[list[str]] = []
    files_left = 0
    found: list[store.FoundLyrics] = []
    if lyrics_policy.write_files or lyrics_policy.write_tags:
        with library_db.reader() as conn:
            found = store.found_lyrics(conn)
    if lyrics_policy.write_files:
        written, files_left = write_files(found, context.log)
    if lyrics_policy.write_tags:
        embedded, tag_failures = embed_tags(found, Path(music_folder.music_dir), context.log)
    with library_db.writer(patient=True) as conn:
        store.record_files(conn, written)
        store.record_embedded(conn, embedded, utc_now())
        totals = dict(conn.execute("SELECT status, count(*) FROM library.lyrics GROUP BY 1").fetchall())
        preview = conn.execute(
            """
            SELECT ar.name, t.title, l.status, coalesce(l.source, '-'),
                   coalesce(left(replace(l.text, chr(10), ' / '), 60), l.reason)
            FROM library.lyrics l JOIN library.tracks t USING (track_id) JOIN library.artists ar USING (artist_id)
            ORDER BY l.fetched_at DESC, 1, 2 LIMIT 10
            """
        ).fetchall()

    this_run = dict(sorted(Counter(o.choice.status for o in outcomes).items()))
    found_by = Counter(
        f"{o.record.source} search" if (o.choice.reason or "").startswith(VIA_SEARCH) else o.record.source
        for o in outcomes
        if o.record is not None and o.choice.status in (SYNCED, PLAIN, INSTRUMENTAL)
    )
    status = "fetched"
    if stopped:
        status = (
            f"skipped: LRCLIB did not answer ({stopped})"
            if not outcomes
            else f"stopped early after {len(outcomes)} of {len(todo)} tracks: {stopped}"
        )
    return dg.MaterializeResult(
        metadata={
            "status": status,
            "looked_for": len(todo),
            "asked": len(outcomes),
            "this_run": dg.MetadataValue.json(this_run),
            "found_by": dg.MetadataValue.json(dict(sorted(found_by.items()))),
            "all_lyrics": dg.MetadataValue.json(totals),
            "files_written": len(written),
            "files_left_alone": files_left,
            "tags_embedded": len(embedded),
            "tag_failures": dg.MetadataValue.json(tag_failures[:10]),
            **lrclib.stats.as_metadata(),
            "genius": genius_status,
            "genius_requests": genius.stats.requests,
            "dagster/row_count": sum(totals.values()),
            "preview": dg.MetadataValue.md(markdown_table(["artist", "title", "status", "source", "lyrics"], preview)),
        }
    )
