"""Whether a file's audio is whole: the verdict on one full decode, and which files to decode.

A decode (``scan.audio_check``) reports plain facts: the first problem FFmpeg met and where, how
much audio came out, and the length the file's header states. ``judge`` turns them into
``ok``, ``broken`` or ``truncated`` with a reason a user can act on; ``plan_checks`` picks the
files that need a decode at all. Both are pure.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

OK = "ok"
BROKEN = "broken"
TRUNCATED = "truncated"

# A problem sits at the end of the stream (trailing junk, or the cut-off last frame of a
# truncated file) when less than END_S of audio decodes after it (a decoder may still hand out
# a frame it held back) and it lies in the file's last END_BYTES or last 1 %.
END_S = 0.5
END_BYTES = 64 * 1024


@dataclass(frozen=True)
class FileToCheck:
    """A file of ``library.local_files`` as the scan saw it; ``scanned_s`` is the scan's length
    of it (mutagen's, from the header), a second reading of the stated length."""

    path: str
    size: int
    mtime_ns: int
    scanned_s: float | None = None


@dataclass(frozen=True)
class Decoded:
    """What decoding a file from its first packet to its last found.

    ``header_s``: the length the container states; None when it states none (an MP3 without a
    Xing/VBRI frame, whose length FFmpeg guesses from the bitrate). ``decoded_s``: the decoded
    frames' samples over their rate. ``error``: the first problem (an undecodable packet, data
    the demuxer skipped, a read that failed), at ``error_at_s`` in the audio and
    ``error_at_byte`` in the file (None when unknown); ``after_error_s``: the audio decoded
    after it. ``opened`` is False when not one packet could be read.
    """

    opened: bool
    codec: str | None = None
    header_s: float | None = None
    decoded_s: float = 0.0
    error: str | None = None
    error_at_s: float | None = None
    error_at_byte: int | None = None
    after_error_s: float = 0.0
    problems: int = 0
    audio_hash: str | None = None

    @classmethod
    def unopened(cls, error: str) -> Decoded:
        return cls(opened=False, error=error, error_at_s=0.0, problems=1)


@dataclass(frozen=True)
class Verdict:
    """``error_at_s``: where the audio breaks (broken) or ends (truncated); ``header_s``: the
    stated length the decode was held against."""

    status: str
    reason: str | None = None
    error_at_s: float | None = None
    header_s: float | None = None


def tolerance_s(header_s: float) -> float:
    """How far the decoded audio may fall short of the stated length: 2 s, or 2 % of long files.

    Encoder delay and padding, priming samples and rounding in headers differ by well under a
    second, a VBR header's frame count by a frame or two: two seconds clear all of them on a
    song, and 2 % keeps an hour-long mix from being flagged for a rounded header. A cut copy
    misses far more (a download stopped at 60 % misses minutes).
    """
    return max(2.0, 0.02 * header_s)


def stated_length(decoded: Decoded, scanned_s: float | None) -> float | None:
    """The length the header states: the longer of FFmpeg's reading and the scan's (mutagen's).

    FFmpeg takes a WAV or AIFF length from the file's size and an ASF one from the packets it
    finds, so a cut file looks whole to it; mutagen reads the declared chunk size and play
    duration. Where the container states no length (``header_s`` None) the scan's number is
    the same bitrate guess, and neither is used.
    """
    if decoded.header_s is None:
        return None
    return max(decoded.header_s, scanned_s or 0.0)


def judge(file: FileToCheck, decoded: Decoded) -> Verdict:
    """ok, broken (the first problem and where) or truncated (the audio stops well before the
    stated length). A file that plays to its stated end despite junk after it is ok, noted."""
    header = stated_length(decoded, file.scanned_s)
    if not decoded.opened:
        return Verdict(BROKEN, decoded.error or "cannot be read", 0.0, header)
    if decoded.decoded_s <= 0:
        states = f"; its header states {_s(header)}" if header else ""
        problem = f" ({decoded.error})" if decoded.error else ""
        return Verdict(BROKEN, f"no audio: not one frame decodes{states}{problem}", 0.0, header)
    short = header is not None and decoded.decoded_s < header - tolerance_s(header)
    ends = f"the audio ends at {_s(decoded.decoded_s)} of the {_s(header)} its header states"
    if decoded.error is not None:
        at = decoded.error_at_s if decoded.error_at_s is not None else decoded.decoded_s
        if _at_the_end(file, decoded):
            if short:
                return Verdict(TRUNCATED, f"{ends} ({decoded.error})", decoded.decoded_s, header)
            # All the audio the header promises decoded: what follows it is not audio.
            return Verdict(OK, f"data after the audio ignored: {decoded.error} at {_s(at)}", None, header)
        return Verdict(BROKEN, f"{decoded.error} at {_s(at)}", at, header)
    if short:
        return Verdict(TRUNCATED, ends, decoded.decoded_s, header)
    return Verdict(OK, None, None, header)


def _at_the_end(file: FileToCheck, decoded: Decoded) -> bool:
    if decoded.after_error_s >= END_S:
        return False
    if decoded.error_at_byte is None:
        return True
    return file.size - decoded.error_at_byte <= max(END_BYTES, file.size // 100)


def _s(seconds: float | None) -> str:
    return f"{seconds or 0.0:.1f} s"


@dataclass(frozen=True)
class CheckPlan:
    to_check: list[FileToCheck]
    new: int
    changed: int
    unchanged: int


def plan_checks(present: Iterable[FileToCheck], checked: Mapping[str, tuple[int, int]]) -> CheckPlan:
    """The present files to decode, in the order given: those never checked, and those whose
    size or mtime differ from their check's. Unchanged files are never decoded again.

    Checks of files that vanished are kept: nothing shows them (a check counts only for a
    present file of the same size and mtime), and when a drive is mounted again with its files
    unchanged, none needs a decode.
    """
    to_check: list[FileToCheck] = []
    new = changed = unchanged = 0
    for file in present:
        known = checked.get(file.path)
        if known == (file.size, file.mtime_ns):
            unchanged += 1
            continue
        if known is None:
            new += 1
        else:
            changed += 1
        to_check.append(file)
    return CheckPlan(to_check, new, changed, unchanged)
