"""``soulspot bench``: throughput and peak memory of the scan, the merge and the cloud import,
and how fully the downloads phase uses the Soulseek search budget.

The scan benchmark builds N small tagged files (FLAC, MP3 and Ogg Vorbis mixed) in a
scratch folder, then measures a cold scan into an empty database, a warm rescan with
nothing changed, a rescan after touching 1% of the files, and the library merge. The
cloud benchmark (``--cloud-tracks``) imports N saved tracks from the Spotify stand-in
through spotipy and Dagster, twice. The downloads benchmark (``--downloads``) searches a queue
of N pending tracks at the slskd stand-in within the budget scaled to a short window, and
prints how many searches the busiest window held. The decode benchmark (``--decode``) builds
N FLAC files of 3 to 5 minutes of noise, scans them, decodes them all with ``audio_checks``, and
decodes again with nothing changed. The MusicBrainz benchmark (``--musicbrainz``) identifies N
tracks without ISRC (one recording search each) against the MusicBrainz stand-in at ``--rate``
requests/s, with an empty answer cache and again with all of it cached, and says how much of
each request went to the cache. Figures, not assertions.
"""

from __future__ import annotations

import io
import os
import resource
import shutil
import tempfile
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

import av
from mutagen.flac import FLAC

from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.scan.scanner import scan_music_folder
from soulspot_pipeline.store import entities
from soulspot_pipeline.store.database import LibraryDatabase

FORMATS = ("flac", "mp3", "ogg")


def build_library(root: Path, files: int, *, album_tags: bool = True) -> list[Path]:
    """``files`` short tagged files, 12 to an album folder and 10 albums to an artist;
    without ``album_tags`` the files name no album (each is identified on its own)."""
    paths = []
    for n in range(files):
        artist, album = n // 120, n // 12
        folder = root / f"Artist {artist:05d}" / f"Album {album:06d}"
        if n % 12 == 0:
            folder.mkdir(parents=True, exist_ok=True)
        fmt = FORMATS[n % len(FORMATS)]
        path = folder / f"{n % 12 + 1:02d} Track {n}.{fmt}"
        write_audio_file(
            path,
            fmt,
            {
                "artist": f"Artist {artist:05d}",
                "album": f"Album {album:06d}" if album_tags else None,
                "title": f"Track {n}",
                "track_number": n % 12 + 1,
                "track_total": 12,
                "date": str(1960 + n % 60),
                "genre": "Benchmark",
            },
            seconds=1.0,
            channels=2 if fmt == "ogg" else 1,  # FFmpeg's Vorbis encoder codes stereo only
        )
        paths.append(path)
    return paths


class PeakMemory:
    """Samples the peak resident memory (VmHWM) of this process and its descendants."""

    def __init__(self, interval: float = 0.1):
        self.interval = interval
        self.peaks: dict[int, int] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> PeakMemory:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()
        self._sample()

    def _run(self) -> None:
        while not self._stop.wait(self.interval):
            self._sample()

    def _sample(self) -> None:
        for pid in _descendants(os.getpid()) | {os.getpid()}:
            hwm = _vm_hwm_kb(pid)
            if hwm:
                self.peaks[pid] = max(self.peaks.get(pid, 0), hwm)

    @property
    def own_mb(self) -> float:
        self._sample()
        own = max(self.peaks.get(os.getpid(), 0), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
        return own / 1024

    @property
    def workers_mb(self) -> list[float]:
        return sorted(kb / 1024 for pid, kb in self.peaks.items() if pid != os.getpid())


def _descendants(root: int) -> set[int]:
    parents: dict[int, int] = {}
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat", "rb") as stat:
                    parents[int(entry)] = int(stat.read().rsplit(b")", 1)[1].split()[1])
            except (OSError, ValueError, IndexError):
                continue
    found: set[int] = set()
    frontier = {root}
    while frontier:
        frontier = {pid for pid, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def _forget_peak_rss() -> bool:
    """Reset this process's VmHWM to its current resident memory (Linux); False where it cannot."""
    try:
        with open("/proc/self/clear_refs", "w") as clear_refs:
            clear_refs.write("5")
    except OSError:
        return False
    return True


def _vm_hwm_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def changed_rows(changes: Mapping[str, Any]) -> int:
    """All the counts of a nested ``changes`` report added up."""
    return sum(changed_rows(v) if isinstance(v, Mapping) else v for v in changes.values())


def materialized_metadata(result: Any) -> dict[str, Any]:
    """The metadata values of every materialization of a ``dg.materialize`` result, by name."""
    return {
        name: value.value
        for event in result.get_asset_materialization_events()
        for name, value in event.materialization.metadata.items()
    }


def _timed(label: str, files: int, fn):
    started = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - started
    print(f"{label:<34} {seconds:8.2f} s  {files / seconds:10,.0f} files/s", flush=True)
    return result


def run_benchmark(files: int, workers: int, directory: Path | None = None, keep: bool = False) -> int:
    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="soulspot-bench-"))
    music = scratch / "music"
    db = LibraryDatabase(database=str(scratch / "bench.duckdb"))
    Path(db.database).unlink(missing_ok=True)
    print(f"soulspot bench: {files:,} files, {workers} scan workers, {os.cpu_count()} cores, in {scratch}")
    try:
        paths = _timed("build synthetic library", files, lambda: build_library(music, files))
        with PeakMemory() as memory, db.writer() as conn:
            cold = _timed("cold scan (empty database)", files, lambda: scan_music_folder(conn, music, workers=workers))
            warm = _timed(
                "warm rescan (nothing changed)", files, lambda: scan_music_folder(conn, music, workers=workers)
            )
            scan_peak_mb = memory.own_mb
            step = 100
            for path in paths[::step]:
                stat = path.stat()
                os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000_000))
            touched = _timed("rescan after touching 1%", files, lambda: scan_music_folder(conn, music, workers=workers))

            def merge():
                return entities.rebuild_library(
                    conn, auto_queue=False, source_order=("local",), metadata_order=("manual", "musicbrainz", "local")
                ).changes

            # The merge's own peak: the scans' is forgotten first (where the kernel allows it).
            merge_peak_label = "the first merge" if _forget_peak_rss() else "the scans and the first merge"
            first_merge = _timed("library merge (first)", files, merge)
            merge_peak_mb = _vm_hwm_kb(os.getpid()) / 1024
            second_merge = _timed("library merge (unchanged)", files, merge)
        print(f"cold scan read {cold.read:,} files with {cold.errors} errors")
        print(f"warm rescan read {warm.read:,} files; after touching {len(paths[::step]):,}, read {touched.read:,}")
        print(
            f"first merge inserted {first_merge['tracks']['inserted']:,} tracks; unchanged merge changed "
            f"{changed_rows(second_merge)} rows"
        )
        workers_mb = memory.workers_mb
        print(f"peak memory of the main process during the cold and warm scans: {scan_peak_mb:,.0f} MB")
        print(f"peak memory of the main process during {merge_peak_label}: {merge_peak_mb:,.0f} MB")
        print(
            f"peak memory: main process {memory.own_mb:,.0f} MB; scan workers "
            f"{', '.join(f'{m:,.0f}' for m in workers_mb[-workers:]) or '-'} MB; "
            f"all together {memory.own_mb + sum(workers_mb):,.0f} MB"
        )
        print(f"database size: {Path(db.database).stat().st_size / 1e6:,.1f} MB")
    finally:
        if not keep and directory is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def run_cloud_benchmark(tracks: int, directory: Path | None = None) -> int:
    """Import ``tracks`` saved Spotify tracks from the local stand-in, then sync again unchanged."""
    import dagster as dg

    from soulspot_pipeline.assets.cloud import cloud_assets
    from soulspot_pipeline.assets.library import library_entities
    from soulspot_pipeline.assets.shared import METADATA_ORDER, SOURCE_ORDER
    from soulspot_pipeline.devkit.standins.spotify import SpotifyStandin, generate_library
    from soulspot_pipeline.resources.deezer import DeezerResource
    from soulspot_pipeline.resources.policies import LibraryPolicy
    from soulspot_pipeline.resources.spotify import SCOPES, SpotifyResource, TokenFile

    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="soulspot-bench-cloud-"))
    db = LibraryDatabase(database=str(scratch / "bench.duckdb"), snapshot_path=str(scratch / "bench.snapshot.duckdb"))
    token_path = scratch / "secrets" / "spotify-token.json"
    print(f"soulspot bench: import {tracks:,} saved Spotify tracks from the local stand-in, in {scratch}")
    try:
        with SpotifyStandin(generate_library(tracks, seed=1)) as server, PeakMemory() as memory:
            TokenFile(token_path).save_token_to_cache(
                {**server.issue_tokens(" ".join(SCOPES)), "expires_at": int(time.time()) + 3600}
            )
            resources = {
                "library_db": db,
                "library_policy": LibraryPolicy(),
                "spotify": SpotifyResource(
                    client_id=server.client_id,
                    redirect_uri="http://127.0.0.1:8888/callback",
                    api_url=server.api_url,
                    accounts_url=server.accounts_url,
                    token_path=str(token_path),
                ),
                "deezer": DeezerResource(),
            }
            assets = [*cloud_assets, library_entities]
            for label in ("first sync (empty library)", "second sync (nothing changed)"):
                before = len(server.requests)
                started = time.perf_counter()
                result = dg.materialize(assets, resources=resources, selection=["spotify_likes"])
                imported = time.perf_counter() - started
                started = time.perf_counter()
                with db.writer() as conn:
                    changes = entities.rebuild_library(
                        conn, auto_queue=False, source_order=SOURCE_ORDER, metadata_order=METADATA_ORDER
                    ).changes
                merged = time.perf_counter() - started
                meta = materialized_metadata(result)
                print(
                    f"{label}: import {imported:6.2f} s ({tracks / imported:,.0f} tracks/s, "
                    f"{len(server.requests) - before} requests, {meta['rate_limited']} rate-limited), "
                    f"merge {merged:5.2f} s; rows changed: sync {changed_rows(meta['changes'])}, merge {changed_rows(changes)}",
                    flush=True,
                )
            print(f"peak memory of the process: {memory.own_mb:,.0f} MB")
    finally:
        if directory is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def run_downloads_benchmark(tracks: int, window_s: float, directory: Path | None = None) -> int:
    """Search a queue of ``tracks`` pending tracks at the slskd stand-in within the Soulseek
    budget (34 searches per window, the window scaled down from 220 s so it binds in seconds)."""
    import dagster as dg

    from soulspot_pipeline.assets.cloud import cloud_assets
    from soulspot_pipeline.assets.downloads import downloads
    from soulspot_pipeline.assets.library import library_entities
    from soulspot_pipeline.devkit.standins import deezer as dz
    from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
    from soulspot_pipeline.domain.search_budget import MAX_SEARCHES
    from soulspot_pipeline.resources.deezer import DeezerResource
    from soulspot_pipeline.resources.policies import DownloadPolicy, LibraryPolicy
    from soulspot_pipeline.resources.search_budget import SearchBudget
    from soulspot_pipeline.resources.slskd import SlskdResource

    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="soulspot-bench-downloads-"))
    db = LibraryDatabase(database=str(scratch / "bench.duckdb"), snapshot_path=str(scratch / "bench.snapshot.duckdb"))
    library = dz.generate_library(tracks, seed=5)
    slskd = SlskdStandin(scratch / "slskd", search_polls=1, ban_after=(MAX_SEARCHES, window_s))
    # One peer shares every track in its album's folder, plus a bonus file, so no folder is a
    # whole album and each track is searched for on its own after its album's search.
    albums = {t["album"]["id"]: (t["artist"]["name"], t["album"]["title"]) for t in library.tracks}
    shared = [(t["artist"]["name"], t["album"]["title"], t["title"], t["duration"]) for t in library.tracks]
    shared += [(artist, album, "bonus", 100) for artist, album in albums.values()]
    slskd.add_peer(
        "everything",
        files=[
            SharedFile(f"@@lib\\{artist}\\{album}\\{name}.mp3", b"\xff\xfb" * 64, bit_rate=320, length=length)
            for artist, album, name, length in shared
        ],
    )
    print(
        f"soulspot bench: {tracks:,} liked tracks queued for download, budget {MAX_SEARCHES} searches "
        f"per {window_s:g} s (Soulseek's is per 220 s), in {scratch}"
    )
    try:
        with dz.DeezerStandin(library) as deezer, slskd:
            resources = {
                "library_db": db,
                "library_policy": LibraryPolicy(auto_queue_downloads=True),
                "deezer": DeezerResource(user_id=library.user_id, api_url=deezer.api_url),
                "slskd": SlskdResource(base_url=slskd.url, api_key="standin-api-key", poll_interval_s=0.001),
                "search_budget": SearchBudget(
                    ledger_path=str(scratch / "searches.sqlite"), max_searches=MAX_SEARCHES, window_s=window_s
                ),
                "download_policy": DownloadPolicy(tracks_per_run=tracks),
            }
            favorites = next(a for a in cloud_assets if a.key == dg.AssetKey("deezer_favorites"))
            dg.materialize([favorites, library_entities], resources=resources)
            started = time.perf_counter()
            result = dg.materialize([downloads], resources=resources)
            seconds = time.perf_counter() - started
        meta = materialized_metadata(result)
        searches = len(slskd.searches)
        # The least time the budget allows for that many searches: full windows, back to back.
        floor_s = (searches - 1) // MAX_SEARCHES * window_s
        busiest = slskd.max_searches_in_window(window_s)
        print(
            f"{meta['searched']:,} tracks searched with {searches:,} searches in {seconds:.1f} s ({searches / seconds:.1f}/s)"
        )
        print(
            f"busiest {window_s:g} s window: {busiest} searches of the {MAX_SEARCHES} allowed "
            f"({busiest / MAX_SEARCHES:.0%} of the budget used); overlapping searches: "
            f"{'none' if slskd.max_concurrent_searches == 1 else slskd.max_concurrent_searches}; "
            f"banned: {'yes' if slskd.banned else 'no'}"
        )
        print(
            f"the budget allows that many searches in {floor_s:.1f} s at the least; "
            f"the run took {seconds - floor_s:.1f} s more"
        )
    finally:
        if directory is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


# Dagster's own DEBUG lines would bury the figures.
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}

# Song lengths of the decode benchmark: 3 to 5 minutes, as most songs are.
DECODE_SECONDS = (180, 195, 210, 225, 240, 255, 270, 300)


def music_flac(seconds: float, seed: int = 1, rate: int = 44100) -> bytes:
    """``seconds`` of stereo pink noise, two unlike channels, as 16-bit FLAC at about 940 kbps.

    The synth's silence decodes in no time; this makes FLAC's decoder work as on a CD rip.
    FFmpeg makes the noise (``anoisesrc``) and encodes it, at a few hundred times real time.
    """
    graph = av.filter.Graph()
    noise = [
        graph.add("anoisesrc", f"color=pink:amplitude=0.1:sample_rate={rate}:seed={seed * 2 + side}:duration={seconds}")
        for side in (0, 1)
    ]
    join = graph.add("join", "inputs=2:channel_layout=stereo")
    convert = graph.add("aformat", "sample_fmts=s16")
    sink = graph.add("abuffersink")
    for side, source in enumerate(noise):
        source.link_to(join, 0, side)
    join.link_to(convert)
    convert.link_to(sink)
    graph.configure()
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate)
        stream.codec_context.layout = "stereo"
        stream.codec_context.format = "s16"
        while True:
            try:
                frame = cast(av.AudioFrame, sink.pull())
            except (av.BlockingIOError, av.EOFError):
                break
            frame.pts = None  # the encoder numbers the samples itself
            container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def build_decode_library(root: Path, files: int) -> float:
    """``files`` tagged FLAC files cut from a few noise templates; returns their audio in seconds."""
    templates = [music_flac(seconds, seed=n) for n, seconds in enumerate(DECODE_SECONDS)]
    audio_s = 0.0
    for n in range(files):
        folder = root / f"Artist {n // 120:04d}" / f"Album {n // 12:05d}"
        folder.mkdir(parents=True, exist_ok=True)
        buffer = io.BytesIO(templates[n % len(templates)])
        flac = FLAC(buffer)
        flac["artist"], flac["album"], flac["title"] = f"Artist {n // 120:04d}", f"Album {n // 12:05d}", f"Track {n}"
        flac["tracknumber"] = str(n % 12 + 1)
        buffer.seek(0)
        flac.save(buffer)
        (folder / f"{n % 12 + 1:02d} Track {n}.flac").write_bytes(buffer.getvalue())
        audio_s += DECODE_SECONDS[n % len(DECODE_SECONDS)]
    return audio_s


def run_decode_benchmark(files: int, workers: int, directory: Path | None = None, keep: bool = False) -> int:
    """Decode ``files`` songs of 3 to 5 minutes with ``audio_checks``, then again with nothing changed."""
    import dagster as dg

    from soulspot_pipeline.assets.health import audio_checks
    from soulspot_pipeline.resources.music_folder import MusicFolder
    from soulspot_pipeline.resources.policies import VerifyPolicy

    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="soulspot-bench-decode-"))
    music = scratch / "music"
    db = LibraryDatabase(database=str(scratch / "bench.duckdb"))
    Path(db.database).unlink(missing_ok=True)
    resources = {
        "library_db": db,
        "music_folder": MusicFolder(music_dir=str(music), scan_workers=workers),
        "verify_policy": VerifyPolicy(minutes=24 * 60),  # no budget: every file, however long it takes
    }
    print(f"soulspot bench: decode {files:,} FLAC files of 3 to 5 minutes, {workers} workers, {os.cpu_count()} cores")
    try:
        started = time.perf_counter()
        audio_s = build_decode_library(music, files)
        os.sync()  # written back before the clock starts: the decode must not race the writeback
        built = time.perf_counter() - started
        size = sum(p.stat().st_size for p in music.rglob("*.flac"))
        print(
            f"built {files:,} files ({audio_s / 3600:,.1f} hours of audio, {size / 1e9:,.1f} GB) in {built:.1f} s "
            f"in {scratch}",
            flush=True,
        )
        with db.writer() as conn:
            _timed("scan (empty database)", files, lambda: scan_music_folder(conn, music, workers=workers))
        with PeakMemory() as memory:
            for label in ("decode every file", "decode again, nothing changed"):
                started = time.perf_counter()
                meta = materialized_metadata(dg.materialize([audio_checks], resources=resources, run_config=QUIET))
                seconds = time.perf_counter() - started
                print(
                    f"{label}: {meta['checked']:,} files decoded in {seconds:.1f} s "
                    f"({meta['checked'] / seconds:,.2f} files/s, {meta['audio_hours'] / seconds:,.3f} audio-hours/s); "
                    f"{meta['ok']} ok, {meta['broken']} broken, {meta['truncated']} truncated, {meta['left']} left",
                    flush=True,
                )
        print(
            f"peak memory: main process {memory.own_mb:,.0f} MB; decode workers "
            f"{', '.join(f'{m:,.0f}' for m in memory.workers_mb[-workers:]) or '-'} MB"
        )
    finally:
        if not keep and directory is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0


def _cache_timer(resource_class: type, names: tuple[str, ...]) -> tuple[list[float], list[int], Any]:
    """Wrap the resource's cache methods on the class (``names`` that it has) so the time spent in
    them is added up: (seconds, calls, restore). Nested calls count once, in the outermost."""
    seconds, calls, depth = [0.0], [0], [0]
    originals = {name: resource_class.__dict__[name] for name in names if name in resource_class.__dict__}

    def timed(method):
        def wrapper(self, *args, **kwargs):
            if depth[0]:
                return method(self, *args, **kwargs)
            depth[0] += 1
            started = time.perf_counter()
            try:
                return method(self, *args, **kwargs)
            finally:
                seconds[0] += time.perf_counter() - started
                calls[0] += 1
                depth[0] -= 1

        return wrapper

    for name, method in originals.items():
        setattr(resource_class, name, timed(method))

    def restore() -> None:
        for name, method in originals.items():
            setattr(resource_class, name, method)

    return seconds, calls, restore


class StandinProcess:
    """A MusicBrainz stand-in served from its own process, as a mirror would be: in the bench's
    process it would share one interpreter lock with the client and slow both."""

    def __init__(self, catalog: Any, min_interval_s: float):
        import multiprocessing

        self._context = multiprocessing.get_context("fork")  # the catalog is inherited, not pickled
        self._commands, child_end = self._context.Pipe()
        self._process = self._context.Process(
            target=_serve_standin, args=(catalog, min_interval_s, child_end), daemon=True
        )
        self._process.start()
        self.url: str = self._commands.recv()

    def requests(self) -> tuple[list[tuple[float, float]], int]:
        """(started, finished) of every request so far, on the machine's monotonic clock, and how
        many the stand-in refused as too fast."""
        self._commands.send("report")
        return self._commands.recv()

    def close(self) -> None:
        self._commands.send("stop")
        self._process.join(timeout=30)


def _serve_standin(catalog: Any, min_interval_s: float, commands: Any) -> None:
    from soulspot_pipeline.devkit.standins.musicbrainz import MusicBrainzStandin

    with MusicBrainzStandin(catalog, min_interval_s=min_interval_s) as server:
        server.reindex()
        commands.send(server.url)
        while commands.recv() == "report":
            commands.send(([(r.started, r.finished) for r in server.requests], server.rate_violations))


def identify_resources(db: LibraryDatabase, server_url: str, rate: float, scratch: Path) -> dict[str, Any]:
    """What ``identified_entities`` needs against the stand-in at ``server_url``, its cache and
    rate lock in ``scratch``; AcoustID without a key (skipped), so MusicBrainz alone is measured."""
    from soulspot_pipeline.resources.acoustid import AcoustIDResource
    from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource
    from soulspot_pipeline.resources.policies import LibraryPolicy

    return {
        "library_db": db,
        "library_policy": LibraryPolicy(),
        "musicbrainz": MusicBrainzResource(
            server_url=server_url,
            rate=rate,
            contact="bench@example.org",
            cache_path=str(scratch / "musicbrainz" / "cache.duckdb"),
            throttle_path=str(scratch / "musicbrainz" / "rate.lock"),
        ),
        "acoustid": AcoustIDResource(throttle_path=str(scratch / "acoustid" / "rate.lock")),
    }


def run_musicbrainz_benchmark(
    tracks: int, rate: float = 50.0, directory: Path | None = None, profile: Path | None = None
) -> int:
    """Identify ``tracks`` owned tracks without ISRC (one recording search each) against the
    MusicBrainz stand-in, which allows ``rate`` requests per second, with an empty answer cache;
    then once more on the same library, as it was before, with every answer cached."""
    import cProfile
    import pstats

    import dagster as dg

    from soulspot_pipeline.assets.identify import identified_entities
    from soulspot_pipeline.devkit.standins.musicbrainz import MbCatalog
    from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource

    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="soulspot-bench-musicbrainz-"))
    music = scratch / "music"
    db = LibraryDatabase(database=str(scratch / "bench.duckdb"), snapshot_path=str(scratch / "bench.snapshot.duckdb"))
    print(
        f"soulspot bench: identify {tracks:,} tracks without ISRC against the MusicBrainz stand-in "
        f"at {rate:g} requests/s, in {scratch}",
        flush=True,
    )
    catalog = MbCatalog()
    artists: dict[int, Any] = {}
    releases: dict[int, Any] = {}
    for n in range(tracks):  # the catalog knows what build_library writes
        a, b = n // 120, n // 12
        if a not in artists:
            artists[a] = catalog.add_artist(f"Artist {a:05d}")
        if b not in releases:
            group = catalog.add_release_group(f"Album {b:06d}", artists[a], first_release_date="2001-02-03")
            releases[b] = catalog.add_release(group, media=[[]])
        catalog.add_recording(f"Track {n}", artists[a], length_ms=1000, releases=[releases[b]])
    seconds, calls, restore = _cache_timer(MusicBrainzResource, ("_cached", "_store", "warm", "flush"))
    try:
        started = time.perf_counter()
        build_library(music, tracks, album_tags=False)  # one recording search per track
        with db.writer() as conn:
            scan_music_folder(conn, music, workers=1)
            entities.rebuild_library(
                conn, auto_queue=False, source_order=("local",), metadata_order=("manual", "musicbrainz", "local")
            )
        print(f"built and scanned {tracks:,} tagged files in {time.perf_counter() - started:.1f} s", flush=True)
        unidentified = scratch / "unidentified.duckdb"
        shutil.copyfile(db.database, unidentified)
        server = StandinProcess(catalog, min_interval_s=1.0 / rate)
        try:
            resources = identify_resources(db, server.url, rate, scratch)
            for label in ("empty cache", "all cached"):
                shutil.copyfile(unidentified, db.database)
                before, cache_s, cache_calls = len(server.requests()[0]), seconds[0], calls[0]
                profiler = cProfile.Profile() if profile and label == "empty cache" else None
                started = time.perf_counter()
                if profiler:
                    profiler.enable()
                result = dg.materialize([identified_entities], resources=resources, run_config=QUIET)
                if profiler:
                    profiler.disable()
                wall = time.perf_counter() - started
                timings, refused = server.requests()
                made = timings[before:]
                meta = materialized_metadata(result)
                in_cache = seconds[0] - cache_s
                print(f"{label}: {meta['decided']:,} decisions in {wall:.1f} s", flush=True)
                if made:
                    span = made[-1][1] - made[0][0]
                    served = sum(finished - started for started, finished in made) / len(made)
                    print(
                        f"  {len(made):,} requests, {len(made) / wall:.1f} requests/s over the run, "
                        f"{(len(made) - 1) / span if span > 0 else 0:.1f}/s from the first to the last; "
                        f"the stand-in took {served * 1000:.1f} ms per answer; "
                        f"refused as too fast: {refused}"
                    )
                    print(
                        f"  answer cache: {in_cache:.2f} s in {calls[0] - cache_calls:,} calls, "
                        f"{in_cache / len(made) * 1000:.1f} ms per request"
                    )
                else:
                    print(f"  no request; {meta['cache_hits']:,} answers from the cache in {in_cache:.2f} s")
                if profiler and profile:
                    profiler.dump_stats(profile)
                    text = io.StringIO()
                    pstats.Stats(profiler, stream=text).sort_stats("cumulative").print_stats(
                        r"soulspot_pipeline|duckdb|musicbrainzngs|time.sleep|http.client|xml", 25
                    )
                    print(f"  profile written to {profile}; the costliest calls (cumulative):")
                    for line in text.getvalue().splitlines():
                        if line.strip() and line.lstrip()[0].isdigit():
                            print("   ", line.strip())
        finally:
            server.close()
    finally:
        restore()
        if directory is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0
