"""Small tagged audio files, encoded by FFmpeg through PyAV and tagged by mutagen.

Used by the test suite, the offline demo and the scan benchmark, which may create up to
100,000 files.  The audio is silence, but real encoder output that FFmpeg decodes without
an error.  For each format, length, sample rate, channel count and bit depth, the audio is
encoded once into an untagged template (``functools.lru_cache``); each file is a copy of
its template, tagged in memory by mutagen the way MusicBrainz Picard tags that family, and
written with one ``write`` call.  Templates are encoded bit-exact, so the same arguments
always give the same bytes.

======  ==========================  ========  =========  ========================  ==========================
format  codec (FFmpeg encoder)      channels  bits       sample rates              tags
======  ==========================  ========  =========  ========================  ==========================
flac    FLAC (flac)                 1-8       16, 24     any                       Vorbis comments
mp3     MP3 (libmp3lame)            1-2       -          MPEG's 9, 8-48 kHz        ID3v2.4
ogg     Vorbis in Ogg (vorbis)      2         -          any                       Vorbis comments
opus    Opus in Ogg (libopus)       1-8       -          any, coded at 8-48 kHz    Vorbis comments
wav     PCM in RIFF WAVE            1-8       8, 16, 24  any                       ID3v2.4 in an "id3 " chunk
aiff    PCM in AIFF                 1-7       8, 16, 24  any                       ID3v2.4 in an "ID3 " chunk
wv      WavPack (wavpack)           1-2       8, 16, 24  WavPack's 15, 6-192 kHz   APEv2
m4a     AAC-LC in MP4 (aac)         1-8       -          AAC's 13, 7.35-96 kHz     MP4 atoms
alac    ALAC in MP4 (alac)          1-8       16, 24     any                       MP4 atoms
wma     WMA v2 in ASF (wmav2)       1-2       -          WMA's 7, 8-48 kHz         ASF attributes
======  ==========================  ========  =========  ========================  ==========================

"any" is any rate below 2**20 Hz.  Lossy formats ignore ``bits_per_sample``.  Opus codes
8, 12, 16, 24 or 48 kHz; other rates are resampled to 48 kHz before encoding, as ``ffmpeg``
does.  ``alac`` files are MP4 (``.m4a``) files whose codec mutagen reports as "alac".  MP4
stores track and disc numbers in 16 bits.  Anything an encoder, a container or mutagen
cannot represent raises ``ValueError``.
"""

from __future__ import annotations

import functools
import io
import itertools
import math
import os
import pathlib
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from fractions import Fraction
from typing import cast

import av
from av.audio.stream import AudioStream
from mutagen.aiff import AIFF
from mutagen.asf import ASF
from mutagen.flac import FLAC
from mutagen.id3 import ID3, TALB, TCON, TDRC, TIT2, TPE1, TPE2, TPOS, TRCK, TSRC, TXXX, UFID, Encoding, Frame
from mutagen.mp4 import MP4, MP4FreeForm
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from mutagen.wavpack import WavPack

from soulspot_pipeline.domain.fields import TAG_FIELDS

__all__ = ["FORMATS", "TAG_KEYS", "audio_bytes", "write_audio_file"]

FORMATS: tuple[str, ...] = ("flac", "mp3", "ogg", "opus", "wav", "aiff", "wv", "m4a", "alac", "wma")

# Every tag field the scan reads, but the album artist's MBID (not written here).
TAG_KEYS: tuple[str, ...] = tuple(f for f in TAG_FIELDS if f != "albumartist_mbid")
_TAG_KEY_SET = frozenset(TAG_KEYS)

_PCM_BITS = (8, 16, 24)
_CHUNK = 4096  # samples per source frame
_CHUNK_LIMIT = 0xFFFF_0000  # PCM bytes that leave room for the rest of a 32-bit RIFF/FORM chunk


# --------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------


def audio_bytes(
    fmt: str,
    tags: Mapping[str, str | int | None] | None = None,
    *,
    seconds: float = 1.0,
    sample_rate: int = 44100,
    channels: int = 2,
    bits_per_sample: int = 16,
) -> bytes:
    """Return the bytes of a silent, tagged audio file in ``fmt`` (one of :data:`FORMATS`).

    ``tags`` maps keys of :data:`TAG_KEYS` to values; ``None`` values are left out.
    ``bits_per_sample`` (8, 16 or 24) applies to the lossless formats; the lossy ones
    ignore it.  Raises ``ValueError`` for a combination the format cannot carry.
    """
    return _build(fmt, tags, seconds, sample_rate, channels, bits_per_sample)


def write_audio_file(
    path: str | os.PathLike,
    fmt: str,
    tags: Mapping[str, str | int | None] | None = None,
    *,
    seconds: float = 1.0,
    sample_rate: int = 44100,
    channels: int = 2,
    bits_per_sample: int = 16,
) -> pathlib.Path:
    """Write a silent, tagged audio file in ``fmt`` to ``path`` and return it.

    The parent directory must exist.  See :func:`audio_bytes` for the parameters.
    """
    data = _build(fmt, tags, seconds, sample_rate, channels, bits_per_sample)
    with open(path, "wb") as fh:
        fh.write(data)
    return pathlib.Path(path)


# --------------------------------------------------------------------------
# Formats
# --------------------------------------------------------------------------

# A standard layout per channel count, in the channel order the codecs expect.
_LAYOUTS = {1: "mono", 2: "stereo", 3: "3.0", 4: "quad", 5: "5.0", 6: "5.1", 7: "6.1", 8: "7.1"}


@dataclass(frozen=True)
class _Format:
    muxer: str
    # bits_per_sample -> (encoder, sample format); key None: lossy, for any bit depth
    encoders: Mapping[int | None, tuple[str, str]]
    channels: tuple[int, ...]
    tagger: Callable[[io.BytesIO, dict[str, str]], None]
    rates: tuple[int, ...] | None = None  # None: any rate below max_rate
    max_rate: int = 1 << 20
    resample_to: int | None = None  # rate used for rates not in `rates`, instead of refusing them
    layouts: Mapping[int, str] = field(default_factory=dict)  # overrides of _LAYOUTS
    codec_options: Mapping[str, str] = field(default_factory=dict)
    muxer_options: Mapping[str, str] = field(default_factory=dict)
    size_limit: int | None = None  # largest audio payload in bytes (32-bit chunk sizes)

    def encoder(self, fmt: str, bits: int) -> tuple[str, str]:
        if None in self.encoders:
            return self.encoders[None]
        if bits not in self.encoders:
            supported = ", ".join(str(b) for b in self.encoders)
            raise ValueError(f"{fmt}: unsupported bits_per_sample {bits}; supported: {supported}")
        return self.encoders[bits]

    def check(self, fmt: str, rate: int, channels: int) -> int:
        """The rate to encode at, after checking the parameters."""
        if channels not in self.channels:
            allowed = (
                f"{self.channels[0]}-{self.channels[-1]}"
                if len(self.channels) > 2
                else " or ".join(map(str, self.channels))
            )
            raise ValueError(f"{fmt}: unsupported channel count {channels}; supported: {allowed}")
        if self.rates is not None and rate not in self.rates:
            if self.resample_to is None:
                raise ValueError(f"{fmt}: unsupported sample_rate {rate}; supported: {sorted(self.rates)}")
            return self.resample_to
        if rate >= self.max_rate:
            raise ValueError(f"{fmt}: unsupported sample_rate {rate}; it must be below {self.max_rate}")
        return rate


# --------------------------------------------------------------------------
# Encoding the templates
# --------------------------------------------------------------------------


def _build(
    fmt: str, tags: Mapping[str, str | int | None] | None, seconds: float, sample_rate: int, channels: int, bits: int
) -> bytes:
    name = fmt.lower().lstrip(".") if isinstance(fmt, str) else None
    spec = _FORMATS.get(name) if name else None
    if name is None or spec is None:
        raise ValueError(f"unknown audio format {fmt!r}; supported formats: {', '.join(FORMATS)}")
    if not isinstance(seconds, (int, float)) or not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    if not isinstance(channels, int) or channels <= 0:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    if bits not in _PCM_BITS:
        raise ValueError(f"bits_per_sample must be one of {_PCM_BITS}, got {bits!r}")
    clean = _norm_tags(tags)
    if name in ("m4a", "alac"):
        _check_mp4_numbers(clean)
    spec.encoder(name, bits)
    spec.check(name, sample_rate, channels)
    if spec.size_limit is not None and round(seconds * sample_rate) * channels * bits // 8 > spec.size_limit:
        raise ValueError(f"{name}: {seconds} s of audio do not fit a 32-bit chunk size")
    lossy = None in spec.encoders
    template = _template(name, float(seconds), sample_rate, channels, None if lossy else bits)
    if not clean:
        return template
    buf = io.BytesIO(template)
    spec.tagger(buf, clean)
    return buf.getvalue()


@functools.lru_cache(maxsize=64)
def _template(fmt: str, seconds: float, rate: int, channels: int, bits: int | None) -> bytes:
    """The untagged file: `seconds` of silence encoded by FFmpeg."""
    spec = _FORMATS[fmt]
    codec, sample_format = spec.encoder(fmt, bits or 16)
    out_rate = spec.check(fmt, rate, channels)
    layout = spec.layouts.get(channels, _LAYOUTS[channels])
    # Bit-exact: no "Lavf"/"Lavc" version tags or random Ogg serial numbers, so the same
    # arguments always give the same bytes.
    codec_options = {**spec.codec_options, "flags": "+bitexact"}
    if bits == 24 and codec in ("flac", "alac", "wavpack"):
        codec_options["bits_per_raw_sample"] = "24"  # they take 24-bit samples in 32-bit words
    buf = io.BytesIO()
    try:
        with av.open(buf, "w", format=spec.muxer, options={**spec.muxer_options, "fflags": "+bitexact"}) as container:
            stream = cast(AudioStream, container.add_stream(codec, rate=out_rate, options=codec_options))
            ctx = stream.codec_context
            ctx.layout = layout
            ctx.format = sample_format
            ctx.open()
            # The resampler converts s16 silence to the encoder's sample format (and rate, for
            # Opus) and cuts it into the frame size fixed-size encoders need.
            resampler = av.AudioResampler(
                format=sample_format, layout=layout, rate=out_rate, frame_size=ctx.frame_size or None
            )
            time_base = Fraction(1, out_rate)
            pts = 0
            for source in itertools.chain(_silence(round(seconds * rate) or 1, rate, layout), [None]):
                for frame in resampler.resample(source):
                    frame.pts, frame.time_base = pts, time_base
                    pts += frame.samples
                    container.mux(stream.encode(frame))
            container.mux(stream.encode(None))
    except av.FFmpegError as exc:
        raise ValueError(f"{fmt}: FFmpeg cannot encode {channels} channels at {rate} Hz: {exc}") from exc
    return buf.getvalue()


def _silence(total: int, rate: int, layout: str) -> Iterator[av.AudioFrame]:
    """`total` samples of packed s16 silence, in frames of at most _CHUNK samples."""
    done = 0
    while done < total:
        n = min(_CHUNK, total - done)
        frame = av.AudioFrame(format="s16", layout=layout, samples=n)
        frame.planes[0].update(bytes(frame.planes[0].buffer_size))
        frame.sample_rate = rate
        frame.pts, frame.time_base = done, Fraction(1, rate)
        yield frame
        done += n


# --------------------------------------------------------------------------
# Tags, per family, as Picard writes them
# --------------------------------------------------------------------------


def _norm_tags(tags: Mapping[str, str | int | None] | None) -> dict[str, str]:
    if not tags:
        return {}
    out = {}
    for k, v in tags.items():
        if k not in _TAG_KEY_SET:
            raise ValueError(f"unknown tag key {k!r}; expected one of: {', '.join(TAG_KEYS)}")
        if v is not None:
            out[k] = v if isinstance(v, str) else str(v)
    return out


def _pair(tags: dict[str, str], num_key: str, total_key: str) -> str | None:
    """'n/total' (or 'n') as Picard writes TRCK/TPOS, APE Track/Disc and WM/PartOfSet."""
    num = tags.get(num_key)
    if num is None:
        return None
    total = tags.get(total_key)
    return f"{num}/{total}" if total is not None else num


def _keyed_values(
    tags: dict[str, str], keys: tuple[tuple[str | tuple[str, str], str], ...]
) -> Iterator[tuple[str, str]]:
    """(tag name, value) for each of ``keys`` the tags have; a (number, total) key gives 'n/total'."""
    for key, name in keys:
        value = _pair(tags, *key) if isinstance(key, tuple) else tags.get(key)
        if value is not None:
            yield name, value


def _no_padding(info) -> int:
    # Padding would only add bytes to every one of up to 100,000 files.
    return 0


def _tags(audio):
    """The file's tag object, created if it has none yet."""
    if audio.tags is None:
        audio.add_tags()
    return audio.tags


def _save(audio, buf: io.BytesIO, **kwargs) -> None:
    buf.seek(0)  # mutagen reads the header from the current position
    audio.save(buf, **kwargs)


_ID3_TEXT = (
    ("artist", TPE1),
    ("albumartist", TPE2),
    ("album", TALB),
    ("title", TIT2),
    ("date", TDRC),
    ("genre", TCON),
    ("isrc", TSRC),
)
_ID3_TXXX = (
    ("release_mbid", "MusicBrainz Album Id"),
    ("release_group_mbid", "MusicBrainz Release Group Id"),
    ("artist_mbid", "MusicBrainz Artist Id"),
)


def _id3_frames(tags: dict[str, str]) -> list[Frame]:
    frames: list[Frame] = [cls(encoding=Encoding.UTF8, text=[tags[key]]) for key, cls in _ID3_TEXT if key in tags]
    for cls, pair in (
        (TRCK, _pair(tags, "track_number", "track_total")),
        (TPOS, _pair(tags, "disc_number", "disc_total")),
    ):
        if pair is not None:
            frames.append(cls(encoding=Encoding.UTF8, text=[pair]))
    if "recording_mbid" in tags:
        frames.append(UFID(owner="http://musicbrainz.org", data=tags["recording_mbid"].encode()))
    frames.extend(TXXX(encoding=Encoding.UTF8, desc=desc, text=[tags[key]]) for key, desc in _ID3_TXXX if key in tags)
    return frames


def _mp3_tag(buf: io.BytesIO, tags: dict[str, str]) -> None:
    # An MP3 file's ID3v2 tag simply precedes the MPEG frames: ID3.save inserts it without
    # parsing the audio, as MP3.save would after doing so.
    id3 = ID3()
    for frame in _id3_frames(tags):
        id3.add(frame)
    _save(id3, buf, v2_version=4, padding=_no_padding)


def _id3_chunk_tagger(cls) -> Callable[[io.BytesIO, dict[str, str]], None]:
    """WAVE and AIFF carry the ID3v2 tag in a chunk, which their mutagen classes write."""

    def tag(buf: io.BytesIO, tags: dict[str, str]) -> None:
        audio = cls(buf)
        id3 = _tags(audio)
        for frame in _id3_frames(tags):
            id3.add(frame)
        _save(audio, buf, v2_version=4, padding=_no_padding)

    return tag


_VORBIS_KEYS = (
    ("artist", "ARTIST"),
    ("albumartist", "ALBUMARTIST"),
    ("album", "ALBUM"),
    ("title", "TITLE"),
    ("track_number", "TRACKNUMBER"),
    ("track_total", "TRACKTOTAL"),
    ("disc_number", "DISCNUMBER"),
    ("disc_total", "DISCTOTAL"),
    ("date", "DATE"),
    ("genre", "GENRE"),
    ("isrc", "ISRC"),
    ("recording_mbid", "MUSICBRAINZ_TRACKID"),
    ("release_mbid", "MUSICBRAINZ_ALBUMID"),
    ("release_group_mbid", "MUSICBRAINZ_RELEASEGROUPID"),
    ("artist_mbid", "MUSICBRAINZ_ARTISTID"),
)


def _vorbis_tagger(cls) -> Callable[[io.BytesIO, dict[str, str]], None]:
    def tag(buf: io.BytesIO, tags: dict[str, str]) -> None:
        audio = cls(buf)
        comment = _tags(audio)
        for key, name in _VORBIS_KEYS:
            if key in tags:
                comment[name] = [tags[key]]
        _save(audio, buf, padding=_no_padding)

    return tag


_APE_KEYS = (
    ("artist", "Artist"),
    ("albumartist", "Album Artist"),
    ("album", "Album"),
    ("title", "Title"),
    (("track_number", "track_total"), "Track"),
    (("disc_number", "disc_total"), "Disc"),
    ("date", "Year"),
    ("genre", "Genre"),
    ("isrc", "ISRC"),
    ("recording_mbid", "MUSICBRAINZ_TRACKID"),
    ("release_mbid", "MUSICBRAINZ_ALBUMID"),
    ("release_group_mbid", "MUSICBRAINZ_RELEASEGROUPID"),
    ("artist_mbid", "MUSICBRAINZ_ARTISTID"),
)


def _ape_tag(buf: io.BytesIO, tags: dict[str, str]) -> None:
    audio = WavPack(buf)
    ape = _tags(audio)
    for name, value in _keyed_values(tags, _APE_KEYS):
        ape[name] = value
    _save(audio, buf)


_MP4_TEXT = (
    ("artist", "\xa9ART"),
    ("albumartist", "aART"),
    ("album", "\xa9alb"),
    ("title", "\xa9nam"),
    ("date", "\xa9day"),
    ("genre", "\xa9gen"),
)
_MP4_FREEFORM = (
    ("isrc", "ISRC"),
    ("recording_mbid", "MusicBrainz Track Id"),
    ("release_mbid", "MusicBrainz Album Id"),
    ("release_group_mbid", "MusicBrainz Release Group Id"),
    ("artist_mbid", "MusicBrainz Artist Id"),
)


def _u16(value: str) -> int:
    """Track/disc number for the 16-bit MP4 fields ('3' and '3/11' both give 3)."""
    try:
        number = int(value.split("/")[0])
    except ValueError:
        raise ValueError(f"m4a: track/disc values must be integers, got {value!r}") from None
    if not 0 <= number <= 0xFFFF:
        raise ValueError(f"m4a: track/disc values must be in 0..65535, got {value!r}")
    return number


def _check_mp4_numbers(tags: dict[str, str]) -> None:
    for key in ("track_number", "track_total", "disc_number", "disc_total"):
        if key in tags:
            _u16(tags[key])


def _mp4_tag(buf: io.BytesIO, tags: dict[str, str]) -> None:
    audio = MP4(buf)
    ilst = _tags(audio)
    for key, name in _MP4_TEXT:
        if key in tags:
            ilst[name] = [tags[key]]
    for atom, num_key, total_key in (("trkn", "track_number", "track_total"), ("disk", "disc_number", "disc_total")):
        if num_key in tags or total_key in tags:
            ilst[atom] = [(_u16(tags.get(num_key, "0")), _u16(tags.get(total_key, "0")))]
    for key, name in _MP4_FREEFORM:
        if key in tags:
            ilst["----:com.apple.iTunes:" + name] = [MP4FreeForm(tags[key].encode())]
    _save(audio, buf, padding=_no_padding)


_ASF_KEYS = (
    ("title", "Title"),
    ("artist", "Author"),
    ("albumartist", "WM/AlbumArtist"),
    ("album", "WM/AlbumTitle"),
    ("track_number", "WM/TrackNumber"),
    ("track_total", "TotalTracks"),
    (("disc_number", "disc_total"), "WM/PartOfSet"),
    ("date", "WM/Year"),
    ("genre", "WM/Genre"),
    ("isrc", "WM/ISRC"),
    ("recording_mbid", "MusicBrainz/Track Id"),
    ("release_mbid", "MusicBrainz/Album Id"),
    ("release_group_mbid", "MusicBrainz/Release Group Id"),
    ("artist_mbid", "MusicBrainz/Artist Id"),
)


def _asf_tag(buf: io.BytesIO, tags: dict[str, str]) -> None:
    audio = ASF(buf)
    attributes = _tags(audio)
    for name, value in _keyed_values(tags, _ASF_KEYS):
        # mutagen puts Title and Author in the content description object, the rest in
        # the extended content description, as Picard's files have them.
        attributes[name] = [value]
    _save(audio, buf, padding=_no_padding)


# --------------------------------------------------------------------------
# The format table
# --------------------------------------------------------------------------

_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
_MP3_RATES = (8000, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000)
_OPUS_RATES = (8000, 12000, 16000, 24000, 48000)
_WMA_RATES = (8000, 11025, 16000, 22050, 32000, 44100, 48000)
# The rates a WavPack header can name, which is all mutagen reads.
_WV_RATES = (6000, 8000, 9600, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000, 192000)

_FORMATS: dict[str, _Format] = {
    "flac": _Format(
        "flac",
        {16: ("flac", "s16"), 24: ("flac", "s32")},
        tuple(range(1, 9)),
        _vorbis_tagger(FLAC),
        muxer_options={"metadata_header_padding": "0"},
    ),
    # The muxer's own ID3v2 tag is off: mutagen writes the one tag.
    "mp3": _Format(
        "mp3",
        {None: ("libmp3lame", "s16p")},
        (1, 2),
        _mp3_tag,
        rates=_MP3_RATES,
        muxer_options={"id3v2_version": "0"},
    ),
    # FFmpeg's own Vorbis encoder is experimental and codes stereo only.
    "ogg": _Format("ogg", {None: ("vorbis", "fltp")}, (2,), _vorbis_tagger(OggVorbis), codec_options={"strict": "-2"}),
    "opus": _Format(
        "opus",
        {None: ("libopus", "s16")},
        tuple(range(1, 9)),
        _vorbis_tagger(OggOpus),
        rates=_OPUS_RATES,
        resample_to=48000,
    ),
    "wav": _Format(
        "wav",
        {8: ("pcm_u8", "u8"), 16: ("pcm_s16le", "s16"), 24: ("pcm_s24le", "s32")},
        tuple(range(1, 9)),
        _id3_chunk_tagger(WAVE),
        size_limit=_CHUNK_LIMIT,
    ),
    # 1-7: FFmpeg's AIFF demuxer corrupts memory reading the CHAN chunk its muxer writes for 7.1.
    "aiff": _Format(
        "aiff",
        {8: ("pcm_s8", "u8"), 16: ("pcm_s16be", "s16"), 24: ("pcm_s24be", "s32")},  # pcm_s8 takes unsigned input
        tuple(range(1, 8)),
        _id3_chunk_tagger(AIFF),
        size_limit=_CHUNK_LIMIT,
    ),
    # mutagen reads any multichannel WavPack as stereo, so only mono and stereo.
    "wv": _Format(
        "wv",
        {8: ("wavpack", "u8p"), 16: ("wavpack", "s16p"), 24: ("wavpack", "s32p")},
        (1, 2),
        _ape_tag,
        rates=_WV_RATES,
    ),
    "m4a": _Format("ipod", {None: ("aac", "fltp")}, tuple(range(1, 9)), _mp4_tag, rates=_AAC_RATES),
    "alac": _Format(
        "ipod",
        {16: ("alac", "s16p"), 24: ("alac", "s32p")},
        tuple(range(1, 9)),
        _mp4_tag,
        layouts={4: "4.0", 7: "6.1(back)", 8: "7.1(wide)"},  # the layouts ALAC defines
    ),
    # The rates WMA defines; at others FFmpeg's encoder can lose most of the audio.
    "wma": _Format("asf", {None: ("wmav2", "fltp")}, (1, 2), _asf_tag, rates=_WMA_RATES, codec_options={"b": "128000"}),
}
