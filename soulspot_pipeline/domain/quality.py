"""Comparing the audio quality of two copies of a track, so an upgrade is never a sidegrade.

``is_strictly_better`` is a strict partial order (irreflexive, asymmetric, transitive):
replacing a file only by a strictly better one can never loop.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

# Formats as the scanner names them; a format in neither set is of unknown quality.
LOSSLESS_FORMATS = frozenset(
    {"flac", "alac", "wavpack", "ape", "aiff", "wav", "tak", "oggflac", "trueaudio", "optimfrog", "dsf", "dsdiff"}
)
LOSSY_FORMATS = frozenset({"mp3", "aac", "vorbis", "opus", "wma", "musepack", "speex", "ac3"})
# A lossy copy must beat the other by this much, so VBR averages of one preset never count.
MIN_BITRATE_GAIN_KBPS = 32
MIN_BITRATE_GAIN_RATIO = 0.10


@dataclass(frozen=True)
class Quality:
    """What a file's quality is judged by: format (scanner's name), kbps, bits and Hz."""

    format: str
    bitrate: int | None = None
    bit_depth: int | None = None
    sample_rate: int | None = None

    @property
    def lossless(self) -> bool:
        return self.format.lower() in LOSSLESS_FORMATS

    @property
    def lossy(self) -> bool:
        return self.format.lower() in LOSSY_FORMATS


def is_strictly_better(new: Quality, old: Quality) -> bool:
    """Whether ``new`` is clearly better than ``old``; equal or unknown is never better.

    Lossless beats lossy. Between lossy copies the bitrate must be higher by at least
    32 kbps and 10%. Between lossless copies a higher bit depth wins, then (at equal depth)
    a higher sample rate.
    """
    if new.lossless and old.lossy:
        return True
    if new.lossy and old.lossy:
        if not new.bitrate or not old.bitrate:
            return False
        gain = max(MIN_BITRATE_GAIN_KBPS, math.ceil(old.bitrate * MIN_BITRATE_GAIN_RATIO))
        return new.bitrate >= old.bitrate + gain
    if new.lossless and old.lossless:
        if not new.bit_depth or not old.bit_depth:
            return False
        if new.bit_depth != old.bit_depth:
            return new.bit_depth > old.bit_depth
        return bool(new.sample_rate and old.sample_rate and new.sample_rate > old.sample_rate)
    return False


def upgrade_candidate(q: Quality, *, min_lossy_bitrate: int) -> bool:
    """Whether an owned file is a lossy one whose known bitrate is below ``min_lossy_bitrate``."""
    if not q.lossy or not q.bitrate:
        return False
    return q.bitrate < min_lossy_bitrate
