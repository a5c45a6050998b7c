"""Small, structurally valid, tagged audio files built in pure Python.

Used by the test suite and by the scan benchmark, which may create up to
100,000 files.  No encoder is needed: every container and bitstream is
assembled byte by byte.  The audio is silence; what matters is that
``mutagen.File`` recognises each file, reports the requested duration, sample
rate and channel count, and reads back the tags the way MusicBrainz Picard
writes them for each tag family.

Everything that does not depend on the tags (encoded frames, Ogg audio pages,
container skeletons) is cached with ``functools.lru_cache`` so that writing a
tagged file only costs building the tag block and one ``write`` call.

What is real audio and what is a placeholder, per format:

* flac - STREAMINFO (with the MD5 of the silent PCM) and real frames of
  CONSTANT subframes with correct CRC-8/CRC-16.
* mp3 - a run of real MPEG Layer III frames (lowest bitrate of the MPEG
  version) whose side information is all zero, which decodes as silence.
* ogg - Ogg Vorbis with real identification, comment and a minimal setup
  header written to the Vorbis I spec (one codebook, one floor 1 with no
  partitions, one residue, one mapping, one long-block mode); every audio
  packet marks all channels unused, i.e. silence.
* opus - real OpusHead/OpusTags and 1-byte TOC-only packets (20 ms CELT
  frames of length zero, which RFC 6716 lets decoders treat as silence).
* wav / aiff - real PCM silence plus an ID3v2.4 chunk.
* wv - WavPack 4 blocks with a valid header, a bitstream that codes the block
  as a single run of zeros, and a matching CRC; APEv2 tag at the end.
* m4a - MP4 with a real sample table and raw AAC-LC frames that code every
  channel with max_sfb = 0 (silence).
* ape - Monkey's Audio 3.99 descriptor, header and seek table; each frame is
  a 'silence' special frame with the CRC of the silent PCM.
* wma - a valid ASF header (file/stream properties, header extension, content
  descriptions); the data object holds no packets, so there is no WMA audio.

The silent bitstreams follow the format specifications and the reference
decoders' sources; they have not been played back through real decoders.
"""

from __future__ import annotations

import functools
import hashlib
import math
import os
import pathlib
import struct
import threading
import zlib
from collections.abc import Mapping

from soulspot_pipeline.domain.fields import TAG_FIELDS

__all__ = ["FORMATS", "TAG_KEYS", "audio_bytes", "write_audio_file"]

FORMATS: tuple[str, ...] = ("flac", "mp3", "ogg", "opus", "wav", "aiff", "wv", "m4a", "ape", "wma")

# Every tag field the scan reads, but the album artist's MBID (not written here).
TAG_KEYS: tuple[str, ...] = tuple(f for f in TAG_FIELDS if f != "albumartist_mbid")
_TAG_KEY_SET = frozenset(TAG_KEYS)

_VENDOR = "soulspot_pipeline.devkit.synth"
_PCM_BITS = (8, 16, 24)


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
    """Return the bytes of a silent, tagged audio file in ``fmt``.

    ``bits_per_sample`` (8, 16 or 24) applies to the PCM-based formats
    (flac, wav, aiff, wv, ape); the lossy formats ignore it.
    """
    return b"".join(_build(fmt, tags, seconds, sample_rate, channels, bits_per_sample))


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

    The parent directory must exist.  See :func:`audio_bytes` for the
    parameters.
    """
    data = b"".join(_build(fmt, tags, seconds, sample_rate, channels, bits_per_sample))
    with open(path, "wb") as fh:
        fh.write(data)
    return pathlib.Path(path)


# --------------------------------------------------------------------------
# Parameter and tag normalisation
# --------------------------------------------------------------------------


def _build(fmt, tags, seconds, sample_rate, channels, bits):
    builder = _BUILDERS.get(fmt.lower().lstrip(".")) if isinstance(fmt, str) else None
    if builder is None:
        raise ValueError(f"unknown audio format {fmt!r}; supported formats: {', '.join(FORMATS)}")
    if not isinstance(seconds, (int, float)) or not seconds > 0 or math.isinf(seconds):
        raise ValueError(f"seconds must be a positive number, got {seconds!r}")
    if not isinstance(sample_rate, int) or sample_rate <= 0:
        raise ValueError(f"sample_rate must be a positive int, got {sample_rate!r}")
    if not isinstance(channels, int) or channels <= 0:
        raise ValueError(f"channels must be a positive int, got {channels!r}")
    if bits not in _PCM_BITS:
        raise ValueError(f"bits_per_sample must be one of {_PCM_BITS}, got {bits!r}")
    return builder(_norm_tags(tags), float(seconds), sample_rate, channels, bits)


def _norm_tags(tags) -> dict[str, str]:
    if not tags:
        return {}
    out = {}
    for k, v in tags.items():
        if k not in _TAG_KEY_SET:
            raise ValueError(f"unknown tag key {k!r}; expected one of: {', '.join(TAG_KEYS)}")
        if v is not None:
            out[k] = v if isinstance(v, str) else str(v)
    return out


def _pair(tags, num_key, total_key):
    """'n/total' (or 'n') as Picard writes TRCK/TPOS and APE Track/Disc."""
    num = tags.get(num_key)
    if num is None:
        return None
    total = tags.get(total_key)
    return f"{num}/{total}" if total is not None else num


def _u16(value) -> int:
    """Track/disc number for the 16-bit MP4 fields ('3' and '3/11' both give 3)."""
    try:
        number = int(str(value).split("/")[0])
    except ValueError:
        raise ValueError(f"m4a: track/disc values must be integers, got {value!r}") from None
    if not 0 <= number <= 0xFFFF:
        raise ValueError(f"m4a: track/disc values must be in 0..65535, got {value!r}")
    return number


def _check_channels(fmt, channels, allowed, allowed_text):
    if channels not in allowed:
        raise ValueError(f"{fmt}: unsupported channel count {channels}; supported: {allowed_text}")


def _total_samples(seconds, rate):
    return max(1, round(seconds * rate))


# --------------------------------------------------------------------------
# Bit writers and checksums
# --------------------------------------------------------------------------


class _LSBWriter:
    """Packs fields least-significant bit first (Vorbis, WavPack)."""

    __slots__ = ("acc", "n")

    def __init__(self):
        self.acc = 0
        self.n = 0

    def put(self, value, bits):
        self.acc |= (value & ((1 << bits) - 1)) << self.n
        self.n += bits

    def getvalue(self, min_len=0):
        return self.acc.to_bytes(max(min_len, (self.n + 7) // 8), "little")


class _MSBWriter:
    """Packs fields most-significant bit first (AAC)."""

    __slots__ = ("acc", "n")

    def __init__(self):
        self.acc = 0
        self.n = 0

    def put(self, value, bits):
        self.acc = (self.acc << bits) | (value & ((1 << bits) - 1))
        self.n += bits

    def getvalue(self):
        pad = -self.n % 8
        return (self.acc << pad).to_bytes((self.n + pad) // 8, "big")


def _crc_table(poly, width):
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for i in range(256):
        c = i << (width - 8)
        for _ in range(8):
            c = ((c << 1) ^ poly) & mask if c & top else (c << 1) & mask
        table.append(c)
    return tuple(table)


_CRC8 = _crc_table(0x07, 8)
_CRC16 = _crc_table(0x8005, 16)


def _crc8(data):
    c = 0
    for b in data:
        c = _CRC8[c ^ b]
    return c


def _crc16(data):
    c = 0
    for b in data:
        c = ((c << 8) & 0xFFFF) ^ _CRC16[(c >> 8) ^ b]
    return c


# The Ogg CRC is the unreflected CRC-32 (init 0, no final xor); zlib's crc32 is
# the reflected one, so run zlib over bit-reversed bytes and reverse back.
_BITREV = bytes(int(f"{i:08b}"[::-1], 2) for i in range(256))


def _ogg_crc(page: bytes) -> bytes:
    crc = ~zlib.crc32(page.translate(_BITREV), 0xFFFFFFFF) & 0xFFFFFFFF
    return crc.to_bytes(4, "big").translate(_BITREV)


# --------------------------------------------------------------------------
# Tag blocks
# --------------------------------------------------------------------------

_ID3_TEXT = (
    ("artist", "TPE1"),
    ("albumartist", "TPE2"),
    ("album", "TALB"),
    ("title", "TIT2"),
)
_ID3_TXXX = (
    ("release_mbid", "MusicBrainz Album Id"),
    ("release_group_mbid", "MusicBrainz Release Group Id"),
    ("artist_mbid", "MusicBrainz Artist Id"),
)


def _syncsafe(n):
    return bytes(((n >> 21) & 0x7F, (n >> 14) & 0x7F, (n >> 7) & 0x7F, n & 0x7F))


def _id3_frame(fid, payload):
    return fid + _syncsafe(len(payload)) + b"\x00\x00" + payload


def _id3_text(fid, text):
    # Encoding byte 3 = UTF-8, as ID3v2.4 allows.
    return _id3_frame(fid, b"\x03" + text.encode("utf-8"))


def _id3v24(tags) -> bytes:
    """An ID3v2.4 tag as Picard writes it, or b'' when there are no tags."""
    if not tags:
        return b""
    frames = []
    for key, fid in _ID3_TEXT:
        if key in tags:
            frames.append(_id3_text(fid.encode(), tags[key]))
    trck = _pair(tags, "track_number", "track_total")
    if trck is not None:
        frames.append(_id3_text(b"TRCK", trck))
    tpos = _pair(tags, "disc_number", "disc_total")
    if tpos is not None:
        frames.append(_id3_text(b"TPOS", tpos))
    if "date" in tags:
        frames.append(_id3_text(b"TDRC", tags["date"]))
    if "genre" in tags:
        frames.append(_id3_text(b"TCON", tags["genre"]))
    if "isrc" in tags:
        frames.append(_id3_text(b"TSRC", tags["isrc"]))
    if "recording_mbid" in tags:
        frames.append(_id3_frame(b"UFID", b"http://musicbrainz.org\x00" + tags["recording_mbid"].encode("utf-8")))
    for key, desc in _ID3_TXXX:
        if key in tags:
            frames.append(_id3_frame(b"TXXX", b"\x03" + desc.encode() + b"\x00" + tags[key].encode("utf-8")))
    body = b"".join(frames)
    return b"ID3\x04\x00\x00" + _syncsafe(len(body)) + body


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
_VENDOR_FIELD = struct.pack("<I", len(_VENDOR)) + _VENDOR.encode()


def _vorbis_comment(tags) -> bytes:
    """Vorbis comment body (vendor, count, fields) without any framing bit."""
    parts = [_VENDOR_FIELD, b""]
    pack = struct.Struct("<I").pack
    n = 0
    for key, name in _VORBIS_KEYS:
        if key in tags:
            field = (name + "=" + tags[key]).encode("utf-8")
            parts.append(pack(len(field)))
            parts.append(field)
            n += 1
    parts[1] = pack(n)
    return b"".join(parts)


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


def _apev2(tags) -> bytes:
    """An APEv2 tag with header and footer, or b'' when there are no tags."""
    if not tags:
        return b""
    items = []
    for key, name in _APE_KEYS:
        value = _pair(tags, *key) if isinstance(key, tuple) else tags.get(key)
        if value is not None:
            raw = value.encode("utf-8")
            # flags 0: UTF-8 text item
            items.append(struct.pack("<II", len(raw), 0) + name.encode("ascii") + b"\x00" + raw)
    body = b"".join(items)
    size = len(body) + 32
    header = b"APETAGEX" + struct.pack("<IIII", 2000, size, len(items), 0xA0000000) + bytes(8)
    footer = b"APETAGEX" + struct.pack("<IIII", 2000, size, len(items), 0x80000000) + bytes(8)
    return header + body + footer


# --------------------------------------------------------------------------
# FLAC
# --------------------------------------------------------------------------

_FLAC_BLOCKSIZE = 4096
_FLAC_RATE_CODES = {
    88200: 1,
    176400: 2,
    192000: 3,
    8000: 4,
    16000: 5,
    22050: 6,
    24000: 7,
    32000: 8,
    44100: 9,
    48000: 10,
    96000: 11,
}
_FLAC_SIZE_CODES = {8: 1, 16: 4, 24: 6}


def _flac_utf8(n):
    """FLAC's UTF-8-like coding of the frame number."""
    if n < 0x80:
        return bytes((n,))
    for nbytes, limit in ((2, 1 << 11), (3, 1 << 16), (4, 1 << 21), (5, 1 << 26), (6, 1 << 31), (7, 1 << 36)):
        if n < limit:
            break
    tail = []
    for _ in range(nbytes - 1):
        tail.append(0x80 | (n & 0x3F))
        n >>= 6
    lead = ((0xFF << (8 - nbytes)) & 0xFF) | n
    return bytes([lead] + tail[::-1])


def _flac_rate_code(rate):
    if rate in _FLAC_RATE_CODES:
        return _FLAC_RATE_CODES[rate], b""
    if rate % 1000 == 0 and rate // 1000 < 256:
        return 12, bytes((rate // 1000,))
    if rate < 65536:
        return 13, struct.pack(">H", rate)
    if rate % 10 == 0 and rate // 10 < 65536:
        return 14, struct.pack(">H", rate // 10)
    return 0, b""  # taken from STREAMINFO


_MD5_STEP = 1 << 20
_md5_checkpoints = [hashlib.md5()]  # MD5 state after i * _MD5_STEP zero bytes
_md5_lock = threading.Lock()
_ZERO_STEP = bytes(_MD5_STEP)


def _zero_md5(nbytes):
    """MD5 of `nbytes` zero bytes, resuming from cached checkpoints.

    Long files of differing lengths would otherwise each hash tens of MB.
    """
    whole, rest = divmod(nbytes, _MD5_STEP)
    with _md5_lock:
        while len(_md5_checkpoints) <= whole:
            state = _md5_checkpoints[-1].copy()
            state.update(_ZERO_STEP)
            _md5_checkpoints.append(state)
        state = _md5_checkpoints[whole].copy()
    state.update(_ZERO_STEP[:rest])
    return state.digest()


@functools.lru_cache(maxsize=32)
def _flac_audio(total, rate, channels, bits):
    """(STREAMINFO body, encoded frames) for `total` samples of silence."""
    rate_code, rate_extra = _flac_rate_code(rate)
    head2 = bytes(((channels - 1) << 4 | _FLAC_SIZE_CODES[bits] << 1,))
    # CONSTANT subframe: header byte 0 (type CONSTANT, no wasted bits), value 0.
    subframes = (b"\x00" + bytes(bits // 8)) * channels
    frames = []
    done = 0
    num = 0
    while done < total:
        bs = min(_FLAC_BLOCKSIZE, total - done)
        if bs == _FLAC_BLOCKSIZE:
            bs_code, bs_extra = 12, b""
        elif bs <= 256:
            bs_code, bs_extra = 6, bytes((bs - 1,))
        else:
            bs_code, bs_extra = 7, struct.pack(">H", bs - 1)
        hdr = b"\xff\xf8" + bytes((bs_code << 4 | rate_code,)) + head2 + _flac_utf8(num) + bs_extra + rate_extra
        frame = hdr + bytes((_crc8(hdr),)) + subframes
        frames.append(frame + struct.pack(">H", _crc16(frame)))
        done += bs
        num += 1
    md5 = _zero_md5(total * channels * (bits // 8))
    sizes = [len(f) for f in frames]
    streaminfo = (
        struct.pack(">HH", _FLAC_BLOCKSIZE, _FLAC_BLOCKSIZE)
        + min(sizes).to_bytes(3, "big")
        + max(sizes).to_bytes(3, "big")
        + (rate << 44 | (channels - 1) << 41 | (bits - 1) << 36 | total).to_bytes(8, "big")
        + md5
    )
    return streaminfo, b"".join(frames)


def _flac_block(block_type, body, last):
    return bytes((0x80 * last | block_type,)) + len(body).to_bytes(3, "big") + body


def _build_flac(tags, seconds, rate, channels, bits):
    _check_channels("flac", channels, range(1, 9), "1-8")
    if rate >= 1 << 20:
        raise ValueError(f"flac: sample_rate {rate} does not fit STREAMINFO")
    streaminfo, frames = _flac_audio(_total_samples(seconds, rate), rate, channels, bits)
    if not tags:
        return [b"fLaC", _flac_block(0, streaminfo, True), frames]
    return [b"fLaC", _flac_block(0, streaminfo, False), _flac_block(4, _vorbis_comment(tags), True), frames]


# --------------------------------------------------------------------------
# MP3
# --------------------------------------------------------------------------

# sample rate -> (version bits, rate index, bits/s of bitrate index 1, samples per frame, slot factor)
_MPEG_RATES = {
    44100: (3, 0, 32000, 1152, 144),
    48000: (3, 1, 32000, 1152, 144),
    32000: (3, 2, 32000, 1152, 144),
    22050: (2, 0, 8000, 576, 72),
    24000: (2, 1, 8000, 576, 72),
    16000: (2, 2, 8000, 576, 72),
    11025: (0, 0, 8000, 576, 72),
    12000: (0, 1, 8000, 576, 72),
    8000: (0, 2, 8000, 576, 72),
}


@functools.lru_cache(maxsize=32)
def _mp3_frames(total, rate, channels):
    version, rate_index, bitrate, spf, factor = _MPEG_RATES[rate]
    mode = 3 if channels == 1 else 0  # mono / plain stereo
    base = 0xFFE00000 | version << 19 | 1 << 17 | 1 << 16 | 1 << 12 | rate_index << 10 | mode << 6
    size, remainder = divmod(factor * bitrate, rate)
    plain = struct.pack(">I", base) + bytes(size - 4)
    padded = struct.pack(">I", base | 1 << 9) + bytes(size - 3)
    # At least four frames so mutagen's frame sync is confident.
    count = max(4, -(-total // spf))
    frames = []
    acc = 0
    for _ in range(count):
        # Pad the way encoders do, so the average bitrate is exact.
        acc += remainder
        if acc >= rate:
            acc -= rate
            frames.append(padded)
        else:
            frames.append(plain)
    # Zero side info (part2_3_length = 0 everywhere) decodes as silence.
    return b"".join(frames)


def _build_mp3(tags, seconds, rate, channels, bits):
    _check_channels("mp3", channels, (1, 2), "1 or 2")
    if rate not in _MPEG_RATES:
        raise ValueError(f"mp3: unsupported sample_rate {rate}; supported: {sorted(_MPEG_RATES)}")
    return [_id3v24(tags), _mp3_frames(_total_samples(seconds, rate), rate, channels)]


# --------------------------------------------------------------------------
# Ogg (Vorbis, Opus)
# --------------------------------------------------------------------------

_OGG_HEADER = struct.Struct("<4sBBqIIIB")


def _ogg_pages(packets, granules, serial, seq, *, bos=False, eos=False):
    """Lay packets out on Ogg pages; returns (pages bytes, next sequence number).

    ``granules[i]`` is the granule position after packet i; a page carries the
    granule of the last packet that ends on it, or -1 if none does.
    """
    out = []
    lacing = bytearray()
    body = []
    granule = -1
    flags = 0x02 if bos else 0

    def emit(page_flags):
        page = _OGG_HEADER.pack(b"OggS", 0, page_flags, granule, serial, seq, 0, len(lacing))
        page += bytes(lacing) + b"".join(body)
        out.append(page[:22] + _ogg_crc(page) + page[26:])

    for packet, packet_granule in zip(packets, granules):
        n = len(packet)
        pos = 0
        while True:
            if len(lacing) == 255:
                emit(flags)
                lacing, body, granule, seq = bytearray(), [], -1, seq + 1
                flags = 0x01 if pos else 0  # continued packet
            seg = min(255, n - pos)
            lacing.append(seg)
            body.append(packet[pos : pos + seg])
            pos += seg
            if seg < 255:
                break
        granule = packet_granule
    if lacing:
        emit(flags | (0x04 if eos else 0))
        seq += 1
    return b"".join(out), seq


# Vorbis ---------------------------------------------------------------------

_VORBIS_SERIAL = 0x564F5242
_VORBIS_BLOCK = 2048  # long blocks only; each packet after the first yields 1024 samples


@functools.lru_cache(maxsize=4)
def _vorbis_setup_header() -> bytes:
    w = _LSBWriter()
    # One codebook: 2 entries of length 1 (a complete Huffman tree), no lookup.
    w.put(0, 8)
    w.put(0x564342, 24)
    w.put(1, 16)  # dimensions
    w.put(2, 24)  # entries
    w.put(0, 1)  # not length-ordered
    w.put(0, 1)  # not sparse
    w.put(0, 5)  # length 1
    w.put(0, 5)  # length 1
    w.put(0, 4)  # lookup type 0
    # One time-domain placeholder (must be 0).
    w.put(0, 6)
    w.put(0, 16)
    # One floor, type 1, no partitions; X range 1024 = half the long block.
    w.put(0, 6)
    w.put(1, 16)
    w.put(0, 5)  # partitions
    w.put(1, 2)  # multiplier - 1
    w.put(10, 4)  # rangebits
    # One residue, type 0, empty range, classbook 0, one classification, no books.
    w.put(0, 6)
    w.put(0, 16)
    w.put(0, 24)  # begin
    w.put(0, 24)  # end
    w.put(31, 24)  # partition size - 1
    w.put(0, 6)  # classifications - 1
    w.put(0, 8)  # classbook
    w.put(0, 3)  # cascade low bits
    w.put(0, 1)  # no high bits
    # One mapping, type 0, one submap, no coupling.
    w.put(0, 6)
    w.put(0, 16)
    w.put(0, 1)  # submaps flag
    w.put(0, 1)  # coupling flag
    w.put(0, 2)  # reserved
    w.put(0, 8)  # time submap (unused)
    w.put(0, 8)  # floor 0
    w.put(0, 8)  # residue 0
    # One mode: long block, window/transform type 0, mapping 0.
    w.put(0, 6)
    w.put(1, 1)
    w.put(0, 16)
    w.put(0, 16)
    w.put(0, 8)
    w.put(1, 1)  # framing bit
    return b"\x05vorbis" + w.getvalue()


@functools.lru_cache(maxsize=32)
def _vorbis_ident_page(rate, channels):
    ident = b"\x01vorbis" + struct.pack("<IBIiiiBB", 0, channels, rate, 0, 0, 0, 0xB8, 1)
    page, _ = _ogg_pages([ident], [0], _VORBIS_SERIAL, 0, bos=True)
    return page


@functools.lru_cache(maxsize=32)
def _vorbis_audio_pages(total, channels, seq):
    # Audio packet: type bit 0, (no mode bits: one mode), previous/next window
    # long, then one 'floor unused' bit per channel -> silence.
    w = _LSBWriter()
    w.put(0, 1)
    w.put(1, 1)
    w.put(1, 1)
    for _ in range(channels):
        w.put(0, 1)
    packet = w.getvalue()
    half = _VORBIS_BLOCK // 2
    count = -(-total // half) + 1  # the first packet only primes the overlap
    granules = [min(total, i * half) for i in range(count)]
    granules[-1] = total  # end trimming: the last page says exactly how many samples
    pages, _ = _ogg_pages([packet] * count, granules, _VORBIS_SERIAL, seq, eos=True)
    return pages


def _build_ogg(tags, seconds, rate, channels, bits):
    _check_channels("ogg", channels, range(1, 256), "1-255")
    comment = b"\x03vorbis" + _vorbis_comment(tags) + b"\x01"
    page0 = _vorbis_ident_page(rate, channels)
    headers, seq = _ogg_pages([comment, _vorbis_setup_header()], [0, 0], _VORBIS_SERIAL, 1)
    return [page0, headers, _vorbis_audio_pages(_total_samples(seconds, rate), channels, seq)]


# Opus -----------------------------------------------------------------------

_OPUS_SERIAL = 0x4F505553
_OPUS_PRESKIP = 312
_OPUS_FRAME = 960  # 20 ms at 48 kHz
# RFC 7845 section 5.1.1.2: Vorbis channel order for mapping family 1.
_OPUS_FAMILY1 = {
    3: (2, 1, (0, 2, 1)),
    4: (2, 2, (0, 1, 2, 3)),
    5: (3, 2, (0, 4, 1, 2, 3)),
    6: (4, 2, (0, 4, 1, 2, 3, 5)),
    7: (4, 3, (0, 4, 1, 2, 3, 5, 6)),
    8: (5, 3, (0, 6, 1, 2, 3, 4, 5, 7)),
}


def _opus_layout(channels):
    if channels <= 2:
        return 0, 1, channels - 1, ()
    streams, coupled, mapping = _OPUS_FAMILY1[channels]
    return 1, streams, coupled, mapping


@functools.lru_cache(maxsize=32)
def _opus_head_page(rate, channels):
    family, streams, coupled, mapping = _opus_layout(channels)
    head = b"OpusHead" + struct.pack("<BBHIhB", 1, channels, _OPUS_PRESKIP, rate, 0, family)
    if family:
        head += bytes((streams, coupled)) + bytes(mapping)
    page, _ = _ogg_pages([head], [0], _OPUS_SERIAL, 0, bos=True)
    return page


@functools.lru_cache(maxsize=32)
def _opus_audio_pages(total48, channels, seq):
    _, streams, coupled, _ = _opus_layout(channels)
    # TOC config 31 = CELT-only fullband 20 ms, code 0, frame of length zero.
    tocs = [0xF8 | (0x04 if i < coupled else 0) for i in range(streams)]
    # Multistream packets: every stream but the last is self-delimited
    # (TOC plus a zero frame-length byte).
    packet = b"".join(bytes((t, 0)) for t in tocs[:-1]) + bytes((tocs[-1],))
    needed = _OPUS_PRESKIP + total48
    count = -(-needed // _OPUS_FRAME)
    granules = [min(needed, (i + 1) * _OPUS_FRAME) for i in range(count)]
    pages, _ = _ogg_pages([packet] * count, granules, _OPUS_SERIAL, seq, eos=True)
    return pages


def _build_opus(tags, seconds, rate, channels, bits):
    # Opus always decodes at 48 kHz; `sample_rate` is kept as the input rate in OpusHead.
    _check_channels("opus", channels, range(1, 9), "1-8")
    comment = b"OpusTags" + _vorbis_comment(tags)
    page0 = _opus_head_page(rate, channels)
    headers, seq = _ogg_pages([comment], [0], _OPUS_SERIAL, 1)
    return [page0, headers, _opus_audio_pages(_total_samples(seconds, 48000), channels, seq)]


# --------------------------------------------------------------------------
# WAV / AIFF
# --------------------------------------------------------------------------


def _pcm_silence(nbytes, unsigned8):
    return b"\x80" * nbytes if unsigned8 else bytes(nbytes)


def _riff_chunk(cid, body):
    return [cid + struct.pack("<I", len(body)), body, b"\x00" if len(body) & 1 else b""]


def _pcm_size(fmt, total, channels, bits):
    size = total * channels * bits // 8
    if size > 0xFFFF0000:
        raise ValueError(f"{fmt}: {size} bytes of PCM do not fit a 32-bit chunk size")
    return size


def _build_wav(tags, seconds, rate, channels, bits):
    total = _total_samples(seconds, rate)
    align = channels * bits // 8
    _pcm_size("wav", total, channels, bits)
    if channels > 2 or bits > 16:
        # WAVE_FORMAT_EXTENSIBLE, as recommended for >2 channels or >16 bits.
        mask = (1 << channels) - 1 if channels <= 18 else 0
        fmt = struct.pack("<HHIIHHHHI", 0xFFFE, channels, rate, rate * align, align, bits, 22, bits, mask)
        fmt += bytes.fromhex("0100000000001000800000aa00389b71")  # KSDATAFORMAT_SUBTYPE_PCM
    else:
        fmt = struct.pack("<HHIIHH", 1, channels, rate, rate * align, align, bits)
    parts = _riff_chunk(b"fmt ", fmt) + _riff_chunk(b"data", _pcm_silence(total * align, bits == 8))
    id3 = _id3v24(tags)
    if id3:
        parts += _riff_chunk(b"id3 ", id3)
    size = 4 + sum(len(p) for p in parts)
    return [b"RIFF" + struct.pack("<I", size) + b"WAVE"] + parts


def _ieee_extended(value):
    """80-bit IEEE 754 extended float of a positive integer (AIFF sample rate)."""
    exponent = value.bit_length() - 1
    return struct.pack(">HQ", 16383 + exponent, value << (63 - exponent))


def _iff_chunk(cid, body):
    return [cid + struct.pack(">I", len(body)), body, b"\x00" if len(body) & 1 else b""]


def _build_aiff(tags, seconds, rate, channels, bits):
    total = _total_samples(seconds, rate)
    comm = struct.pack(">hIh", channels, total, bits) + _ieee_extended(rate)
    ssnd = struct.pack(">II", 0, 0) + bytes(_pcm_size("aiff", total, channels, bits))
    parts = _iff_chunk(b"COMM", comm) + _iff_chunk(b"SSND", ssnd)
    id3 = _id3v24(tags)
    if id3:
        parts += _iff_chunk(b"ID3 ", id3)
    size = 4 + sum(len(p) for p in parts)
    return [b"FORM" + struct.pack(">I", size) + b"AIFF"] + parts


# --------------------------------------------------------------------------
# WavPack
# --------------------------------------------------------------------------

_WV_RATES = (6000, 8000, 9600, 11025, 12000, 16000, 22050, 24000, 32000, 44100, 48000, 64000, 88200, 96000, 192000)
_WV_MONO, _WV_INITIAL, _WV_FINAL = 0x4, 0x800, 0x1000
_WV_ID_BITSTREAM = 0x0A


def _wv_zero_run(count):
    """Entropy-coded bitstream holding `count` zero samples.

    With all medians at zero the decoder starts in run mode and reads a run
    length as: n one-bits, a zero bit, then the low n-1 bits of the length
    (n = bit length), least significant first.
    """
    w = _LSBWriter()
    nbits = count.bit_length()
    w.put((1 << nbits) - 1, nbits)
    w.put(0, 1)
    if nbits >= 2:
        w.put(count & ((1 << (nbits - 1)) - 1), nbits - 1)
    data = w.getvalue(2)
    return data + (b"\x00" if len(data) & 1 else b"")


@functools.lru_cache(maxsize=32)
def _wv_blocks(total, rate, channels, bits):
    flags = (bits // 8 - 1) | _WV_INITIAL | _WV_FINAL | _WV_RATES.index(rate) << 23
    if channels == 1:
        flags |= _WV_MONO
    per_block = max(1, rate // 2)
    # Block CRC over decoded samples: crc*3+s per mono sample, crc*9+3L+R per stereo pair.
    factor = 3 if channels == 1 else 9
    blocks = []
    index = 0
    while index < total:
        n = min(per_block, total - index)
        stream = _wv_zero_run(n * channels)
        sub = bytes((_WV_ID_BITSTREAM, len(stream) // 2)) + stream
        crc = 0xFFFFFFFF * pow(factor, n, 1 << 32) & 0xFFFFFFFF
        header = b"wvpk" + struct.pack("<IHBBIIIII", 24 + len(sub), 0x410, 0, 0, total, index, n, flags, crc)
        blocks.append(header + sub)
        index += n
    return b"".join(blocks)


def _build_wv(tags, seconds, rate, channels, bits):
    _check_channels("wv", channels, (1, 2), "1 or 2")
    if rate not in _WV_RATES:
        raise ValueError(f"wv: unsupported sample_rate {rate}; supported: {list(_WV_RATES)}")
    return [_wv_blocks(_total_samples(seconds, rate), rate, channels, bits), _apev2(tags)]


# --------------------------------------------------------------------------
# Monkey's Audio
# --------------------------------------------------------------------------

_APE_VERSION = 3990
_APE_BLOCKS_PER_FRAME = 73728 * 4
_APE_FRAME_BYTES = 16


@functools.lru_cache(maxsize=32)
def _ape_body(total, rate, channels, bits):
    frames = -(-total // _APE_BLOCKS_PER_FRAME)
    final_blocks = total - (frames - 1) * _APE_BLOCKS_PER_FRAME
    align = channels * bits // 8
    # 8-bit: MAC_FORMAT_FLAG_8_BIT; 24-bit: MAC_FORMAT_FLAG_24_BIT; always
    # MAC_FORMAT_FLAG_CRC and MAC_FORMAT_FLAG_CREATE_WAV_HEADER (no stored WAV header).
    flags = 2 | 32 | (1 if bits == 8 else 0) | (8 if bits == 24 else 0)
    seek_bytes = 4 * frames
    first = 52 + 24 + seek_bytes
    descriptor = (
        b"MAC "
        + struct.pack("<HHIIIIIII", _APE_VERSION, 0, 52, 24, seek_bytes, 0, frames * _APE_FRAME_BYTES, 0, 0)
        + bytes(16)
    )  # file MD5 left zero (not computed)
    header = struct.pack("<HHIIIHHI", 2000, flags, _APE_BLOCKS_PER_FRAME, final_blocks, frames, bits, channels, rate)
    seek = struct.pack(f"<{frames}I", *(first + i * _APE_FRAME_BYTES for i in range(frames)))
    # Silence special frame: stored CRC (CRC-32 of the PCM >> 1) with the top
    # bit set announces a special-codes word; 1|2 = left and right silent.
    special = 3 if channels == 2 else 1
    crcs = {}
    out = []
    for i in range(frames):
        blocks = final_blocks if i == frames - 1 else _APE_BLOCKS_PER_FRAME
        if blocks not in crcs:
            crcs[blocks] = zlib.crc32(_pcm_silence(blocks * align, bits == 8)) >> 1
        out.append(struct.pack("<II", crcs[blocks] | 0x80000000, special) + bytes(_APE_FRAME_BYTES - 8))
    return descriptor + header + seek + b"".join(out)


def _build_ape(tags, seconds, rate, channels, bits):
    _check_channels("ape", channels, (1, 2), "1 or 2")
    return [_ape_body(_total_samples(seconds, rate), rate, channels, bits), _apev2(tags)]


# --------------------------------------------------------------------------
# MP4 (AAC-LC)
# --------------------------------------------------------------------------

_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000, 7350)
# channel count -> (channelConfiguration, syntax elements: S=SCE, C=CPE, L=LFE)
_AAC_LAYOUTS = {1: (1, "S"), 2: (2, "C"), 3: (3, "SC"), 4: (4, "SCS"), 5: (5, "SCC"), 6: (6, "SCCL"), 8: (7, "SCCCL")}
_AAC_FRAME = 1024


def _atom(name, *payload):
    body = b"".join(payload)
    return struct.pack(">I", 8 + len(body)) + name + body


def _full_atom(name, version_flags, *payload):
    return _atom(name, struct.pack(">I", version_flags), *payload)


@functools.lru_cache(maxsize=16)
def _aac_silent_frame(channels):
    def ics(w, with_info):
        w.put(100, 8)  # global_gain (irrelevant without spectral data)
        if with_info:
            w.put(0, 1)  # ics_reserved_bit
            w.put(0, 2)  # ONLY_LONG_SEQUENCE
            w.put(0, 1)  # window_shape
            w.put(0, 6)  # max_sfb = 0: no sections, scale factors or spectrum
            w.put(0, 1)  # predictor_data_present
        w.put(0, 3)  # pulse, tns, gain control absent

    w = _MSBWriter()
    instance = {"S": 0, "C": 0, "L": 0}
    for element in _AAC_LAYOUTS[channels][1]:
        w.put({"S": 0, "C": 1, "L": 3}[element], 3)
        w.put(instance[element], 4)
        instance[element] += 1
        if element == "C":
            w.put(0, 1)  # common_window = 0
            ics(w, True)
            ics(w, True)
        else:
            ics(w, True)
    w.put(7, 3)  # ID_END
    return w.getvalue()


def _esds(rate, channels, bitrate):
    w = _MSBWriter()
    w.put(2, 5)  # AAC LC
    if rate in _AAC_RATES:
        w.put(_AAC_RATES.index(rate), 4)
    else:
        w.put(15, 4)
        w.put(rate, 24)
    w.put(_AAC_LAYOUTS[channels][0], 4)
    w.put(0, 3)  # frameLengthFlag, dependsOnCoreCoder, extensionFlag
    asc = w.getvalue()
    dsi = b"\x05" + bytes((len(asc),)) + asc
    dcd_body = b"\x40\x15" + (6144 * channels).to_bytes(3, "big") + struct.pack(">II", bitrate, bitrate) + dsi
    dcd = b"\x04" + bytes((len(dcd_body),)) + dcd_body
    es_body = struct.pack(">HB", 1, 0) + dcd + b"\x06\x01\x02"
    return _full_atom(b"esds", 0, b"\x03", bytes((len(es_body),)), es_body)


_MATRIX = struct.pack(">9I", 0x10000, 0, 0, 0, 0x10000, 0, 0, 0, 0x40000000)
_FTYP = _atom(b"ftyp", b"M4A ", struct.pack(">I", 0x200), b"M4A mp42isom\x00\x00\x00\x00")


@functools.lru_cache(maxsize=32)
def _m4a_skeleton(total, rate, channels):
    """(ftyp+mdat bytes, moov children without udta) for `total` samples."""
    frame = _aac_silent_frame(channels)
    count = -(-total // _AAC_FRAME)
    duration = count * _AAC_FRAME
    movie_duration = round(duration * 1000 / rate)
    bitrate = round(len(frame) * 8 * rate / _AAC_FRAME)
    mdat = _atom(b"mdat", frame * count)
    data_offset = len(_FTYP) + 8
    mp4a = _atom(
        b"mp4a",
        bytes(6),
        struct.pack(">H", 1),  # reserved, data_reference_index
        bytes(8),
        struct.pack(">HHHH", channels, 16, 0, 0),
        struct.pack(">I", rate << 16 if rate < 65536 else 0),
        _esds(rate, channels, bitrate),
    )
    stbl = _atom(
        b"stbl",
        _full_atom(b"stsd", 0, struct.pack(">I", 1), mp4a),
        _full_atom(b"stts", 0, struct.pack(">III", 1, count, _AAC_FRAME)),
        _full_atom(b"stsc", 0, struct.pack(">IIII", 1, 1, count, 1)),
        _full_atom(b"stsz", 0, struct.pack(">II", len(frame), count)),
        _full_atom(b"stco", 0, struct.pack(">II", 1, data_offset)),
    )
    minf = _atom(
        b"minf",
        _full_atom(b"smhd", 0, bytes(4)),
        _atom(b"dinf", _full_atom(b"dref", 0, struct.pack(">I", 1), _full_atom(b"url ", 1))),
        stbl,
    )
    mdia = _atom(
        b"mdia",
        _full_atom(b"mdhd", 0, struct.pack(">IIIIHH", 0, 0, rate, duration, 0x55C4, 0)),  # language 'und'
        _full_atom(b"hdlr", 0, struct.pack(">I", 0), b"soun", bytes(12), b"SoundHandler\x00"),
        minf,
    )
    tkhd = _full_atom(
        b"tkhd",
        0x7,
        struct.pack(">IIIII", 0, 0, 1, 0, movie_duration),
        bytes(8),
        struct.pack(">hhhH", 0, 0, 0x0100, 0),
        _MATRIX,
        struct.pack(">II", 0, 0),
    )
    mvhd = _full_atom(
        b"mvhd",
        0,
        struct.pack(">IIIIIH", 0, 0, 1000, movie_duration, 0x10000, 0x0100),
        bytes(10),
        _MATRIX,
        bytes(24),
        struct.pack(">I", 2),
    )
    return _FTYP + mdat, mvhd + _atom(b"trak", tkhd, mdia)


_MP4_TEXT = (("artist", b"\xa9ART"), ("albumartist", b"aART"), ("album", b"\xa9alb"), ("title", b"\xa9nam"))
_MP4_FREEFORM = (
    ("isrc", "ISRC"),
    ("recording_mbid", "MusicBrainz Track Id"),
    ("release_mbid", "MusicBrainz Album Id"),
    ("release_group_mbid", "MusicBrainz Release Group Id"),
    ("artist_mbid", "MusicBrainz Artist Id"),
)
_MP4_META_HDLR = _full_atom(b"hdlr", 0, bytes(4), b"mdir", b"appl", bytes(8), b"\x00")


def _mp4_text(name, value):
    return _atom(name, _atom(b"data", struct.pack(">II", 1, 0), value.encode("utf-8")))  # type 1: UTF-8


def _mp4_udta(tags) -> bytes:
    items = []
    for key, name in _MP4_TEXT:
        if key in tags:
            items.append(_mp4_text(name, tags[key]))
    if "track_number" in tags or "track_total" in tags:
        pair = struct.pack(">HHHH", 0, _u16(tags.get("track_number", 0)), _u16(tags.get("track_total", 0)), 0)
        items.append(_atom(b"trkn", _atom(b"data", struct.pack(">II", 0, 0), pair)))
    if "disc_number" in tags or "disc_total" in tags:
        pair = struct.pack(">HHH", 0, _u16(tags.get("disc_number", 0)), _u16(tags.get("disc_total", 0)))
        items.append(_atom(b"disk", _atom(b"data", struct.pack(">II", 0, 0), pair)))
    if "date" in tags:
        items.append(_mp4_text(b"\xa9day", tags["date"]))
    if "genre" in tags:
        items.append(_mp4_text(b"\xa9gen", tags["genre"]))
    for key, name in _MP4_FREEFORM:
        if key in tags:
            items.append(
                _atom(
                    b"----",
                    _full_atom(b"mean", 0, b"com.apple.iTunes"),
                    _full_atom(b"name", 0, name.encode("utf-8")),
                    _atom(b"data", struct.pack(">II", 1, 0), tags[key].encode("utf-8")),
                )
            )
    return _atom(b"udta", _full_atom(b"meta", 0, _MP4_META_HDLR, _atom(b"ilst", *items)))


def _build_m4a(tags, seconds, rate, channels, bits):
    _check_channels("m4a", channels, _AAC_LAYOUTS, "1-6 or 8")
    if rate >= 1 << 24:
        raise ValueError(f"m4a: unsupported sample_rate {rate}")
    head, moov_body = _m4a_skeleton(_total_samples(seconds, rate), rate, channels)
    # mdat precedes moov, so chunk offsets do not depend on the tag size.
    udta = _mp4_udta(tags) if tags else b""
    return [head, struct.pack(">I", 8 + len(moov_body) + len(udta)), b"moov", moov_body, udta]


# --------------------------------------------------------------------------
# ASF (WMA)
# --------------------------------------------------------------------------


def _guid(text):
    """Serialized (mixed-endian) form of a GUID string."""
    a, b, c, d, e = text.split("-")
    return struct.pack("<IHH", int(a, 16), int(b, 16), int(c, 16)) + bytes.fromhex(d + e)


_ASF_HEADER = _guid("75B22630-668E-11CF-A6D9-00AA0062CE6C")
_ASF_FILE_PROPERTIES = _guid("8CABDCA1-A947-11CF-8EE4-00C00C205365")
_ASF_STREAM_PROPERTIES = _guid("B7DC0791-A9B7-11CF-8EE6-00C00C205365")
_ASF_HEADER_EXTENSION = _guid("5FBF03B5-A92E-11CF-8EE3-00C00C205365")
_ASF_RESERVED_1 = _guid("ABD3D211-A9BA-11CF-8EE6-00C00C205365")
_ASF_CONTENT_DESCRIPTION = _guid("75B22633-668E-11CF-A6D9-00AA0062CE6C")
_ASF_EXT_CONTENT_DESCRIPTION = _guid("D2D0A440-E307-11D2-97F0-00A0C95EA850")
_ASF_DATA = _guid("75B22636-668E-11CF-A6D9-00AA0062CE6C")
_ASF_AUDIO_MEDIA = _guid("F8699E40-5B4D-11CF-A8FD-00805F5C442B")
_ASF_NO_ERROR_CORRECTION = _guid("20FB5700-5B55-11CF-A8FD-00805F5C442B")
_ASF_FILE_ID = _guid("534F554C-5350-4F54-A000-53594E544831")
_ASF_PACKET_SIZE = 3200
_ASF_BYTES_PER_SEC = 16000  # nominal 128 kbit/s

_ASF_EXTENDED = (
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


def _asf_object(guid, *payload):
    body = b"".join(payload)
    return guid + struct.pack("<Q", 24 + len(body)) + body


def _utf16z(text):
    raw = text.encode("utf-16-le") + b"\x00\x00"
    if len(raw) > 0xFFFF:
        raise ValueError("wma: tag value too long for an ASF content description")
    return raw


@functools.lru_cache(maxsize=32)
def _asf_stream_properties(rate, channels):
    # WAVEFORMATEX for WMA v2 (0x0161) with its 10-byte codec data.
    wfx = struct.pack("<HHIIHHH", 0x0161, channels, rate, _ASF_BYTES_PER_SEC, 2973, 16, 10)
    wfx += struct.pack("<IHI", 2048, 0x000F, 0)
    return _asf_object(
        _ASF_STREAM_PROPERTIES,
        _ASF_AUDIO_MEDIA,
        _ASF_NO_ERROR_CORRECTION,
        struct.pack("<QIIHI", 0, len(wfx), 0, 1, 0),
        wfx,
    )


_ASF_HEADER_EXT_OBJECT = _asf_object(_ASF_HEADER_EXTENSION, _ASF_RESERVED_1, struct.pack("<HI", 6, 0))
# Data object without packets: ASF framing only, there is no WMA bitstream.
_ASF_DATA_OBJECT = _asf_object(_ASF_DATA, _ASF_FILE_ID, struct.pack("<QH", 0, 0x0101))


def _build_wma(tags, seconds, rate, channels, bits):
    objects = [_asf_stream_properties(rate, channels), _ASF_HEADER_EXT_OBJECT]
    if "title" in tags or "artist" in tags:
        texts = [_utf16z(tags[k]) if k in tags else b"" for k in ("title", "artist")] + [b"", b"", b""]
        objects.append(_asf_object(_ASF_CONTENT_DESCRIPTION, struct.pack("<5H", *map(len, texts)), *texts))
    attrs = []
    for key, name in _ASF_EXTENDED:
        value = _pair(tags, *key) if isinstance(key, tuple) else tags.get(key)
        if value is not None:
            raw_name, raw_value = _utf16z(name), _utf16z(value)
            # value type 0: UTF-16LE string
            attrs.append(
                struct.pack("<H", len(raw_name)) + raw_name + struct.pack("<HH", 0, len(raw_value)) + raw_value
            )
    if attrs:
        objects.append(_asf_object(_ASF_EXT_CONTENT_DESCRIPTION, struct.pack("<H", len(attrs)), *attrs))
    header_size = 30 + 104 + sum(len(o) for o in objects)
    file_size = header_size + len(_ASF_DATA_OBJECT)
    play_duration = round(seconds * 10_000_000)
    file_properties = _asf_object(
        _ASF_FILE_PROPERTIES,
        _ASF_FILE_ID,
        # file size, creation date, data packets, play/send duration (100 ns), preroll (ms)
        struct.pack("<QQQQQQ", file_size, 0, 0, play_duration, play_duration, 0),
        # flags (not broadcast, not seekable: there are no packets), fixed packet size, max bitrate
        struct.pack("<IIII", 0, _ASF_PACKET_SIZE, _ASF_PACKET_SIZE, _ASF_BYTES_PER_SEC * 8),
    )
    header = _ASF_HEADER + struct.pack("<QIBB", header_size, len(objects) + 1, 1, 2)
    return [header, file_properties, *objects, _ASF_DATA_OBJECT]


_BUILDERS = {
    "flac": _build_flac,
    "mp3": _build_mp3,
    "ogg": _build_ogg,
    "opus": _build_opus,
    "wav": _build_wav,
    "aiff": _build_aiff,
    "wv": _build_wv,
    "m4a": _build_m4a,
    "ape": _build_ape,
    "wma": _build_wma,
}
