"""The decode check materialized by Dagster: every file once, a budget, and real broken files."""

import os
import shutil
from pathlib import Path

import pytest

from soulspot_pipeline.assets.discover import local_scan
from soulspot_pipeline.assets.health import audio_checks
from soulspot_pipeline.definitions import build_resources
from soulspot_pipeline.devkit.synth import audio_bytes, write_audio_file
from soulspot_pipeline.domain.run_summary import PhaseOutcome, phase_lines
from soulspot_pipeline.resources.clock import Clock
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.policies import VerifyPolicy
from soulspot_pipeline.scan.read import AUDIO_EXTENSIONS
from soulspot_pipeline.settings import Settings
from soulspot_tests.breakage import flac_audio_start, zeroed
from soulspot_tests.results import materialize, metadata, rows

pytestmark = pytest.mark.integration  # assets and jobs run through Dagster against stand-ins


class TickingClock(Clock):
    """Moves ``step`` seconds every time it is read: the budget runs out after a known number of files."""

    def __init__(self, step: float, start: float = 1_800_000_000.0):
        self.step = step
        self._now = start

    def now(self) -> float:
        now = self._now
        self._now += self.step
        return now


def check(library_db, music_dir, *, scan=True, policy=None):
    result = materialize(
        [local_scan, audio_checks] if scan else [audio_checks],
        resources={
            "library_db": library_db,
            "music_folder": MusicFolder(music_dir=str(music_dir), scan_workers=2),
            "verify_policy": policy or VerifyPolicy(),
        },
    )
    assert result.success
    return metadata(result, "audio_checks")


def make_songs(music_dir: Path, count: int) -> list[Path]:
    folder = music_dir / "Air" / "Moon Safari"
    folder.mkdir(parents=True, exist_ok=True)
    return [
        write_audio_file(folder / f"{n:02d} Song.{fmt}", fmt, {"artist": "Air", "title": f"Song {n}"}, seconds=1.0)
        for n, fmt in enumerate(["flac", "mp3", "ogg", "m4a"] * (count // 4) + ["flac"] * (count % 4))
    ]


def checks(library_db) -> dict[str, tuple]:
    return {
        Path(path).name: (status, reason)
        for path, status, reason in rows(library_db, "SELECT path, status, reason FROM library.file_checks")
    }


def test_every_file_is_decoded_once_and_again_only_when_it_changes(library_db, music_dir):
    paths = make_songs(music_dir, 8)
    first = check(library_db, music_dir)
    assert (first["checked"], first["ok"], first["broken"], first["truncated"], first["left"]) == (8, 8, 0, 0, 0)
    assert first["new"] == 8 and first["dagster/row_count"] == 8 and first["budget_reached"] is False
    assert first["audio_hours"] == pytest.approx(8 / 3600, abs=1e-4)
    # The run's throughput is reported (the benchmark measures it; a busy machine must not fail this).
    assert all(isinstance(first[key], float) for key in ("files_per_second", "audio_hours_per_second"))
    stored = rows(
        library_db, "SELECT path, size, mtime_ns, status, codec, audio_hash, header_s FROM library.file_checks"
    )
    on_disk = {str(p): (p.stat().st_size, p.stat().st_mtime_ns) for p in paths}
    assert {path: (size, mtime) for path, size, mtime, *_ in stored} == on_disk
    assert {codec for *_, codec, _, _ in stored} == {"flac", "mp3", "vorbis", "aac"}
    assert all(status == "ok" and len(digest) == 64 for *_, status, _, digest, _ in stored)

    second = check(library_db, music_dir)
    assert (second["checked"], second["unchanged"], second["left"]) == (0, 8, 0)
    assert "flagged_files" not in second

    # Cut to 60 %: the next scan sees it changed, and the next check decodes it alone.
    cut = write_audio_file(paths[0], "flac", {"artist": "Air", "title": "Song 0"}, seconds=30.0)
    data = cut.read_bytes()
    cut.write_bytes(data[: len(data) * 6 // 10])
    third = check(library_db, music_dir)
    assert (third["checked"], third["changed"], third["truncated"], third["left"]) == (1, 1, 1, 0)
    assert checks(library_db)[cut.name][0] == "truncated"
    assert "00 Song.flac" in third["flagged_files"] and "truncated" in third["flagged_files"]
    assert rows(library_db, "SELECT path, status FROM library.broken_files") == [(str(cut), "truncated")]
    # The file found broken is one notification, named as the music folder shows it.
    ((subject, detail),) = rows(
        library_db, "SELECT subject, detail FROM library.notifications WHERE kind = 'broken_file'"
    )
    assert subject == str(cut.relative_to(music_dir)) and detail.startswith("truncated: ")
    line = phase_lines(PhaseOutcome("audio_checks", "materialized", third))[0]
    assert line.split(None, 1)[1] == "1 files decoded: 0 ok, 1 truncated; 0 left"


def test_the_budget_stops_starting_files_and_the_next_run_goes_on(library_db, music_dir):
    make_songs(music_dir, 10)
    # One read to set the deadline, one per file started: 60 s a read leaves room for 4 files in 5 minutes.
    first = check(library_db, music_dir, policy=VerifyPolicy(minutes=5, clock=TickingClock(60)))
    assert (first["checked"], first["left"], first["budget_reached"]) == (4, 6, True)
    assert len(rows(library_db, "SELECT path FROM library.file_checks")) == 4
    second = check(library_db, music_dir, scan=False, policy=VerifyPolicy(minutes=5, clock=TickingClock(60)))
    assert (second["checked"], second["unchanged"], second["left"]) == (4, 4, 2)
    last = check(library_db, music_dir, scan=False)
    assert (last["checked"], last["left"], last["budget_reached"], last["ok"]) == (2, 0, False, 2)


def test_checks_of_vanished_files_are_kept_but_never_shown(library_db, music_dir):
    write_audio_file(music_dir / "stays.flac", "flac", {"title": "Stays"})
    song = write_audio_file(music_dir / "song.mp3", "mp3", {"title": "Song"}, seconds=30.0)
    data = song.read_bytes()
    song.write_bytes(data[: len(data) // 2])
    assert check(library_db, music_dir)["truncated"] == 1
    song.unlink()
    gone = check(library_db, music_dir)
    assert (gone["checked"], gone["dagster/row_count"], gone["library"]) == (
        0,
        2,
        {"ok": 1, "broken": 0, "truncated": 0, "unchecked": 0},
    )
    assert rows(library_db, "SELECT count(*) FROM library.broken_files") == [(0,)]


def test_the_budget_is_a_setting(tmp_path):
    env = {"SOULSPOT_DATA_DIR": str(tmp_path)}
    assert Settings.from_env(env).verify_minutes == 20.0
    resources = build_resources(Settings.from_env({**env, "SOULSPOT_VERIFY_MINUTES": "2.5"}))
    assert isinstance(resources["verify_policy"], VerifyPolicy) and resources["verify_policy"].minutes == 2.5


# --------------------------------------------------------------------------
# Real files and made-up breakage (the acceptance)
# --------------------------------------------------------------------------

# The real corpora's files that cannot be read at all (mutagen's "deliberately broken" ones).
REAL_BROKEN = {"emptyfile.mp3", "too-short.mp3"}


def made_up_breakage(folder: Path) -> dict[str, str]:
    """Broken copies of real-looking files, and the verdict each must get (scan error or check status)."""
    folder.mkdir()
    flac, mp3 = audio_bytes("flac", {"title": "Cut"}, seconds=30.0), audio_bytes("mp3", {"title": "Cut"}, seconds=30.0)
    (folder / "cut-60.flac").write_bytes(flac[: len(flac) * 6 // 10])
    (folder / "cut-60.mp3").write_bytes(mp3[: len(mp3) * 6 // 10])
    long_mp3 = audio_bytes("mp3", {"title": "Zeros"}, seconds=180.0)
    middle = len(long_mp3) // 2
    (folder / "zeros.mp3").write_bytes(zeroed(long_mp3, middle))
    (folder / "header-only.flac").write_bytes(flac[: flac_audio_start(flac)])
    (folder / "zero-bytes.mp3").write_bytes(b"")
    return {
        "cut-60.flac": "truncated",
        "cut-60.mp3": "truncated",
        "zeros.mp3": "broken",
        "header-only.flac": "broken",
        "zero-bytes.mp3": "unreadable",
    }


def test_real_files_and_made_up_breakage_every_broken_one_flagged_no_good_one(realdata, library_db, tmp_path):
    music = tmp_path / "music"
    real = [
        path
        for folder in ("mutagen/tests/data", "beets/test/rsrc")
        for path in sorted((realdata / folder).iterdir())
        if path.suffix.lower().lstrip(".") in AUDIO_EXTENSIONS
    ]
    assert len(real) >= 25
    for path in real:
        target = music / "real" / path.parent.parent.parent.name / path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, target)
    expected = made_up_breakage(music / "broken")

    meta = check(library_db, music)
    with library_db.reader() as conn:
        unreadable = dict(
            conn.execute("SELECT path, error FROM library.scan_errors WHERE kind = 'unreadable'").fetchall()
        )
        checked = {
            path: (status, reason)
            for path, status, reason in conn.execute("SELECT path, status, reason FROM library.file_checks").fetchall()
        }
    verdicts = {
        os.path.relpath(path, music): ("unreadable", unreadable[path]) if path in unreadable else checked[path]
        for path in map(str, sorted(music.rglob("*.*")))
    }
    flagged = {name: why for name, why in verdicts.items() if why[0] != "ok"}
    print("\n".join(f"{name:40} {status:10} {reason or ''}" for name, (status, reason) in sorted(verdicts.items())))

    assert {name.rsplit("/", 1)[1] for name in flagged if name.startswith("real/")} == REAL_BROKEN
    assert {
        name.rsplit("/", 1)[1]: status for name, (status, _) in flagged.items() if name.startswith("broken/")
    } == expected
    assert all(reason for _, reason in flagged.values())
    # beets' unparseable.* hold a date no parser understands; their audio is whole.
    assert verdicts["real/beets/unparseable.flac"] == ("ok", None)
    assert verdicts["real/beets/unparseable.mp3"] == ("ok", None)
    assert meta["left"] == 0 and meta["checked"] == len(real) + len(expected) - 3  # three never reach the library
