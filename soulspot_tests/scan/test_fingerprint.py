"""scan.fingerprint: Chromaprint fingerprints of real encoded audio decoded by PyAV, fpcalc when the
library is not there, each content fingerprinted once, and a reason when Chromaprint is missing."""

from __future__ import annotations

import array
import hashlib
import math
import shutil
import sys
from datetime import datetime
from fractions import Fraction
from pathlib import Path
from typing import Any

import av
import pytest

from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.domain.acoustid import StoredFingerprint
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.scan.fingerprint import (
    FPCALC,
    LIBRARY,
    Chromaprint,
    ChromaprintMissing,
    FileToFingerprint,
    Fingerprint,
    FingerprintError,
    chromaprint_unavailable,
    fingerprint_and_lookup,
    fingerprint_file,
)
from soulspot_pipeline.store import fingerprints as store
from soulspot_pipeline.store.database import LibraryDatabase

NOW = datetime(2026, 12, 1, 12, 0, 0)
WITH_LIBRARY = Chromaprint(fpcalc=None)
WITH_FPCALC = Chromaprint(libraries=())

needs_library = pytest.mark.skipif(
    WITH_LIBRARY.unavailable() is not None,
    reason="libchromaprint is not installed here (Debian: libchromaprint1); CI machines have none",
)
needs_fpcalc = pytest.mark.skipif(
    WITH_FPCALC.unavailable() is not None,
    reason="fpcalc is not installed here (Debian: libchromaprint-tools); CI machines have none",
)
needs_chromaprint = pytest.mark.skipif(
    chromaprint_unavailable() is not None,
    reason="neither libchromaprint nor fpcalc is installed here; CI machines have neither",
)


def write_tune(path: Path, pitches_hz: list[float], seconds: float = 12.0, rate: int = 22050) -> Path:
    """A FLAC file of sine tones, one pitch after another: audio whose fingerprint differs from
    another tune's (the synth's files are all silence, which all print alike)."""
    total = int(seconds * rate)
    step = total // len(pitches_hz)
    samples = array.array(
        "h",
        (
            int(9000 * math.sin(2 * math.pi * pitches_hz[min(i // step, len(pitches_hz) - 1)] * i / rate))
            for i in range(total)
        ),
    )
    with av.open(str(path), "w", format="flac") as container:
        stream = container.add_stream("flac", rate=rate)
        stream.codec_context.layout = "mono"
        stream.codec_context.format = "s16"
        frame = av.AudioFrame(format="s16", layout="mono", samples=total)
        frame.planes[0].update(samples.tobytes())
        frame.sample_rate, frame.pts, frame.time_base = rate, 0, Fraction(1, rate)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return path


class FakeLookup:
    """An AcoustID that knows nothing and counts what it was asked (the resource is tested over HTTP)."""

    configured = True

    def __init__(self) -> None:
        self.asked: list[list[tuple[str, int, str]]] = []

    def lookup_results(self, items: list[tuple[str, int, str]]) -> dict[str, list[dict[str, Any]]]:
        self.asked.append(items)
        return {key: [] for key, _, _ in items}


def stored_prints(db: LibraryDatabase):
    """The driver's store callbacks over the library database."""

    def save(rows: list[StoredFingerprint]) -> None:
        with db.writer(publish=False) as conn:
            store.save_fingerprints(conn, rows)

    def save_answers(answers: dict[str, list[dict[str, Any]]]) -> None:
        with db.writer(publish=False) as conn:
            store.save_answers(conn, answers, NOW)

    def known(hashes: list[str]) -> dict[str, StoredFingerprint]:
        with db.writer(publish=False) as conn:
            return store.known_fingerprints(conn, hashes)

    def answers(hashes: list[str]) -> dict[str, list[dict[str, Any]]]:
        with db.writer(publish=False) as conn:
            return store.fresh_answers(conn, hashes, NOW, ttl_days=30)

    return save, save_answers, known, answers


def run_once(db: LibraryDatabase, files: list[FileToFingerprint], lookup, tools: Chromaprint, make=None):
    save, save_answers, known, answers = stored_prints(db)
    hashes = [f.content_hash for f in files]
    return fingerprint_and_lookup(
        files,
        known=known(hashes),
        answers=answers(hashes),
        lookup=lookup,
        save_fingerprints=save,
        save_answers=save_answers,
        now=lambda: NOW,
        tools=tools,
        fingerprint=make,
    )


# -- without Chromaprint (runs everywhere) ------------------------------------------------


def test_missing_chromaprint_is_a_reason_and_the_part_is_skipped_without_touching_a_file(tmp_path, library_db):
    nowhere = Chromaprint(libraries=("libchromaprint-absent.so.9",), fpcalc=str(tmp_path / "no-fpcalc"))
    reason = chromaprint_unavailable(nowhere)
    assert reason is not None and "libchromaprint-absent.so.9" in reason and "no-fpcalc" in reason
    assert "libchromaprint1" in reason  # says what to install
    song = write_audio_file(tmp_path / "song.flac", "flac", seconds=2)
    with pytest.raises(ChromaprintMissing, match="Chromaprint is not installed"):
        fingerprint_file(str(song), tools=nowhere)
    lookup = FakeLookup()
    run = run_once(library_db, [FileToFingerprint("t1", str(song), "audio:x")], lookup, nowhere)
    assert run.skipped == reason and run.matches == {} and lookup.asked == []
    assert run.counts() == {"computed": 0, "reused": 0, "failed": 0, "looked_up": 0, "answers_reused": 0, "matched": 0}
    with library_db.writer(publish=False) as conn:
        assert conn.execute("SELECT count(*) FROM library.fingerprints").fetchone() == (0,)


def test_without_an_acoustid_key_the_part_is_skipped_naming_the_setting(tmp_path, library_db):
    class Unconfigured(FakeLookup):
        configured = False

    run = run_once(library_db, [FileToFingerprint("t1", "/x.flac", "audio:x")], Unconfigured(), Chromaprint())
    assert run.skipped is not None and "ACOUSTID_API_KEY" in run.skipped and run.computed == 0
    assert run_once(library_db, [], None, Chromaprint()).skipped == run.skipped


def test_a_content_is_fingerprinted_once_across_runs_and_within_a_run(tmp_path, library_db):
    # Any program stands for fpcalc here: the fingerprints come from `make`, which counts its calls.
    tools = Chromaprint(libraries=(), fpcalc=sys.executable)
    made: list[str] = []

    def make(path: str, seconds: int, where: Chromaprint) -> Fingerprint:
        made.append(path)
        data = Path(path).read_bytes()
        if not data:
            raise FingerprintError("empty file (0 bytes)")
        return Fingerprint(len(data) % 300 + 1, hashlib.sha1(data).hexdigest(), FPCALC)

    a = write_audio_file(tmp_path / "a.flac", "flac", {"title": "A"}, seconds=2)
    copy = tmp_path / "copy of a.flac"
    shutil.copy(a, copy)
    empty = tmp_path / "empty.mp3"
    empty.write_bytes(b"")
    files = [
        FileToFingerprint("t-a", str(a), "audio:aaa"),
        FileToFingerprint("t-copy", str(copy), "audio:aaa"),  # the same audio, another file
        FileToFingerprint("t-empty", str(empty), "file:empty"),
    ]
    lookup = FakeLookup()
    first = run_once(library_db, files, lookup, tools, make)
    assert sorted(made) == sorted([str(a), str(empty)])
    assert first.computed == 2 and first.reused == 0 and first.failed == {str(empty): "empty file (0 bytes)"}
    assert first.looked_up == 1 and [key for key, _, _ in lookup.asked[0]] == ["audio:aaa"]

    made.clear()
    second = run_once(library_db, files, lookup, tools, make)
    assert made == []  # neither the good print nor the failure is made again
    assert second.computed == 0 and second.reused == 2 and second.failed == {str(empty): "empty file (0 bytes)"}
    assert second.looked_up == 0 and second.answers_reused == 1 and len(lookup.asked) == 1
    with library_db.writer(publish=False) as conn:
        rows = conn.execute("SELECT content_hash, error IS NULL, tool FROM library.fingerprints ORDER BY 1").fetchall()
    assert rows == [("audio:aaa", True, FPCALC), ("file:empty", False, None)]


def test_content_hashes_follow_the_decode_checks_audio_hash_else_the_file(tmp_path, library_db):
    with library_db.writer(publish=False) as conn:
        for path, mtime_ns in (("/m/a.flac", 10), ("/m/b.flac", 20), ("/m/gone.flac", 30)):
            conn.execute(
                "INSERT INTO library.local_files (path, size, mtime, mtime_ns, format, missing, first_seen_at, "
                "scanned_at) VALUES (?, 100, ?, ?, 'flac', ?, ?, ?)",
                [path, NOW, mtime_ns, path.endswith("gone.flac"), NOW, NOW],
            )
        conn.execute(
            "INSERT INTO library.file_checks (path, size, mtime_ns, status, audio_hash, checked_at) VALUES "
            "('/m/a.flac', 100, 10, 'ok', 'hash-a', ?), ('/m/b.flac', 100, 19, 'ok', 'stale', ?)",
            [NOW, NOW],
        )
        keys = store.content_hashes(conn, ["/m/a.flac", "/m/b.flac", "/m/gone.flac", "/m/unknown.flac"])
    assert keys["/m/a.flac"] == "audio:hash-a"
    assert keys["/m/b.flac"].startswith("file:")  # its check was of an earlier version of the file
    assert set(keys) == {"/m/a.flac", "/m/b.flac"}


# -- with Chromaprint ----------------------------------------------------------------------


@needs_library
@pytest.mark.parametrize("fmt", ["flac", "mp3", "ogg", "m4a"])
def test_the_library_prints_the_same_file_alike_every_time_and_gives_its_whole_length(tmp_path, fmt):
    path = write_audio_file(tmp_path / f"song.{fmt}", fmt, {"title": "Song"}, seconds=6)
    first = fingerprint_file(str(path), tools=WITH_LIBRARY)
    again = fingerprint_file(str(path), tools=WITH_LIBRARY)
    assert first == again and first.tool == LIBRARY and first.duration_s == 6
    assert first.fingerprint.startswith("AQAA")  # compressed, base64, algorithm 2 (AcoustID's)


@needs_library
def test_a_longer_file_is_printed_from_its_start_with_its_whole_length(tmp_path):
    tune = write_tune(tmp_path / "tune.flac", [262, 330, 392, 523, 440, 349], seconds=12)
    whole = fingerprint_file(str(tune), tools=WITH_LIBRARY)
    start = fingerprint_file(str(tune), max_seconds=4, tools=WITH_LIBRARY)
    assert whole.duration_s == start.duration_s == 12
    assert len(start.fingerprint) < len(whole.fingerprint)
    other = fingerprint_file(str(write_tune(tmp_path / "other.flac", [440, 294, 587])), tools=WITH_LIBRARY)
    assert other.fingerprint != whole.fingerprint


@needs_fpcalc
def test_fpcalc_makes_the_fingerprint_when_the_library_is_not_named(tmp_path):
    tune = write_tune(tmp_path / "tune.flac", [262, 330, 392, 523])
    made = fingerprint_file(str(tune), tools=WITH_FPCALC)
    assert made.tool == FPCALC and made.duration_s == 12 and made.fingerprint.startswith("AQAA")
    if WITH_LIBRARY.unavailable() is None:  # both decode with FFmpeg: the same samples, the same print
        assert fingerprint_file(str(tune), tools=WITH_LIBRARY).fingerprint == made.fingerprint


@needs_chromaprint
@pytest.mark.parametrize("tools", [pytest.param(WITH_LIBRARY, id="library"), pytest.param(WITH_FPCALC, id="fpcalc")])
def test_a_file_that_cannot_be_decoded_is_a_fingerprint_error(tmp_path, tools):
    if tools.unavailable() is not None:
        pytest.skip(tools.unavailable() or "")
    garbage = tmp_path / "song.mp3"
    garbage.write_bytes(b"this is no audio at all\n" * 400)
    empty = tmp_path / "empty.flac"
    empty.write_bytes(b"")
    blip = write_audio_file(tmp_path / "blip.flac", "flac", seconds=0.3)
    for path in (garbage, empty, blip, tmp_path / "absent.flac"):
        with pytest.raises(FingerprintError):
            fingerprint_file(str(path), tools=tools)


@needs_library
def test_a_truncated_file_is_printed_from_what_decodes(tmp_path):
    tune = write_tune(tmp_path / "tune.flac", [262, 330, 392, 523])
    data = tune.read_bytes()
    cut = tmp_path / "cut.flac"
    cut.write_bytes(data[: len(data) // 2])
    made = fingerprint_file(str(cut), tools=WITH_LIBRARY)
    assert made.fingerprint and 1 <= made.duration_s <= 12


def test_answers_are_kept_chunk_by_chunk_so_a_failed_lookup_loses_only_its_own(tmp_path, library_db):
    class FailsSecondTime(FakeLookup):
        def lookup_results(self, items):
            if self.asked:
                raise ProviderError("AcoustID /v2/lookup failed after 4 attempt(s)")
            return super().lookup_results(items)

    tools = Chromaprint(libraries=(), fpcalc=sys.executable)  # any program stands for fpcalc; `make` prints
    files = [FileToFingerprint(f"t{i}", f"/m/{i}.flac", f"audio:{i}") for i in range(3)]
    save, save_answers, known, answers = stored_prints(library_db)
    with pytest.raises(ProviderError):
        fingerprint_and_lookup(
            files,
            known={},
            answers={},
            lookup=FailsSecondTime(),
            save_fingerprints=save,
            save_answers=save_answers,
            now=lambda: NOW,
            tools=tools,
            lookup_chunk=2,
            fingerprint=lambda path, seconds, where: Fingerprint(100, f"AQAA{path}", FPCALC),
        )
    hashes = [f.content_hash for f in files]
    assert set(known(hashes)) == set(hashes)  # every fingerprint made was kept
    assert answers(hashes) == {"audio:0": [], "audio:1": []}  # and the first chunk's answers
