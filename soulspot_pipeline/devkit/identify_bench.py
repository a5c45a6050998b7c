"""``soulspot bench --identify N``: what identifying a library of whole albums costs in
MusicBrainz requests, and how often it is right.

It builds the noisy album catalogue (``album_catalog``: originals, remasters, deluxe editions
and same-titled albums by other artists) with the files of about N tracks, scans and merges
them, then runs ``identified_entities`` against the MusicBrainz stand-in with an empty answer
cache, and again on the same unidentified library with every answer cached. It prints the
requests made (and per 1,000 tracks), the share of files given the right recording and the
right release, and how long those requests take at the public server's one per second.
Figures, not assertions.
"""

from __future__ import annotations

import math
import shutil
import tempfile
import time
from pathlib import Path

from soulspot_pipeline.devkit.album_catalog import (
    EDITIONS,
    KINDS,
    AlbumWorld,
    build_album_catalog,
    score_identification,
)
from soulspot_pipeline.devkit.benchmark import QUIET, StandinProcess, identify_resources, materialized_metadata
from soulspot_pipeline.scan.scanner import scan_music_folder
from soulspot_pipeline.store import entities
from soulspot_pipeline.store.database import LibraryDatabase

TRACKS_PER_ALBUM = 10
PUBLIC_RATE = 1.0  # requests per second the public MusicBrainz server allows


def _share(part: int, whole: int) -> str:
    return f"{part:,} of {whole:,} ({part / whole:.1%})" if whole else "0 of 0"


def _duration(seconds: float) -> str:
    hours, rest = divmod(round(seconds), 3600)
    return f"{hours} h {rest // 60:02d} min" if hours else f"{rest // 60} min {rest % 60:02d} s"


def _by_edition(world: AlbumWorld, db: LibraryDatabase) -> str:
    """Right releases per edition of the files, and for albums with a same-titled decoy."""
    with db.writer(publish=False) as conn:
        rows = conn.execute(
            """
            SELECT f.path, al.release_mbid FROM library.track_files f JOIN library.tracks t USING (track_id)
            LEFT JOIN library.albums al ON al.album_id = t.album_id
            """
        ).fetchall()
    release_of = {str(Path(path).resolve()): release for path, release in rows}
    parts = []
    groups = [(e, [a for a in world.albums if a.edition == e]) for e in EDITIONS]
    groups.append(("with a decoy", [a for a in world.albums if a.decoy_release_mbid]))
    for label, albums in groups:
        files = [str(p.resolve()) for a in albums for p in a.files]
        right = sum(1 for f in files if release_of.get(f) == world.files[f].release_mbid)
        parts.append(f"{label} {_share(right, len(files))}")
    return "; ".join(parts)


def run_identify_benchmark(
    tracks: int, kind: str = "albums", rate: float = 50.0, directory: Path | None = None, keep: bool = False
) -> int:
    """Identify about ``tracks`` tracks of whole albums (files of ``kind``, see ``album_catalog``)
    against the MusicBrainz stand-in at ``rate`` requests/s, with an empty cache, then all cached."""
    import dagster as dg

    from soulspot_pipeline.assets.identify import identified_entities

    if kind not in KINDS:
        raise ValueError(f"--kind must be one of {', '.join(KINDS)}, not {kind!r}")
    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="soulspot-bench-identify-"))
    music = scratch / "music"
    db = LibraryDatabase(database=str(scratch / "bench.duckdb"), snapshot_path=str(scratch / "bench.snapshot.duckdb"))
    Path(db.database).unlink(missing_ok=True)
    albums = max(1, math.ceil(tracks / TRACKS_PER_ALBUM))
    try:
        started = time.perf_counter()
        world = build_album_catalog(music, albums, TRACKS_PER_ALBUM, seed=17, kind=kind)
        built = time.perf_counter() - started
        editions = world.editions()
        print(
            f"soulspot bench: identify {world.tracks:,} tracks of {albums:,} albums (files: {kind}) against the "
            f"MusicBrainz stand-in at {rate:g} requests/s, in {scratch}",
            flush=True,
        )
        print(
            f"albums: {', '.join(f'{n} {e}' for e, n in editions.items())}; "
            f"{sum(1 for a in world.albums if a.decoy_release_mbid)} with a same-titled album by another artist; "
            f"catalogue: {len(world.catalog.releases):,} releases, {len(world.catalog.recordings):,} recordings",
            flush=True,
        )
        started = time.perf_counter()
        with db.writer() as conn:
            scan_music_folder(conn, music, workers=1)
            entities.rebuild_library(
                conn, auto_queue=False, source_order=("local",), metadata_order=("manual", "musicbrainz", "local")
            )
        print(f"built the files in {built:.1f} s, scanned and merged them in {time.perf_counter() - started:.1f} s")
        unidentified = scratch / "unidentified.duckdb"
        shutil.copyfile(db.database, unidentified)
        # Served from its own process, as a mirror is: in this one it would share the interpreter lock.
        server = StandinProcess(world.catalog, min_interval_s=1.0 / rate)
        try:
            resources = identify_resources(db, server.url, rate, scratch)
            made: list[int] = []
            for label in ("first run (empty cache)", "second run (all cached)"):
                shutil.copyfile(unidentified, db.database)
                before = len(server.requests()[0])
                started = time.perf_counter()
                result = dg.materialize([identified_entities], resources=resources, run_config=QUIET)
                wall = time.perf_counter() - started
                timings, refused = server.requests()
                made.append(len(timings) - before)
                meta = materialized_metadata(result)
                with db.writer(publish=False) as conn:
                    score = score_identification(world, conn)
                print(
                    f"{label}: {made[-1]:,} requests ({made[-1] * 1000 / world.tracks:,.1f} per 1,000 tracks) "
                    f"in {wall:.1f} s; {meta['decided']:,} decisions, {meta['cache_hits']:,} answers from the cache; "
                    f"refused as too fast so far: {refused}",
                    flush=True,
                )
                print(
                    f"  right recording: {_share(score.right_recording, score.files)}, wrong: {score.wrong_recording:,}; "
                    f"right release: {_share(score.right_release, score.files)}, wrong: {score.wrong_release:,}"
                )
                print(f"  right release by edition: {_by_edition(world, db)}")
        finally:
            server.close()
        print(
            f"at the public server's {PUBLIC_RATE:g} request/s, the first run's {made[0]:,} requests take at least "
            f"{_duration(made[0] / PUBLIC_RATE)}"
        )
    finally:
        if not keep and directory is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0
