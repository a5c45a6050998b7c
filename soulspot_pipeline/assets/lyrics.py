"""Lyrics: synced (LRC) or plain lyrics of every owned track on disk, from LRCLIB, kept in
``library.lyrics``; optionally written beside the audio and into its tags."""

from collections import Counter
from collections.abc import Callable
from pathlib import Path

import dagster as dg

from soulspot_pipeline.assets.reporting import markdown_table
from soulspot_pipeline.assets.shared import LIBRARY_ENTITIES
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.lyrics import (
    FAILED,
    LyricsChoice,
    LyricsTarget,
    choose,
    lyrics_file_path,
    needs_fetch,
    retry_after,
)
from soulspot_pipeline.importing.lyrics_files import embed_lyrics, write_lyrics_file
from soulspot_pipeline.importing.tags import TaggingError
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


def fetch_lyrics(
    lrclib: LrclibResource,
    todo: list[LyricsTarget],
    now,
    retry_days: float,
    progress,
    save: Callable[[list[store.LyricsOutcome]], None],
) -> tuple[list[store.LyricsOutcome], str | None]:
    """Ask about each track in turn, saving the answers in batches; the outcomes, and why
    asking stopped early (None when it did not).

    A track LRCLIB refuses is a ``failed`` row; LRCLIB unreachable or failing after its
    retries stops the asking: the tracks not asked keep their rows for the next run.
    """
    outcomes: list[store.LyricsOutcome] = []
    stopped, saved = None, 0
    for n, target in enumerate(todo, 1):
        try:
            record = lrclib.get(target)
            choice = choose(record)
        except LyricsRefused as exc:
            record, choice = None, LyricsChoice(FAILED, reason=f"lrclib: {exc}")
        except ProviderError as exc:
            stopped = str(exc)
            break
        outcomes.append(
            store.LyricsOutcome(target.track_id, choice, record, retry_after(choice.status, now, retry_days))
        )
        if n % SAVE_EVERY == 0:
            save(outcomes[saved:])
            saved = len(outcomes)
            progress(f"{n} of {len(todo)} tracks asked")
    save(outcomes[saved:])
    return outcomes, stopped


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
    kinds={"lrclib", "duckdb"},
    pool=LYRICS_POOL,
    retry_policy=dg.RetryPolicy(max_retries=2, delay=30, backoff=dg.Backoff.EXPONENTIAL),
)
def lyrics(
    context: dg.AssetExecutionContext,
    library_db: LibraryDatabase,
    lrclib: LrclibResource,
    lyrics_policy: LyricsPolicy,
    music_folder: MusicFolder,
) -> dg.MaterializeResult:
    """Synced or plain lyrics of every owned track on disk, from LRCLIB; asked once, kept for good."""
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

    outcomes, stopped = fetch_lyrics(lrclib, todo, now, lyrics_policy.retry_days, context.log.info, save)
    if stopped:
        context.log.warning(f"lyrics: stopped asking LRCLIB after {len(outcomes)} of {len(todo)} tracks: {stopped}")

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
            "all_lyrics": dg.MetadataValue.json(totals),
            "files_written": len(written),
            "files_left_alone": files_left,
            "tags_embedded": len(embedded),
            "tag_failures": dg.MetadataValue.json(tag_failures[:10]),
            **lrclib.stats.as_metadata(),
            "dagster/row_count": sum(totals.values()),
            "preview": dg.MetadataValue.md(markdown_table(["artist", "title", "status", "source", "lyrics"], preview)),
        }
    )
