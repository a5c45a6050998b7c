"""Decoding real files made by FFmpeg: what a whole, a cut, a corrupted and an empty file give.

The files are the synth's (silence, real encoder output) and the decode benchmark's noise;
the breakage is done to their bytes. What is asserted is what FFmpeg reports.
"""

import io
import shutil
from fractions import Fraction
from pathlib import Path

import av
import pytest
from mutagen.apev2 import APEv2
from mutagen.id3 import ID3, TIT2

from soulspot_pipeline.devkit.benchmark import music_flac
from soulspot_pipeline.devkit.synth import FORMATS, audio_bytes, write_audio_file
from soulspot_pipeline.domain.audio_health import BROKEN, OK, TRUNCATED, FileToCheck, Verdict, judge
from soulspot_pipeline.scan.audio_check import check_file, check_in_workers
from soulspot_pipeline.scan.read import AUDIO_EXTENSIONS
from soulspot_tests.breakage import flac_audio_start, zeroed

EXTENSION = {"alac": "m4a"}
TAGS = {"artist": "Sigur Rós", "album": "( )", "title": "Untitled #1", "track_number": 1}
OTHER_TAGS = {"artist": "Someone Else", "title": "Another title " * 30, "genre": "Rock", "date": "1999"}


def verdict(path: Path) -> Verdict:
    stat = path.stat()
    return judge(FileToCheck(str(path), stat.st_size, stat.st_mtime_ns), check_file(str(path)))


def write(path: Path, data: bytes) -> Path:
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("fmt", FORMATS)
def test_a_whole_file_of_every_format_is_ok(tmp_path, fmt):
    path = write_audio_file(tmp_path / f"song.{EXTENSION.get(fmt, fmt)}", fmt, TAGS, seconds=3.0)
    decoded = check_file(str(path))
    assert verdict(path) == Verdict(OK, None, None, decoded.header_s)
    assert decoded.error is None and decoded.problems == 0
    assert decoded.header_s == pytest.approx(3.0, abs=0.05)
    assert decoded.decoded_s == pytest.approx(3.0, abs=0.05)
    assert decoded.audio_hash and len(decoded.audio_hash) == 64


@pytest.mark.parametrize("fmt", ["flac", "mp3"])
def test_a_file_cut_to_60_percent_is_truncated(tmp_path, fmt):
    data = audio_bytes(fmt, TAGS, seconds=30.0)
    path = write(tmp_path / f"cut.{fmt}", data[: len(data) * 6 // 10])
    result = verdict(path)
    assert result.status == TRUNCATED
    # The header still states 30 s; the cut-off last frame is dropped, or named ("flac: overread").
    assert result.reason.startswith("the audio ends at 18.0 s of the 30.0 s its header states")
    assert result.error_at_s == pytest.approx(18.0, abs=0.3)


def test_a_noisy_flac_cut_midframe_names_the_decoders_error(tmp_path):
    data = music_flac(20.0)
    path = write(tmp_path / "cut.flac", data[: len(data) * 6 // 10])
    result = verdict(path)
    assert result.status == TRUNCATED
    assert result.reason.startswith("the audio ends at 11.")
    assert result.reason.endswith("of the 20.0 s its header states (flac: invalid residual)")


def test_zeros_in_the_middle_of_an_mp3_break_it_where_they_are(tmp_path):
    data = audio_bytes("mp3", TAGS, seconds=180.0)
    path = write(tmp_path / "zeros.mp3", zeroed(data, len(data) // 2))
    result = verdict(path)
    assert result.status == BROKEN
    assert result.reason.startswith("mp3float: Header missing at 90.")
    assert result.error_at_s == pytest.approx(90.0, abs=0.5)


def test_zeros_in_the_middle_of_a_flac_are_data_the_demuxer_skips(tmp_path):
    # FFmpeg's FLAC parser drops what does not check out: the timestamps jump past it.
    data = music_flac(20.0)
    path = write(tmp_path / "zeros.flac", zeroed(data, len(data) // 2))
    result = verdict(path)
    assert result.status == BROKEN
    assert result.reason.startswith("corrupt data skipped: the audio jumps from 9.")
    assert result.error_at_s == pytest.approx(10.0, abs=0.5)
    # In silence, whose frames take a few bytes each, 4 KiB hold almost half a minute.
    silence = audio_bytes("flac", TAGS, seconds=180.0)
    path = write(tmp_path / "zeros-silence.flac", zeroed(silence, len(silence) // 2))
    result = verdict(path)
    assert result.status == BROKEN
    assert result.reason.startswith("corrupt data skipped: the audio jumps from ")
    assert result.error_at_s == pytest.approx(90.0, abs=0.5)


def test_a_valid_header_without_audio_is_flagged(tmp_path):
    data = audio_bytes("flac", TAGS, seconds=30.0)
    path = write(tmp_path / "header-only.flac", data[: flac_audio_start(data)])
    result = verdict(path)
    assert result == Verdict(BROKEN, "no audio: not one frame decodes; its header states 30.0 s", 0.0, 30.0)
    assert check_file(str(path)).audio_hash is None


def test_an_empty_file_and_a_file_that_is_not_audio_are_broken(tmp_path):
    assert verdict(write(tmp_path / "empty.mp3", b"")) == Verdict(BROKEN, "empty file (0 bytes)", 0.0, None)
    # FFmpeg takes the name's word for it and opens a FLAC stream in which nothing decodes.
    result = verdict(write(tmp_path / "notes.flac", b"shopping list: milk, eggs\n" * 100))
    assert result == Verdict(BROKEN, "no audio: not one frame decodes", 0.0, None)
    result = verdict(write(tmp_path / "notes.m4a", b"shopping list: milk, eggs\n" * 100))
    assert result.status == BROKEN
    assert result.reason.startswith("cannot be opened: ")


def test_junk_after_the_last_frame_is_noted_not_flagged(tmp_path):
    data = audio_bytes("mp3", TAGS, seconds=5.0)
    result = verdict(write(tmp_path / "junk.mp3", data + bytes(1000)))
    assert result.status == OK
    assert result.reason.startswith("data after the audio ignored: ")


@pytest.mark.parametrize("fmt", FORMATS)
def test_the_same_audio_tagged_differently_has_the_same_hash(tmp_path, fmt):
    ext = EXTENSION.get(fmt, fmt)
    one = write_audio_file(tmp_path / f"one.{ext}", fmt, TAGS, seconds=2.0)
    other = write_audio_file(tmp_path / f"other.{ext}", fmt, OTHER_TAGS, seconds=2.0)
    bare = write_audio_file(tmp_path / f"bare.{ext}", fmt, None, seconds=2.0)
    longer = write_audio_file(tmp_path / f"longer.{ext}", fmt, TAGS, seconds=2.5)
    assert len({one.read_bytes(), other.read_bytes(), bare.read_bytes()}) == 3
    hashes = [check_file(str(p)).audio_hash for p in (one, other, bare, longer)]
    assert hashes[0] == hashes[1] == hashes[2] != hashes[3]


def test_id3v1_and_apev2_on_an_mp3_and_id3v2_on_a_flac_stay_out_of_the_hash(tmp_path):
    mp3 = write_audio_file(tmp_path / "plain.mp3", "mp3", TAGS, seconds=2.0)
    tagged = tmp_path / "tagged.mp3"
    shutil.copy(mp3, tagged)
    id3 = ID3(tagged)
    id3.add(TIT2(text=["with an ID3v1 tag too"]))
    id3.save(tagged, v1=2)
    ape = APEv2()
    ape["Title"] = "and an APEv2 tag"
    ape.save(tagged)
    flac = write_audio_file(tmp_path / "plain.flac", "flac", TAGS, seconds=2.0)
    id3_flac = tmp_path / "id3.flac"
    shutil.copy(flac, id3_flac)
    ID3().save(id3_flac)  # an ID3v2 tag before "fLaC", as some taggers write
    assert check_file(str(mp3)).audio_hash == check_file(str(tagged)).audio_hash
    assert check_file(str(flac)).audio_hash == check_file(str(id3_flac)).audio_hash


def test_different_audio_of_the_same_length_has_different_hashes(tmp_path):
    one = write(tmp_path / "one.flac", music_flac(2.0, seed=1))
    two = write(tmp_path / "two.flac", music_flac(2.0, seed=2))
    assert check_file(str(one)).audio_hash != check_file(str(two)).audio_hash


def test_workers_decode_every_file_and_start_none_after_the_budget(tmp_path):
    paths = [write_audio_file(tmp_path / f"{n}.flac", "flac", TAGS, seconds=1.0) for n in range(10)]
    files = [FileToCheck(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    everything = [c for chunk in check_in_workers(files, 2, lambda: True) for c in chunk]
    assert sorted(c.file.path for c in everything) == sorted(map(str, paths))
    assert all(c.decoded and c.decoded.error is None for c in everything)
    allowed = iter([True] * 6 + [False] * 10)
    started = [c for chunk in check_in_workers(files, 2, lambda: next(allowed)) for c in chunk]
    assert len(started) == 6


def test_a_file_changed_or_gone_since_the_scan_is_left_for_the_next_scan(tmp_path):
    path = write_audio_file(tmp_path / "song.flac", "flac", TAGS, seconds=1.0)
    stat = path.stat()
    as_scanned = FileToCheck(str(path), stat.st_size, stat.st_mtime_ns)
    path.write_bytes(audio_bytes("flac", OTHER_TAGS, seconds=1.0))
    gone = FileToCheck(str(tmp_path / "gone.flac"), 10, 10)
    results = [c for chunk in check_in_workers([as_scanned, gone], 2, lambda: True) for c in chunk]
    assert [(c.file, c.decoded) for c in results] == [(as_scanned, None), (gone, None)]


def test_the_real_corpora_only_their_unreadable_files_are_flagged(realdata):
    files = sorted(
        path
        for folder in ("mutagen/tests/data", "beets/test/rsrc")
        for path in (realdata / folder).iterdir()
        if path.suffix.lower().lstrip(".") in AUDIO_EXTENSIONS
    )
    verdicts = {path.name: verdict(path) for path in files}
    flagged = {name: (v.status, v.reason) for name, v in verdicts.items() if v.status != OK}
    assert flagged == {
        "emptyfile.mp3": (BROKEN, "empty file (0 bytes)"),
        "too-short.mp3": (BROKEN, "cannot be opened: mp3: Failed to find two consecutive MPEG audio frames."),
    }
    # beets' unparseable.* hold a date no parser understands: the audio is whole, and the same as full.flac's.
    assert check_file(str(realdata / "beets/test/rsrc/unparseable.flac")).audio_hash == (
        check_file(str(realdata / "beets/test/rsrc/full.flac")).audio_hash
    )
    # mutagen's silence-44-s.mp3 carries ID3v2, its -v1 twin ID3v1: one audio.
    data = realdata / "mutagen/tests/data"
    assert (
        check_file(str(data / "silence-44-s.mp3")).audio_hash
        == check_file(str(data / "silence-44-s-v1.mp3")).audio_hash
    )


def seven_one_aiff() -> bytes:
    """A 7.1 AIFF as FFmpeg's own muxer writes it: reading its CHAN chunk corrupts FFmpeg's memory."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="aiff") as container:
        stream = container.add_stream("pcm_s16be", rate=44100)
        stream.codec_context.layout = "7.1"
        stream.codec_context.format = "s16"
        frame = av.AudioFrame(format="s16", layout="7.1", samples=4096)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate, frame.pts, frame.time_base = 44100, 0, Fraction(1, 44100)
        container.mux(stream.encode(frame))
        container.mux(stream.encode(None))
    return buffer.getvalue()


def test_a_file_that_crashes_ffmpeg_is_broken_and_the_others_are_decoded(tmp_path):
    paths = [write_audio_file(tmp_path / f"{n}.flac", "flac", TAGS, seconds=1.0) for n in range(9)]
    paths.insert(5, write(tmp_path / "7.1.aiff", seven_one_aiff()))
    files = [FileToCheck(str(p), p.stat().st_size, p.stat().st_mtime_ns) for p in paths]
    results = {Path(c.file.path).name: c for chunk in check_in_workers(files, 2, lambda: True) for c in chunk}
    assert len(results) == 10
    crashed = results.pop("7.1.aiff")
    assert judge(crashed.file, crashed.decoded).status == BROKEN
    assert crashed.decoded.error.startswith("the decoder crashed on this file (its process ended by SIG")
    assert all(judge(c.file, c.decoded).status == OK for c in results.values())
