"""Checking a downloaded file before it may enter the library.

slskd sometimes reports a truncated transfer as complete, and peers share files whose name
promises audio that is not there: size, content and duration are all checked.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import mutagen

from soulspot_pipeline.domain.quality import Quality
from soulspot_pipeline.scan.read import EXTENSIONS_OF, audio_properties, format_name, sniff_by_content


class ImportRejected(Exception):
    """A download that must not be imported; ``reason`` says why in a few words."""

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class AudioFacts:
    """A file's audio properties as the scanner records them (kbps, Hz, bits)."""

    format: str
    duration_ms: int | None
    bitrate: int | None
    sample_rate: int | None
    bit_depth: int | None
    channels: int | None

    @property
    def quality(self) -> Quality:
        return Quality(self.format, self.bitrate, self.bit_depth, self.sample_rate)


def verify_download(
    path: Path,
    *,
    expected_duration_ms: int | None,
    tolerance_s: float = 5.0,
    expected_size: int | None = None,
) -> AudioFacts:
    """The facts of a complete, readable audio file, or ImportRejected saying what is wrong."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except FileNotFoundError:
        raise ImportRejected("file not found") from None
    if not path.is_file():
        raise ImportRejected("not a regular file")
    if size == 0:
        raise ImportRejected("empty file")
    if expected_size is not None and size != expected_size:
        if size < expected_size:
            raise ImportRejected(f"size {size:,} of {expected_size:,} bytes: truncated")
        raise ImportRejected(f"size {size:,} but {expected_size:,} bytes expected")
    facts = audio_facts(path)
    if (
        expected_duration_ms
        and facts.duration_ms
        and abs(facts.duration_ms - expected_duration_ms) > tolerance_s * 1000
    ):
        raise ImportRejected(f"duration {_clock(facts.duration_ms)} but {_clock(expected_duration_ms)} expected")
    return facts


def audio_facts(path: Path) -> AudioFacts:
    """What mutagen reports about ``path``, judged by content when the extension lies."""
    failure = "unknown format"
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # mutagen raises many kinds for corrupt data
        audio, failure = None, f"{type(exc).__name__}: {exc}"
    if audio is None or audio.info is None:
        audio = sniff_by_content(str(path)) or audio
    if audio is None or audio.info is None:
        raise ImportRejected(f"not audio: mutagen cannot read it ({failure})")
    fmt = format_name(audio)
    if fmt not in EXTENSIONS_OF:
        raise ImportRejected(f"not audio: the content is {fmt}")
    facts = AudioFacts(*audio_properties(audio, fmt))
    if not facts.duration_ms:
        raise ImportRejected(f"not audio: {fmt} without any playable length")
    return facts


def _clock(ms: int) -> str:
    """Milliseconds as m:ss, or h:mm:ss from an hour on."""
    minutes, seconds = divmod(round(ms / 1000), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{seconds:02}" if hours else f"{minutes}:{seconds:02}"
