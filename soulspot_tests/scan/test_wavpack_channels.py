"""WavPack files made with PyAV, scanned: mutagen gives a mono file's channel count as ``True``."""

from pathlib import Path

import av
import pytest

from soulspot_pipeline.scan.scanner import scan_music_folder

RATE = 44100


def write_wavpack(path: Path, layout: str, seconds: float = 1.0) -> None:
    """``seconds`` of 16-bit silence in a WavPack file with the given channel layout."""
    samples = 4410
    with av.open(str(path), "w", format="wv") as out:
        stream = out.add_stream("wavpack", rate=RATE, layout=layout)
        stream.codec_context.format = "s16p"
        for index in range(round(seconds * RATE / samples)):
            frame = av.AudioFrame(format="s16p", layout=layout, samples=samples)
            for plane in frame.planes:
                plane.update(bytes(plane.buffer_size))
            frame.sample_rate = RATE
            frame.pts = index * samples
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))


@pytest.mark.parametrize(("layout", "channels"), [("mono", 1), ("stereo", 2)])
def test_a_wavpack_file_is_scanned_with_its_channel_count(library_db, music_dir, layout, channels):
    path = music_dir / f"{layout}.wv"
    write_wavpack(path, layout)
    with library_db.writer() as conn:
        summary = scan_music_folder(conn, music_dir)
        row = conn.execute(
            "SELECT format, channels, sample_rate, bit_depth, duration_ms FROM library.local_files WHERE path = ?",
            [str(path)],
        ).fetchone()
        problems = conn.execute("SELECT * FROM library.scan_errors").fetchall()
    assert (summary.read, summary.errors, summary.warnings) == (1, 0, 0)
    assert row == ("wavpack", channels, RATE, 16, 1000)
    assert problems == []  # a bool from mutagen is a channel count, not a reason to warn


def test_a_mono_wavpack_file_does_not_hold_up_the_rest_of_its_batch(library_db, music_dir):
    for name, layout in [("a mono", "mono"), ("b stereo", "stereo"), ("c mono", "mono")]:
        write_wavpack(music_dir / f"{name}.wv", layout, seconds=0.2)
    with library_db.writer() as conn:
        summary = scan_music_folder(conn, music_dir)
        rows = conn.execute("SELECT channels FROM library.local_files ORDER BY path").fetchall()
    assert summary.read == 3
    assert rows == [(1,), (2,), (1,)]
