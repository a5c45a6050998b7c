"""Decoding whole files with FFmpeg (PyAV), in worker processes: problems, lengths, the audio's hash.

Each file's first audio stream is demuxed packet by packet; every packet's bytes go into a
SHA-256, after the codec's name (the same bytes are other audio in another codec), and through
the decoder. Tags never reach the hash: FFmpeg's demuxers keep FLAC metadata blocks, ID3v2,
ID3v1 and APEv2 on MP3, Vorbis comments and MP4 atoms out of the packets, so two files of the
same audio tagged differently share it. Decoding only counts samples: nothing is resampled or
copied out of FFmpeg.

Workers import PyAV, mutagen's MP3 header reader and pure helpers only. A file that crashes
FFmpeg ends only its own check, as ``broken``.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import multiprocessing
import os
import signal
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from contextlib import contextmanager
from dataclasses import dataclass
from fractions import Fraction
from multiprocessing.connection import Connection
from multiprocessing.context import ForkServerContext

import av
import av.logging
from av.audio.codeccontext import AudioCodecContext
from av.audio.stream import AudioStream
from av.container import InputContainer
from mutagen.mp3 import BitrateMode, MPEGInfo

from soulspot_pipeline.domain.audio_health import Decoded, FileToCheck

CHUNK_FILES = 4  # files per worker task: a song takes a tenth of a second or more to decode
IN_FLIGHT = 2  # tasks per worker queued ahead, so no worker waits for the next one

# A forward jump of the timestamps larger than this is data the demuxer skipped as corrupt
# (a lost FLAC frame or Ogg page). ASF rounds timestamps to the millisecond.
GAP_S = 0.05

# Raw streams whose header states no length: FFmpeg estimates it from the bitrate, a guess for
# VBR that follows the file's size when it is cut, so it cannot tell a truncation.
_NO_STATED_LENGTH = frozenset({"aac", "ac3", "eac3", "dts", "mp3"})

_Log = tuple[int, str, str]  # FFmpeg's level, the component that logged, the line


@dataclass(frozen=True)
class CheckedFile:
    """One planned file and its decode; ``decoded`` is None when the file changed or went away
    since the scan (its check waits for the next scan)."""

    file: FileToCheck
    decoded: Decoded | None


def check_file(path: str) -> Decoded:
    """Decode one file in full. Never raises: whatever goes wrong is the decode's error."""
    try:
        with _ffmpeg_errors() as logs:
            return _decode(path, logs)
    except Exception as exc:  # one odd file never stops the others
        return Decoded.unopened(f"{type(exc).__name__}: {exc}")


def check_many(files: list[FileToCheck]) -> list[CheckedFile]:
    """A worker's task: each file decoded, unless it is no longer the file the scan saw."""
    return [CheckedFile(file, check_file(file.path) if _unchanged(file) else None) for file in files]


def _unchanged(file: FileToCheck) -> bool:
    try:
        stat = os.stat(file.path)
    except OSError:
        return False
    return (stat.st_size, stat.st_mtime_ns) == (file.size, file.mtime_ns)


@contextmanager
def _ffmpeg_errors() -> Iterator[list[_Log]]:
    """FFmpeg's error lines while decoding, caught in this thread instead of printed; they say
    more than the exception ("Header missing" rather than "Invalid data found")."""
    level, skip_repeated = av.logging.get_level(), av.logging.get_skip_repeated()
    av.logging.set_level(av.logging.ERROR)
    av.logging.set_skip_repeated(False)
    try:
        with av.logging.Capture(local=True) as logs:
            yield logs
    finally:
        av.logging.set_level(level)
        av.logging.set_skip_repeated(skip_repeated)


def _decode(path: str, logs: list[_Log]) -> Decoded:
    if os.path.getsize(path) == 0:
        return Decoded.unopened("empty file (0 bytes)")
    try:
        container = av.open(path, metadata_errors="ignore")
    except av.FFmpegError as exc:
        return Decoded.unopened(f"cannot be opened: {_message(exc, logs, 0)}")
    with container:
        if not container.streams.audio:
            return Decoded.unopened("no audio stream")
        stream = container.streams.audio[0]
        context = stream.codec_context
        context.thread_count = 1  # every core already decodes a file of its own
        # The codec's own name ("mp3"), not the decoder's ("mp3float"), which FFmpeg may change.
        codec = context.codec.canonical_name
        time_base = stream.time_base or Fraction(1, av.time_base)
        run = _Run(time_base, stream.start_time or 0, hashlib.sha256(codec.encode()), logs)
        try:
            for packet in container.demux(stream):
                if packet.size:  # the empty packet ends the stream
                    run.packet(packet, context)
        except av.FFmpegError as exc:  # the demuxer cannot go on: the rest is unreadable
            run.problem(f"unreadable data: {run.message(exc)}", run.end_s, run.end_byte)
        run.logs_seen = len(logs)
        try:
            run.frames(context.decode(None))
        except av.FFmpegError as exc:
            run.problem(run.message(exc), run.end_s, run.end_byte)
        return Decoded(
            opened=True,
            codec=codec,
            header_s=_stated_length(container, stream, path),
            decoded_s=run.decoded_s,
            error=run.error,
            error_at_s=run.error_at_s,
            error_at_byte=run.error_at_byte,
            after_error_s=run.decoded_s - run.decoded_at_error_s if run.error else 0.0,
            problems=run.problems,
            audio_hash=run.digest.hexdigest() if run.packets else None,  # no audio, nothing to match
        )


class _Run:
    """The state of one decode: the hash, the audio so far, the first problem."""

    def __init__(self, time_base: Fraction, origin: int, digest: hashlib._Hash, logs: list[_Log]) -> None:
        self.time_base = time_base
        self.origin = origin
        self.digest = digest
        self.logs = logs
        self.logs_seen = 0  # FFmpeg's lines before this are about packets already judged
        self.decoded_s = 0.0
        self.expected_pts: int | None = None
        self.end_s = 0.0  # where the last packet read ends, in the audio and in the file
        self.end_byte: int | None = None
        self.error: str | None = None
        self.error_at_s: float | None = None
        self.error_at_byte: int | None = None
        self.decoded_at_error_s = 0.0
        self.problems = 0
        self.packets = 0

    def packet(self, packet: av.Packet, context: AudioCodecContext) -> None:
        self.digest.update(packet)
        self.packets += 1
        pts = packet.pts if packet.pts is not None else packet.dts
        at = self.decoded_s if pts is None else float((pts - self.origin) * self.time_base)
        byte = packet.pos if packet.pos is not None and packet.pos >= 0 else None
        if pts is not None:  # a parser's packet without one (corrupt data) keeps the timeline
            if self.expected_pts is not None and (pts - self.expected_pts) * self.time_base > GAP_S:
                skipped = float((self.expected_pts - self.origin) * self.time_base)
                self.problem(f"corrupt data skipped: the audio jumps from {skipped:.2f} s to {at:.2f} s", skipped, byte)
            self.expected_pts = pts + packet.duration if packet.duration else None
        self.end_s = at + float(packet.duration * self.time_base) if packet.duration else at
        self.end_byte = None if byte is None else byte + packet.size
        self.logs_seen = len(self.logs)
        try:
            frames = context.decode(packet)
        except av.FFmpegError as exc:
            self.problem(self.message(exc), at, byte)
            return
        self.frames(frames)

    def frames(self, frames: Iterable[av.AudioFrame]) -> None:
        for frame in frames:
            if frame.sample_rate:
                self.decoded_s += frame.samples / frame.sample_rate

    def problem(self, message: str, at_s: float, at_byte: int | None) -> None:
        self.problems += 1
        if self.error is None:
            self.error, self.error_at_s, self.error_at_byte = message, max(at_s, 0.0), at_byte
            self.decoded_at_error_s = self.decoded_s

    def message(self, exc: av.FFmpegError) -> str:
        return _message(exc, self.logs, self.logs_seen)


def _message(exc: av.FFmpegError, logs: list[_Log], since: int) -> str:
    """FFmpeg's first error line since ``since`` (``mp3float: Header missing``), else the exception's."""
    for level, name, text in logs[since:]:
        if level <= av.logging.ERROR and text.strip():
            return f"{name}: {text.strip()}"
    return exc.strerror or str(exc)


def _stated_length(container: InputContainer, stream: AudioStream, path: str) -> float | None:
    if container.format.name in _NO_STATED_LENGTH and not (container.format.name == "mp3" and _mp3_counts_frames(path)):
        return None
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    return None


def _mp3_counts_frames(path: str) -> bool:
    """Whether an MP3 has a Xing/Info or VBRI frame: a frame count, so a stated length."""
    try:
        with open(path, "rb") as fileobj:
            return MPEGInfo(fileobj).bitrate_mode is not BitrateMode.UNKNOWN
    except Exception:  # no MPEG header mutagen can find: no count either
        return False


# --------------------------------------------------------------------------
# Every core
# --------------------------------------------------------------------------


def check_in_workers(
    files: Sequence[FileToCheck], workers: int, may_start: Callable[[], bool]
) -> Iterator[list[CheckedFile]]:
    """Decode ``files`` in ``workers`` processes, yielding results as tasks finish.

    ``may_start`` is asked before each file is handed out; once it says no, no file is started
    and the files already started finish. A worker that dies (FFmpeg crashed on a file, or
    the system killed it) loses the files it held: each of those is decoded again alone, and
    the one that kills its process again is ``broken`` with the signal.
    """
    if not files:
        return
    chunks = _chunks(files, may_start)
    workers = max(1, min(workers, math.ceil(len(files) / CHUNK_FILES)))
    # forkserver workers start from a clean interpreter that imports only this module.
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload([__name__])
    while True:
        lost = yield from _pool(chunks, workers, context)
        if not lost:
            return
        for file in lost:
            yield [_alone(file, context)]


def _chunks(files: Iterable[FileToCheck], may_start: Callable[[], bool]) -> Iterator[list[FileToCheck]]:
    it = iter(files)
    while chunk := list(itertools.islice(itertools.takewhile(lambda _: may_start(), it), CHUNK_FILES)):
        yield chunk
        if len(chunk) < CHUNK_FILES:
            return


def _pool(
    chunks: Iterator[list[FileToCheck]], workers: int, context: ForkServerContext
) -> Generator[list[CheckedFile], None, list[FileToCheck]]:
    """Run the chunks until they end or a worker dies; returns the files lost with it."""
    # Not at the top: workers import this module and need neither DuckDB nor Arrow.
    from soulspot_pipeline.scan.scanner import _main_module_hidden

    unanswered: dict[int, list[FileToCheck]] = {}  # handed out, by id: a chunk is lost until answered
    in_flight: dict[Future[list[CheckedFile]], list[FileToCheck]] = {}
    try:
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:

            def hand_out(count: int) -> None:
                for chunk in itertools.islice(chunks, count):
                    unanswered[id(chunk)] = chunk
                    in_flight[pool.submit(check_many, chunk)] = chunk

            with _main_module_hidden():  # the workers start with the first submissions
                hand_out(workers * IN_FLIGHT)
            while in_flight:
                done, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in done:
                    results = future.result()
                    del unanswered[id(in_flight.pop(future))]
                    yield results
                    hand_out(1)
    except BrokenProcessPool:
        return [file for chunk in unanswered.values() for file in chunk]
    return []


def _alone(file: FileToCheck, context: ForkServerContext) -> CheckedFile:
    """Decode one file in a process of its own; its death is the file's verdict."""
    from soulspot_pipeline.scan.scanner import _main_module_hidden

    receiver, sender = context.Pipe(duplex=False)
    process = context.Process(target=_check_into, args=(file, sender), daemon=True)
    with _main_module_hidden():
        process.start()
    sender.close()
    try:
        result: CheckedFile | None = receiver.recv()
    except EOFError:  # it died before answering
        result = None
    finally:
        receiver.close()
        process.join()
    if result is not None:
        return result
    code = process.exitcode or 0
    if -code in (signal.SIGINT, signal.SIGTERM):
        raise KeyboardInterrupt(f"the decode of {file.path} was stopped")
    how = f"by {signal.Signals(-code).name}" if code < 0 and -code in signal.valid_signals() else f"with {code}"
    return CheckedFile(file, Decoded.unopened(f"the decoder crashed on this file (its process ended {how})"))


def _check_into(file: FileToCheck, sender: Connection) -> None:
    sender.send(check_many([file])[0])
    sender.close()
