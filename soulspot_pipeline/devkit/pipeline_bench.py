"""``soulspot bench --pipeline N``: what a whole refresh costs, cold and with nothing changed.

It builds N small tagged files, runs ``soulspot refresh`` on them as a user would (a new
process, no provider configured, MusicBrainz and the Cover Art Archive off), once into an
empty library and then ``runs`` times with nothing changed, and prints each refresh's wall
time and peak memory and each phase's time from the Dagster instance. Then it measures the
library merge alone on the same files: a first merge into an empty library and an unchanged
one, each with its time and the process's peak memory. Figures, not assertions.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

import dagster as dg

from soulspot_pipeline.devkit.benchmark import build_library
from soulspot_pipeline.scan.scanner import scan_music_folder
from soulspot_pipeline.store import entities
from soulspot_pipeline.store.database import LibraryDatabase

# Whatever the user's shell configures must not reach the measured refresh: no provider,
# no downloads, no notifications, no network.
_KEPT = ("PATH", "HOME", "LANG", "LC_ALL", "TMPDIR", "PYTHONPATH", "VIRTUAL_ENV")


@dataclass
class Refresh:
    label: str
    wall_s: float
    peak_mb: float
    exit_code: int
    phases: dict[str, float] = field(default_factory=dict)  # step -> seconds


def refresh_env(data: Path, music: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k in _KEPT}
    env.update(
        SOULSPOT_DATA_DIR=str(data),
        SOULSPOT_MUSIC_DIR=str(music),
        SOULSPOT_MUSICBRAINZ_URL="off",
        SOULSPOT_COVERART_URL="http://127.0.0.1:9",  # refused at once: no cover is looked up on the internet
        SOULSPOT_LRCLIB_URL="off",
    )
    return env


def run_refresh(label: str, env: dict[str, str]) -> Refresh:
    """One ``soulspot refresh`` in a new process: its wall time, and the peak resident memory
    of it and the run it started (wait4 reports the largest of a process and its reaped children)."""
    started = time.perf_counter()
    process = subprocess.Popen(
        [sys.executable, "-m", "soulspot_pipeline.cli", "refresh"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    _, status, usage = os.wait4(process.pid, 0)
    process.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - started
    return Refresh(label, wall, usage.ru_maxrss / 1024, process.returncode)


def step_seconds(dagster_home: Path) -> dict[str, float]:
    """Each step's duration in the newest run of the instance."""
    with dg.DagsterInstance.from_config(str(dagster_home)) as instance:
        runs = instance.get_runs(limit=1)
        if not runs:
            return {}
        records = instance.get_records_for_run(runs[0].run_id, of_type=dg.DagsterEventType.STEP_SUCCESS).records
        return {
            record.event_log_entry.dagster_event.step_key: record.event_log_entry.dagster_event.step_success_data.duration_ms
            / 1000
            for record in records
            if record.event_log_entry.dagster_event is not None and record.event_log_entry.dagster_event.step_key
        }


def _reset_peak() -> None:
    """Start the process's peak resident memory (VmHWM) afresh, where Linux allows it."""
    try:
        with open("/proc/self/clear_refs", "w") as refs:
            refs.write("5")
    except OSError:
        pass


def _peak_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return 0.0


def measure_merge(music: Path, scratch: Path) -> list[tuple[str, float, float]]:
    """The merge alone on a freshly scanned library: first, then unchanged (time, peak MB)."""
    db = LibraryDatabase(database=str(scratch / "merge.duckdb"))
    figures = []
    with db.writer() as conn:
        scan_music_folder(conn, music)
        for label in ("first merge", "unchanged merge"):
            _reset_peak()
            started = time.perf_counter()
            entities.rebuild_library(
                conn, auto_queue=False, source_order=("local",), metadata_order=("manual", "musicbrainz", "local")
            )
            figures.append((label, time.perf_counter() - started, _peak_mb()))
    return figures


def _table(refreshes: list[Refresh]) -> list[str]:
    steps = sorted(
        {step for r in refreshes for step in r.phases}, key=lambda s: -max(r.phases.get(s, 0) for r in refreshes)
    )
    width = max((len(s) for s in steps), default=10)
    lines = [f"{'phase':<{width}} " + " ".join(f"{r.label:>8}" for r in refreshes)]
    for step in steps:
        lines.append(f"{step:<{width}} " + " ".join(f"{r.phases.get(step, 0):7.2f}s" for r in refreshes))
    lines.append(f"{'steps together':<{width}} " + " ".join(f"{sum(r.phases.values()):7.2f}s" for r in refreshes))
    return lines


def run_pipeline_benchmark(files: int, runs: int = 3, directory: Path | None = None, keep: bool = False) -> int:
    scratch = Path(directory) if directory else Path(tempfile.mkdtemp(prefix="soulspot-bench-"))
    music, data = scratch / "music", scratch / "data"
    shutil.rmtree(data, ignore_errors=True)
    print(f"soulspot bench --pipeline: {files:,} files, {os.cpu_count()} cores, in {scratch}", flush=True)
    try:
        build_library(music, files)
        env = refresh_env(data, music)
        refreshes = []
        for label in ("cold", *(f"warm {n + 1}" for n in range(runs))):
            refresh = run_refresh(label, env)
            refresh.phases = step_seconds(data / "dagster")
            refreshes.append(refresh)
            outcome = "" if refresh.exit_code == 0 else f" (exit {refresh.exit_code}: see {data / 'logs'})"
            print(
                f"{label:<8} refresh {refresh.wall_s:6.1f} s wall, peak {refresh.peak_mb:,.0f} MB{outcome}", flush=True
            )
        print("\n".join(_table(refreshes)))
        for label, seconds, peak in measure_merge(music, scratch):
            print(f"{label:<16} {seconds:6.2f} s, peak {peak:,.0f} MB (this process)", flush=True)
    finally:
        if not keep and directory is None:
            shutil.rmtree(scratch, ignore_errors=True)
    return 0
