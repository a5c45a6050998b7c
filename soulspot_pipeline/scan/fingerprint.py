"""Chromaprint fingerprints of audio files, and their AcoustID lookup, for files neither tags nor
album matching identify.

The audio is decoded by FFmpeg through PyAV, resampled to interleaved 16-bit samples (the file's
channels, at most two) at its own rate, and fed to libchromaprint through pyacoustid's ctypes
wrapper (``chromaprint.Fingerprinter``). Without the library, ``fpcalc -json`` (Chromaprint's
command-line tool, which decodes with its own FFmpeg) makes the fingerprint instead. Neither is
a Python wheel: both come from the system (Debian ``libchromaprint1``, ``libchromaprint-tools``),
so where they are looked for is a ``Chromaprint`` value a caller can name, and their absence is
a reason to skip, never an error.

``fingerprint_and_lookup`` runs the whole part over plain data and callbacks: a fingerprint is
made only for content it has none of (by content key), AcoustID is asked only about
fingerprints without a fresh answer, in batches.
"""

from __future__ import annotations

import ctypes
import functools
import importlib
import json
import os
import shutil
import subprocess
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from fractions import Fraction
from typing import Any, Protocol

import av

from soulspot_pipeline.domain.acoustid import AcoustidMatch, StoredFingerprint, parse_results
from soulspot_pipeline.scan.audio_check import _ffmpeg_errors, _message

MAX_SECONDS = 120  # what AcoustID's own clients fingerprint: the first two minutes
# The names libchromaprint has on Linux, macOS and Windows (as pyacoustid looks for it).
LIBRARY_NAMES: tuple[str, ...] = (
    "libchromaprint.so.1",
    "libchromaprint.so.0",
    "libchromaprint.1.dylib",
    "libchromaprint.0.dylib",
    "chromaprint.dll",
    "libchromaprint.dll",
)
LIBRARY, FPCALC = "library", "fpcalc"
_FPCALC_TIMEOUT_S = 300.0
_END_OF_FILE = "(End of file)"


class FingerprintError(Exception):
    """This file cannot be fingerprinted (it cannot be decoded, or holds too little audio)."""


class ChromaprintMissing(RuntimeError):
    """Neither libchromaprint nor fpcalc is there: no file can be fingerprinted."""


@dataclass(frozen=True)
class Fingerprint:
    duration_s: int  # the whole file's length, as AcoustID wants it (whole seconds)
    fingerprint: str  # compressed, base64 (URL-safe alphabet), as libchromaprint and fpcalc print it
    tool: str = LIBRARY


@dataclass(frozen=True)
class Chromaprint:
    """Where Chromaprint is looked for: the library's file names (ctypes), and the fpcalc
    program (a name on PATH or a path). An empty ``libraries`` or a None ``fpcalc`` leaves
    that one out."""

    libraries: tuple[str, ...] = LIBRARY_NAMES
    fpcalc: str | None = "fpcalc"

    def library(self) -> Any | None:
        """pyacoustid's ``chromaprint`` module when one of the libraries loads, else None."""
        return _load_wrapper(self.libraries)

    def fpcalc_path(self) -> str | None:
        return shutil.which(self.fpcalc) if self.fpcalc else None

    def unavailable(self) -> str | None:
        """Why no fingerprint can be made here, or None."""
        if self.library() is not None or self.fpcalc_path() is not None:
            return None
        looked = ", ".join(self.libraries) or "no library names"
        program = f"the program {self.fpcalc!r}" if self.fpcalc else "no fpcalc"
        return (
            f"Chromaprint is not installed: neither its library ({looked}) nor {program} was found. "
            "Install libchromaprint1 or libchromaprint-tools (fpcalc) to identify files by their sound."
        )


@functools.cache
def _load_wrapper(libraries: tuple[str, ...]) -> Any | None:
    for name in libraries:
        try:
            ctypes.CDLL(name)
        except OSError:
            continue
        # The wrapper loads the library by its standard names, which find the one just loaded
        # (the dynamic loader matches a loaded library's soname).
        try:
            return importlib.import_module("chromaprint")
        except ImportError:
            return None
    return None


def chromaprint_unavailable(tools: Chromaprint | None = None) -> str | None:
    """The reason fingerprints cannot be made here (the library and fpcalc both missing), or None."""
    return (tools or Chromaprint()).unavailable()


def fingerprint_file(path: str, max_seconds: int = MAX_SECONDS, tools: Chromaprint | None = None) -> Fingerprint:
    """The fingerprint of the first ``max_seconds`` of ``path`` and its whole length.

    Raises ``FingerprintError`` for a file that cannot be decoded or holds less than a second
    of audio, ``ChromaprintMissing`` when there is nothing to make fingerprints with.
    """
    tools = tools or Chromaprint()
    wrapper = tools.library()
    if wrapper is not None:
        return _with_library(wrapper, path, max_seconds)
    program = tools.fpcalc_path()
    if program is not None:
        return _with_fpcalc(program, path, max_seconds)
    raise ChromaprintMissing(tools.unavailable() or "Chromaprint is not installed")


# --------------------------------------------------------------------------
# PyAV into libchromaprint
# --------------------------------------------------------------------------


def _with_library(wrapper: Any, path: str, max_seconds: int) -> Fingerprint:
    if not os.path.isfile(path):
        raise FingerprintError(f"no such file: {path}")
    if os.path.getsize(path) == 0:
        raise FingerprintError("empty file (0 bytes)")
    with _ffmpeg_errors() as logs:
        try:
            container = av.open(path, metadata_errors="ignore")
        except av.FFmpegError as exc:
            raise FingerprintError(f"cannot be opened: {_message(exc, logs, 0)}") from None
        with container:
            if not container.streams.audio:
                raise FingerprintError("no audio stream")
            stream = container.streams.audio[0]
            rate = stream.codec_context.sample_rate or stream.rate
            channels = min(max(stream.codec_context.channels, 1), 2)
            if not rate:
                raise FingerprintError("the audio stream states no sample rate")
            printer = wrapper.Fingerprinter()
            printer.start(rate, channels)
            wanted = rate * max_seconds  # samples per channel
            fed = 0
            ended = True
            try:
                for block in _pcm(container, stream, rate, channels):
                    take = min(len(block), (wanted - fed) * channels * 2)
                    printer.feed(block[:take])
                    fed += len(block) // (channels * 2)
                    if fed >= wanted:
                        ended = False
                        break
            except av.FFmpegError as exc:
                if fed < rate:  # a decode that fails within the first second has nothing to print
                    raise FingerprintError(f"cannot be decoded: {_message(exc, logs, 0)}") from None
            except wrapper.FingerprintError:
                raise FingerprintError("libchromaprint refused the audio") from None
            if fed < rate:
                raise FingerprintError("less than a second of audio: too short to fingerprint")
            try:
                printed = printer.finish()
            except wrapper.FingerprintError:
                raise FingerprintError("libchromaprint could not finish the fingerprint") from None
            length = fed / rate if ended else _whole_length(container, stream, fed / rate)
    text = printed.decode("ascii") if isinstance(printed, bytes) else str(printed)
    if not text:
        raise FingerprintError("libchromaprint made an empty fingerprint")
    return Fingerprint(round(length), text, LIBRARY)


def _pcm(container: av.container.InputContainer, stream: av.AudioStream, rate: int, channels: int) -> Iterator[bytes]:
    """The stream as interleaved signed 16-bit samples, block by block. A packet the decoder
    refuses is left out, as players do; the demuxer failing ends the audio (``FFmpegError``)."""
    resampler = av.AudioResampler(format="s16", layout="mono" if channels == 1 else "stereo", rate=rate)
    for packet in container.demux(stream):
        try:
            frames = packet.decode()
        except av.FFmpegError:
            continue
        for frame in frames:
            for out in resampler.resample(frame):
                yield _samples(out, channels)
    for out in resampler.resample(None):
        yield _samples(out, channels)


def _samples(frame: av.AudioFrame, channels: int) -> bytes:
    # The plane may be padded beyond the samples it holds.
    return bytes(frame.planes[0])[: frame.samples * channels * 2]


def _whole_length(container: av.container.InputContainer, stream: av.AudioStream, decoded_s: float) -> float:
    """The length of a file decoded only in part: its header's, else where its last packet ends."""
    if stream.duration and stream.time_base:
        return float(stream.duration * stream.time_base)
    if container.duration:
        return container.duration / av.time_base
    time_base = stream.time_base or Fraction(1, av.time_base)
    end = None
    try:
        for packet in container.demux(stream):
            if packet.pts is not None:
                end = packet.pts + (packet.duration or 0)
    except av.FFmpegError:
        pass  # what was read is the length
    if end is None:
        return decoded_s
    return max(decoded_s, float((end - (stream.start_time or 0)) * time_base))


# --------------------------------------------------------------------------
# fpcalc
# --------------------------------------------------------------------------


def _with_fpcalc(program: str, path: str, max_seconds: int) -> Fingerprint:
    if not os.path.isfile(path):
        raise FingerprintError(f"no such file: {path}")
    # -ignore-errors skips what the decoder refuses, as the library path does; fpcalc before 1.5
    # does not know it and is asked again without.
    done, errors = _run_fpcalc([program, "-json", "-ignore-errors", "-length", str(max_seconds), path])
    if done.returncode != 0 and any("Unknown option -ignore-errors" in line for line in errors):
        done, errors = _run_fpcalc([program, "-json", "-length", str(max_seconds), path])
    said = "; ".join(errors)[:300] or "no message"
    # fpcalc 1.5 built with FFmpeg 5 or later reports the end of the input as a decode error
    # (exit 3) after printing the whole fingerprint: that one is no error.
    if done.returncode != 0 and not (errors and all(_END_OF_FILE in line for line in errors)):
        raise FingerprintError(f"fpcalc could not fingerprint it (exit {done.returncode}): {said}")
    try:
        body = json.loads(done.stdout)
        duration, printed = float(body["duration"]), str(body["fingerprint"])
    except (ValueError, KeyError, TypeError):
        raise FingerprintError(f"fpcalc printed no fingerprint: {said}") from None
    if duration < 1 or not printed:
        raise FingerprintError("less than a second of audio: too short to fingerprint")
    return Fingerprint(round(duration), printed, FPCALC)


def _run_fpcalc(command: list[str]) -> tuple[subprocess.CompletedProcess[bytes], list[str]]:
    try:
        done = subprocess.run(command, capture_output=True, timeout=_FPCALC_TIMEOUT_S, check=False)
    except subprocess.TimeoutExpired:
        raise FingerprintError(f"fpcalc took longer than {_FPCALC_TIMEOUT_S:.0f} s") from None
    except OSError as exc:
        raise FingerprintError(f"fpcalc could not be run: {exc}") from None
    return done, [line.strip() for line in done.stderr.decode("utf-8", "replace").splitlines() if line.strip()]


# --------------------------------------------------------------------------
# The part as a whole
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class FileToFingerprint:
    track_id: str
    path: str
    content_hash: str  # domain.acoustid.content_key


class AcoustidLookup(Protocol):
    """What the part needs of ``AcoustIDResource``."""

    @property
    def configured(self) -> bool: ...

    def lookup_results(self, items: list[tuple[str, int, str]]) -> dict[str, list[dict[str, Any]]]: ...


@dataclass
class FingerprintRun:
    """What the part did: AcoustID's matches per track, and how many of each step."""

    matches: dict[str, list[AcoustidMatch]] = field(default_factory=dict)
    skipped: str | None = None  # why nothing was done
    computed: int = 0  # fingerprints made now
    reused: int = 0  # fingerprints (or failures) already stored
    failed: dict[str, str] = field(default_factory=dict)  # path -> why it has no fingerprint
    looked_up: int = 0  # fingerprints asked of AcoustID now
    answers_reused: int = 0  # fingerprints whose stored answer is still fresh
    matched: int = 0  # tracks with at least one match

    def counts(self) -> dict[str, int]:
        return {
            "computed": self.computed,
            "reused": self.reused,
            "failed": len(self.failed),
            "looked_up": self.looked_up,
            "answers_reused": self.answers_reused,
            "matched": self.matched,
        }


def fingerprint_and_lookup(
    files: Sequence[FileToFingerprint],
    *,
    known: Mapping[str, StoredFingerprint],
    answers: Mapping[str, list[dict[str, Any]]],
    lookup: AcoustidLookup | None,
    save_fingerprints: Callable[[list[StoredFingerprint]], None],
    save_answers: Callable[[dict[str, list[dict[str, Any]]]], None],
    now: Callable[[], datetime],
    tools: Chromaprint | None = None,
    max_seconds: int = MAX_SECONDS,
    save_every: int = 50,
    lookup_chunk: int = 100,
    fingerprint: Callable[[str, int, Chromaprint], Fingerprint] | None = None,
) -> FingerprintRun:
    """Fingerprint the files whose content has no stored fingerprint, ask AcoustID about the
    fingerprints without a fresh stored answer, and gather the matches of every file.

    ``known`` holds the stored fingerprints of these files' contents and ``answers`` their
    fresh stored answers (AcoustID's ``results`` lists), both by content hash; new ones go to
    ``save_fingerprints`` (every ``save_every``, so an interrupted run keeps its work) and
    ``save_answers`` (after every ``lookup_chunk`` fingerprints asked). Without an AcoustID key
    or without Chromaprint the part is skipped with the reason and nothing is computed.
    ``ProviderError`` from the lookup propagates, after what was made and answered so far was
    saved. ``fingerprint`` replaces ``fingerprint_file`` (a test counting its calls).
    """
    run = FingerprintRun()
    tools = tools or Chromaprint()
    if lookup is None or not lookup.configured:
        run.skipped = "AcoustID is not configured: set ACOUSTID_API_KEY to identify files by their sound"
        return run
    missing = tools.unavailable()
    if missing is not None:
        run.skipped = missing
        return run
    make = fingerprint or (lambda path, seconds, where: fingerprint_file(path, seconds, where))

    prints: dict[str, StoredFingerprint] = {}
    pending: list[StoredFingerprint] = []
    for file in files:
        if file.content_hash in prints:
            continue  # the same audio twice in this run
        stored = known.get(file.content_hash)
        if stored is not None:
            run.reused += 1
        else:
            try:
                made = make(file.path, max_seconds, tools)
                stored = StoredFingerprint(file.content_hash, made.duration_s, made.fingerprint, None, made.tool, now())
            except FingerprintError as exc:
                stored = StoredFingerprint(file.content_hash, None, None, str(exc) or type(exc).__name__, None, now())
            run.computed += 1
            pending.append(stored)
            if len(pending) >= save_every:
                save_fingerprints(pending)
                pending = []
        prints[file.content_hash] = stored
    if pending:
        save_fingerprints(pending)

    results: dict[str, list[dict[str, Any]]] = {}
    ask: list[tuple[str, int, str]] = []
    for content_hash, stored in prints.items():
        if stored.fingerprint is None or not stored.duration_s:
            continue
        if content_hash in answers:
            results[content_hash] = answers[content_hash]
            run.answers_reused += 1
        else:
            ask.append((content_hash, stored.duration_s, stored.fingerprint))
    for start in range(0, len(ask), lookup_chunk):
        # Saved chunk by chunk: a lookup that fails later keeps the answers already paid for.
        chunk = ask[start : start + lookup_chunk]
        fresh = lookup.lookup_results(chunk)
        run.looked_up += len(chunk)
        save_answers(fresh)
        results.update(fresh)

    for file in files:
        stored = prints[file.content_hash]
        if stored.error is not None:
            run.failed[file.path] = stored.error
        found = parse_results(results.get(file.content_hash, []))
        if found:
            run.matches[file.track_id] = found
    run.matched = len(run.matches)
    return run
