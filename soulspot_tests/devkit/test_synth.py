"""soulspot_pipeline.devkit.synth: every format is real encoder output that FFmpeg decodes cleanly and mutagen
reads with the right stream info and Picard-style tags."""

from __future__ import annotations

import io

import av
import av.logging
import mutagen
import pytest
from mutagen.aiff import AIFF
from mutagen.apev2 import APEv2File
from mutagen.asf import ASF
from mutagen.flac import FLAC
from mutagen.mp3 import MP3
from mutagen.mp4 import MP4
from mutagen.ogg import OggPage
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE
from mutagen.wavpack import WavPack

from soulspot_pipeline.devkit import synth

TAGS = {
    "artist": "Björk",
    "albumartist": "Sigur Rós",
    "album": "Ágætis byrjun",
    "title": "\"Hoppípolla\" (It's a 'Live' Take)",
    "track_number": 3,
    "track_total": 11,
    "disc_number": "1",
    "disc_total": 2,
    "date": "1999-06-12",
    "genre": "Post-rock",
    "isrc": "ISAB19900001",
    "recording_mbid": "0f4f0d6e-3b52-4b6b-9a35-3a4a8f1b2c01",
    "release_mbid": "1a2b3c4d-0000-4000-8000-000000000002",
    "release_group_mbid": "2b3c4d5e-0000-4000-8000-000000000003",
    "artist_mbid": "3c4d5e6f-0000-4000-8000-000000000004",
}

CLASSES = {
    "flac": FLAC,
    "mp3": MP3,
    "ogg": OggVorbis,
    "opus": OggOpus,
    "wav": WAVE,
    "aiff": AIFF,
    "wv": WavPack,
    "m4a": MP4,
    "alac": MP4,
    "wma": ASF,
}
# What FFmpeg's decoder for each format is called.
DECODERS = {
    "flac": "flac",
    "mp3": "mp3float",
    "ogg": "vorbis",
    "opus": "opus",
    "wav": "pcm_s16le",
    "aiff": "pcm_s16be",
    "wv": "wavpack",
    "m4a": "aac",
    "alac": "alac",
    "wma": "wmav2",
}
LOSSLESS16 = {"flac", "wav", "aiff", "wv", "alac"}
STEREO_ONLY = {"ogg"}  # FFmpeg's Vorbis encoder


def test_formats_cover_the_required_set():
    assert set(synth.FORMATS) == set(CLASSES)
    assert "ape" not in synth.FORMATS  # FFmpeg has no Monkey's Audio encoder


# --------------------------------------------------------------------------
# Decoding through FFmpeg
# --------------------------------------------------------------------------


@pytest.fixture
def ffmpeg_logs():
    """FFmpeg's warnings and errors, every one of them, for the duration of a test."""
    level, skip = av.logging.get_level(), av.logging.get_skip_repeated()
    av.logging.set_level(av.logging.WARNING)
    av.logging.set_skip_repeated(False)
    try:
        yield
    finally:
        av.logging.set_level(level)
        av.logging.set_skip_repeated(skip)


def decode(data: bytes) -> tuple[float, int, int, str, list[str]]:
    """(decoded seconds, sample rate, channels, decoder, problems) after decoding every frame.

    The decoder checks CRCs and bitstream conformance and fails on the first error; whatever
    FFmpeg logs at warning level or worse is a problem too.
    """
    problems: list[str] = []
    samples = rate = channels = 0
    codec = ""
    with av.logging.Capture() as logs:
        try:
            with av.open(io.BytesIO(data), mode="r") as container:
                stream = container.streams.audio[0]
                stream.codec_context.options = {"err_detect": "crccheck+bitstream+buffer+explode"}
                codec = stream.codec_context.name
                for frame in container.decode(stream):
                    samples += frame.samples
                    rate, channels = frame.sample_rate, frame.layout.nb_channels
        except av.FFmpegError as exc:
            problems.append(f"{type(exc).__name__}: {exc}")
    problems.extend(f"{name}: {message.strip()}" for _level, name, message in logs)
    return (samples / rate if rate else 0.0), rate, channels, codec, problems


CHANNEL_VARIANTS = [
    pytest.param(fmt, channels, id=f"{fmt}-{channels}ch")
    for fmt in synth.FORMATS
    for channels in (1, 2)
    if not (fmt in STEREO_ONLY and channels == 1)
]


@pytest.mark.parametrize(("fmt", "channels"), CHANNEL_VARIANTS)
def test_every_format_decodes_through_ffmpeg_without_an_error(ffmpeg_logs, fmt, channels):
    data = synth.audio_bytes(fmt, TAGS, seconds=1.5, channels=channels)

    seconds, rate, decoded_channels, codec, problems = decode(data)
    assert problems == []
    assert codec == DECODERS[fmt]
    # Lossy codecs round to whole frames (AAC adds its priming, WMA drops its last frame).
    assert seconds == pytest.approx(1.5, abs=0.05)
    assert rate == (48000 if fmt == "opus" else 44100)
    assert decoded_channels == channels

    f = mutagen.File(io.BytesIO(data))
    assert type(f) is CLASSES[fmt]
    assert f.info.length == pytest.approx(1.5, abs=0.1)
    assert f.info.channels == channels
    if fmt != "opus":  # mutagen gives Opus no sample rate: it always decodes at 48 kHz
        assert f.info.sample_rate == 44100
    check_tags(fmt, f)


def test_the_decode_check_catches_a_damaged_file(ffmpeg_logs):
    data = bytearray(synth.audio_bytes("flac", TAGS, seconds=1.5))
    middle = len(data) - 100  # inside the audio frames, after the metadata
    data[middle : middle + 4] = bytes(b ^ 0x5A for b in data[middle : middle + 4])
    assert decode(bytes(data))[-1] != []


# --------------------------------------------------------------------------
# mutagen: stream info and tags
# --------------------------------------------------------------------------


def _check_id3(tags):
    text = {"TPE1": "artist", "TPE2": "albumartist", "TALB": "album", "TIT2": "title", "TCON": "genre", "TSRC": "isrc"}
    for frame, key in text.items():
        assert tags[frame].text[0] == TAGS[key]
        assert tags[frame].encoding == 3  # UTF-8
    assert tags["TRCK"].text[0] == "3/11"
    assert tags["TPOS"].text[0] == "1/2"
    assert str(tags["TDRC"].text[0]) == "1999-06-12"
    assert tags["UFID:http://musicbrainz.org"].data == TAGS["recording_mbid"].encode()
    assert tags["TXXX:MusicBrainz Album Id"].text[0] == TAGS["release_mbid"]
    assert tags["TXXX:MusicBrainz Release Group Id"].text[0] == TAGS["release_group_mbid"]
    assert tags["TXXX:MusicBrainz Artist Id"].text[0] == TAGS["artist_mbid"]
    assert tags.version[:2] == (2, 4)
    assert len(tags) == 13


def _check_vorbis(f):
    expected = {
        "ARTIST": "artist",
        "ALBUMARTIST": "albumartist",
        "ALBUM": "album",
        "TITLE": "title",
        "TRACKNUMBER": "track_number",
        "TRACKTOTAL": "track_total",
        "DISCNUMBER": "disc_number",
        "DISCTOTAL": "disc_total",
        "DATE": "date",
        "GENRE": "genre",
        "ISRC": "isrc",
        "MUSICBRAINZ_TRACKID": "recording_mbid",
        "MUSICBRAINZ_ALBUMID": "release_mbid",
        "MUSICBRAINZ_RELEASEGROUPID": "release_group_mbid",
        "MUSICBRAINZ_ARTISTID": "artist_mbid",
    }
    for field, key in expected.items():
        assert f[field] == [str(TAGS[key])], field
    assert len(f.tags) == len(expected)


def _check_ape(tags):
    expected = {
        "Artist": TAGS["artist"],
        "Album Artist": TAGS["albumartist"],
        "Album": TAGS["album"],
        "Title": TAGS["title"],
        "Track": "3/11",
        "Disc": "1/2",
        "Year": TAGS["date"],
        "Genre": TAGS["genre"],
        "ISRC": TAGS["isrc"],
        "MUSICBRAINZ_TRACKID": TAGS["recording_mbid"],
        "MUSICBRAINZ_ALBUMID": TAGS["release_mbid"],
        "MUSICBRAINZ_RELEASEGROUPID": TAGS["release_group_mbid"],
        "MUSICBRAINZ_ARTISTID": TAGS["artist_mbid"],
    }
    for key, value in expected.items():
        assert str(tags[key]) == value, key
    assert len(tags) == len(expected)


def _check_mp4(tags):
    assert tags["\xa9ART"] == [TAGS["artist"]]
    assert tags["aART"] == [TAGS["albumartist"]]
    assert tags["\xa9alb"] == [TAGS["album"]]
    assert tags["\xa9nam"] == [TAGS["title"]]
    assert tags["trkn"] == [(3, 11)]
    assert tags["disk"] == [(1, 2)]
    assert tags["\xa9day"] == [TAGS["date"]]
    assert tags["\xa9gen"] == [TAGS["genre"]]
    freeform = {
        "ISRC": "isrc",
        "MusicBrainz Track Id": "recording_mbid",
        "MusicBrainz Album Id": "release_mbid",
        "MusicBrainz Release Group Id": "release_group_mbid",
        "MusicBrainz Artist Id": "artist_mbid",
    }
    for name, key in freeform.items():
        assert tags["----:com.apple.iTunes:" + name] == [TAGS[key].encode()], name
    assert len(tags) == 13


def _check_asf(tags):
    expected = {
        "Author": TAGS["artist"],
        "WM/AlbumArtist": TAGS["albumartist"],
        "WM/AlbumTitle": TAGS["album"],
        "Title": TAGS["title"],
        "WM/TrackNumber": "3",
        "TotalTracks": "11",
        "WM/PartOfSet": "1/2",
        "WM/Year": TAGS["date"],
        "WM/Genre": TAGS["genre"],
        "WM/ISRC": TAGS["isrc"],
        "MusicBrainz/Track Id": TAGS["recording_mbid"],
        "MusicBrainz/Album Id": TAGS["release_mbid"],
        "MusicBrainz/Release Group Id": TAGS["release_group_mbid"],
        "MusicBrainz/Artist Id": TAGS["artist_mbid"],
    }
    for key, value in expected.items():
        assert [str(v) for v in tags[key]] == [value], key
    assert len(tags) == len(expected)


def check_tags(fmt, f):
    if fmt in ("mp3", "wav", "aiff"):
        _check_id3(f.tags)
    elif fmt in ("flac", "ogg", "opus"):
        _check_vorbis(f)
    elif fmt == "wv":
        assert isinstance(f, APEv2File)
        _check_ape(f.tags)
    elif fmt in ("m4a", "alac"):
        _check_mp4(f.tags)
    else:
        _check_asf(f.tags)


@pytest.mark.parametrize("fmt", synth.FORMATS)
def test_every_format_parses_with_stream_info_and_tags(tmp_path, fmt):
    path = synth.write_audio_file(tmp_path / f"track.{fmt}", fmt, TAGS)
    assert path == tmp_path / f"track.{fmt}"
    assert path.stat().st_size < 200_000

    f = mutagen.File(path)
    assert type(f) is CLASSES[fmt]
    assert f.info.length == pytest.approx(1.0, abs=0.1)
    assert f.info.channels == 2
    if fmt != "opus":
        assert f.info.sample_rate == 44100
    if fmt in LOSSLESS16:
        assert f.info.bits_per_sample == 16
    if fmt in ("m4a", "alac"):
        assert f.info.codec == {"m4a": "mp4a.40.2", "alac": "alac"}[fmt]
    check_tags(fmt, f)

    assert path.read_bytes() == synth.audio_bytes(fmt, TAGS)


@pytest.mark.parametrize("fmt", synth.FORMATS)
def test_no_tags_means_no_or_empty_tags(tmp_path, fmt):
    path = synth.write_audio_file(tmp_path / f"bare.{fmt}", fmt, None)
    f = mutagen.File(path)
    assert type(f) is CLASSES[fmt]
    assert not f.tags
    assert f.info.length == pytest.approx(1.0, abs=0.1)


def test_none_values_are_skipped(tmp_path):
    path = synth.write_audio_file(tmp_path / "a.flac", "flac", {"artist": "A", "album": None, "isrc": None})
    f = mutagen.File(path)
    assert list(f.tags) == [("ARTIST", "A")]


@pytest.mark.parametrize(
    ("fmt", "kwargs"),
    [
        ("wav", {"channels": 1, "bits_per_sample": 8, "sample_rate": 8000, "seconds": 2.5}),
        ("wav", {"channels": 8, "bits_per_sample": 24, "sample_rate": 48000, "seconds": 0.5}),
        ("aiff", {"channels": 1, "bits_per_sample": 8, "sample_rate": 8000, "seconds": 2.5}),
        ("aiff", {"channels": 7, "bits_per_sample": 24, "sample_rate": 48000, "seconds": 0.5}),
        ("flac", {"channels": 1, "bits_per_sample": 24, "sample_rate": 96000, "seconds": 7.3}),
        ("flac", {"channels": 8, "sample_rate": 48000, "seconds": 1.0}),
        ("wv", {"channels": 1, "sample_rate": 22050, "seconds": 3.2}),
        ("wv", {"channels": 1, "bits_per_sample": 8, "sample_rate": 8000, "seconds": 45.0}),
        ("wv", {"channels": 2, "bits_per_sample": 24, "sample_rate": 96000, "seconds": 1.0}),
        ("mp3", {"channels": 1, "sample_rate": 48000, "seconds": 4.0}),
        ("mp3", {"channels": 2, "sample_rate": 22050, "seconds": 0.5}),
        ("ogg", {"channels": 2, "sample_rate": 48000, "seconds": 30.0}),
        ("opus", {"channels": 6, "sample_rate": 48000, "seconds": 12.34}),
        ("opus", {"channels": 1, "sample_rate": 16000, "seconds": 2.0}),
        ("m4a", {"channels": 1, "sample_rate": 22050, "seconds": 5.0}),
        ("m4a", {"channels": 6, "sample_rate": 48000, "seconds": 2.0}),
        ("alac", {"channels": 1, "bits_per_sample": 24, "sample_rate": 96000, "seconds": 3.0}),
        ("alac", {"channels": 8, "sample_rate": 48000, "seconds": 1.0}),
        ("wma", {"channels": 1, "sample_rate": 32000, "seconds": 200.0}),
    ],
)
def test_stream_parameters_are_honoured(ffmpeg_logs, fmt, kwargs):
    data = synth.audio_bytes(fmt, {"artist": "x"}, **kwargs)
    f = mutagen.File(io.BytesIO(data))
    assert type(f) is CLASSES[fmt]
    assert f.info.length == pytest.approx(kwargs["seconds"], abs=0.1)
    assert f.info.channels == kwargs["channels"]
    if fmt != "opus":
        assert f.info.sample_rate == kwargs["sample_rate"]
    if "bits_per_sample" in kwargs:
        assert f.info.bits_per_sample == kwargs["bits_per_sample"]

    seconds, rate, channels, _codec, problems = decode(data)
    assert problems == []
    # WMA's last frame is 64 ms at 32 kHz.
    assert seconds == pytest.approx(kwargs["seconds"], abs=0.07)
    assert (rate, channels) == (48000 if fmt == "opus" else kwargs["sample_rate"], kwargs["channels"])


def _opus_input_rate(data: bytes) -> int:
    head = OggPage(io.BytesIO(data)).packets[0]
    assert head.startswith(b"OpusHead")
    return int.from_bytes(head[12:16], "little")


def test_opus_takes_its_own_rates_and_resamples_others_to_48_khz(ffmpeg_logs):
    native = synth.audio_bytes("opus", None, sample_rate=24000, seconds=2.0)
    resampled = synth.audio_bytes("opus", None, sample_rate=44100, seconds=2.0)
    assert _opus_input_rate(native) == 24000
    assert _opus_input_rate(resampled) == 48000
    for data in (native, resampled):
        seconds, rate, _channels, _codec, problems = decode(data)
        assert problems == [] and rate == 48000
        assert seconds == pytest.approx(2.0, abs=0.01)
        assert mutagen.File(io.BytesIO(data)).info.length == pytest.approx(2.0, abs=0.01)


def test_the_same_arguments_give_the_same_bytes_after_a_fresh_encode():
    before = {fmt: synth.audio_bytes(fmt, TAGS, seconds=0.3) for fmt in synth.FORMATS}
    synth._template.cache_clear()
    after = {fmt: synth.audio_bytes(fmt, TAGS, seconds=0.3) for fmt in synth.FORMATS}
    assert before == after


@pytest.mark.parametrize("fmt", ["ogg", "opus"])
def test_a_comment_larger_than_a_page_gives_valid_ogg_pages(ffmpeg_logs, fmt):
    # A comment larger than one page forces a continued packet.
    data = synth.audio_bytes(fmt, {"title": "x" * 70_000, "artist": "Ø"}, seconds=3.0)
    fileobj = io.BytesIO(data)
    pages = []
    while fileobj.tell() < len(data):
        start = fileobj.tell()
        page = OggPage(fileobj)
        assert page.write() == data[start : fileobj.tell()]  # write() recomputes the CRC
        pages.append(page)
    assert [p.sequence for p in pages] == list(range(len(pages)))
    assert pages[0].first and pages[-1].last
    assert any(p.continued for p in pages)
    assert mutagen.File(io.BytesIO(data))["TITLE"] == ["x" * 70_000]
    seconds, _rate, _channels, _codec, problems = decode(data)
    assert problems == [] and seconds == pytest.approx(3.0, abs=0.01)


def test_unknown_format_raises():
    with pytest.raises(ValueError, match="unknown audio format"):
        synth.audio_bytes("xyz")
    with pytest.raises(ValueError, match="unknown audio format"):
        synth.audio_bytes("ape")
    with pytest.raises(ValueError, match="unknown audio format"):
        synth.write_audio_file("never-written.xyz", "xyz")


@pytest.mark.parametrize(
    ("fmt", "kwargs", "tags", "message"),
    [
        ("flac", {}, {"composer": "x"}, "unknown tag key"),
        ("mp3", {"channels": 3}, None, "channel"),
        ("ogg", {"channels": 1}, None, "channel"),
        ("opus", {"channels": 9}, None, "channel"),
        ("wma", {"channels": 6}, None, "channel"),
        ("aiff", {"channels": 8}, None, "channel"),
        ("wv", {"sample_rate": 12345}, None, "sample_rate"),
        ("mp3", {"sample_rate": 96000}, None, "sample_rate"),
        ("m4a", {"sample_rate": 12345}, None, "sample_rate"),
        ("wma", {"sample_rate": 96000}, None, "sample_rate"),
        ("flac", {"bits_per_sample": 8}, None, "bits_per_sample"),
        ("alac", {"bits_per_sample": 8}, None, "bits_per_sample"),
        ("wav", {"bits_per_sample": 32}, None, "bits_per_sample"),
        ("wav", {"seconds": 0}, None, "seconds"),
        ("wav", {"seconds": 100_000.0, "sample_rate": 192000}, None, "32-bit"),
        ("m4a", {}, {"track_number": 70_000}, "65535"),
        ("alac", {}, {"disc_number": "one"}, "integers"),
    ],
)
def test_invalid_arguments_raise(fmt, kwargs, tags, message):
    with pytest.raises(ValueError, match=message):
        synth.audio_bytes(fmt, tags, **kwargs)
