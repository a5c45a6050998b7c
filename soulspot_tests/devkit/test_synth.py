"""soulspot_pipeline.devkit.synth: every format parses with mutagen, with the right stream info and Picard-style tags."""

from __future__ import annotations

import io
import struct

import mutagen
import pytest
from mutagen.aiff import AIFF
from mutagen.apev2 import APEv2File
from mutagen.asf import ASF
from mutagen.flac import FLAC
from mutagen.monkeysaudio import MonkeysAudio
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
    "ape": MonkeysAudio,
    "wma": ASF,
}
PCM16 = {"flac", "wav", "aiff", "wv", "ape"}


def test_formats_cover_the_required_set():
    assert {"flac", "mp3", "ogg", "opus", "wav", "aiff", "wv"} <= set(synth.FORMATS)
    assert set(synth.FORMATS) <= set(CLASSES)


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


def _check_asf(tags):
    expected = {
        "Author": TAGS["artist"],
        "WM/AlbumArtist": TAGS["albumartist"],
        "WM/AlbumTitle": TAGS["album"],
        "Title": TAGS["title"],
        "WM/TrackNumber": "3",
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


@pytest.mark.parametrize("fmt", synth.FORMATS)
def test_every_format_parses_with_stream_info_and_tags(tmp_path, fmt):
    path = synth.write_audio_file(tmp_path / f"track.{fmt}", fmt, TAGS)
    assert path == tmp_path / f"track.{fmt}"
    assert path.stat().st_size < 200_000

    f = mutagen.File(path)
    assert type(f) is CLASSES[fmt]
    assert f.info.length == pytest.approx(1.0, abs=0.1)
    assert f.info.channels == 2
    if fmt == "opus":
        # Opus always decodes at 48 kHz; the requested rate is the OpusHead input rate.
        with open(path, "rb") as fh:
            head = OggPage(fh).packets[0]
        assert struct.unpack("<I", head[12:16])[0] == 44100
    else:
        assert f.info.sample_rate == 44100
    if fmt in PCM16:
        assert f.info.bits_per_sample == 16

    if fmt in ("mp3", "wav", "aiff"):
        _check_id3(f.tags)
    elif fmt in ("flac", "ogg", "opus"):
        _check_vorbis(f)
    elif fmt in ("wv", "ape"):
        assert isinstance(f, APEv2File)
        _check_ape(f.tags)
    elif fmt == "m4a":
        _check_mp4(f.tags)
    else:
        _check_asf(f.tags)

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
        ("aiff", {"channels": 1, "bits_per_sample": 8, "sample_rate": 8000, "seconds": 2.5}),
        ("flac", {"channels": 1, "bits_per_sample": 24, "sample_rate": 96000, "seconds": 7.3}),
        ("wv", {"channels": 1, "sample_rate": 22050, "seconds": 3.2}),
        ("mp3", {"channels": 1, "sample_rate": 48000, "seconds": 4.0}),
        ("mp3", {"channels": 2, "sample_rate": 22050, "seconds": 0.5}),
        ("ogg", {"channels": 6, "sample_rate": 48000, "seconds": 30.0}),
        ("opus", {"channels": 6, "sample_rate": 48000, "seconds": 12.34}),
        ("m4a", {"channels": 1, "sample_rate": 22050, "seconds": 5.0}),
        ("ape", {"channels": 1, "bits_per_sample": 8, "sample_rate": 8000, "seconds": 45.0}),
        ("wma", {"channels": 1, "sample_rate": 32000, "seconds": 200.0}),
    ],
)
def test_stream_parameters_are_honoured(fmt, kwargs):
    f = mutagen.File(io.BytesIO(synth.audio_bytes(fmt, {"artist": "x"}, **kwargs)))
    assert type(f) is CLASSES[fmt]
    assert f.info.length == pytest.approx(kwargs["seconds"], abs=0.1)
    assert f.info.channels == kwargs["channels"]
    if fmt != "opus":
        assert f.info.sample_rate == kwargs["sample_rate"]
    if "bits_per_sample" in kwargs:
        assert f.info.bits_per_sample == kwargs["bits_per_sample"]


@pytest.mark.parametrize("fmt", ["ogg", "opus"])
def test_ogg_pages_have_valid_crcs_and_flags(fmt):
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


def _crc(data, poly, width):
    crc, top, mask = 0, 1 << (width - 1), (1 << width) - 1
    for byte in data:
        crc ^= byte << (width - 8)
        for _ in range(8):
            crc = ((crc << 1) ^ poly) & mask if crc & top else (crc << 1) & mask
    return crc


def test_flac_frames_have_valid_crcs():
    data = synth.audio_bytes("flac", None, seconds=0.5, sample_rate=44100, channels=2)
    assert data[:4] == b"fLaC" and data[4] == 0x80  # STREAMINFO is the last metadata block
    pos = 8 + 34
    frames = samples = 0
    while pos < len(data):
        assert data[pos : pos + 2] == b"\xff\xf8"
        code = data[pos + 2] >> 4
        header_len = 5 + (0 if code == 12 else 2)  # sync, codes, 1-byte frame number, 16-bit block size
        block = 4096 if code == 12 else struct.unpack(">H", data[pos + 5 : pos + 7])[0] + 1
        assert data[pos + header_len] == _crc(data[pos : pos + header_len], 0x07, 8)
        end = pos + header_len + 1 + 2 * 3  # two CONSTANT 16-bit subframes
        assert struct.unpack(">H", data[end : end + 2])[0] == _crc(data[pos:end], 0x8005, 16)
        pos = end + 2
        frames += 1
        samples += block
    assert samples == 22050 and frames == 6


def test_mp3_is_a_run_of_whole_frames():
    data = synth.audio_bytes("mp3", None, seconds=1.0)
    pos = count = 0
    while pos < len(data):
        header = struct.unpack(">I", data[pos : pos + 4])[0]
        assert header >> 21 == 0x7FF
        pos += 144 * 32000 // 44100 + (header >> 9 & 1)
        count += 1
    assert pos == len(data) and count == 39


def test_unknown_format_raises():
    with pytest.raises(ValueError, match="unknown audio format"):
        synth.audio_bytes("xyz")
    with pytest.raises(ValueError, match="unknown audio format"):
        synth.write_audio_file("never-written.xyz", "xyz")


def test_invalid_arguments_raise():
    with pytest.raises(ValueError, match="unknown tag key"):
        synth.audio_bytes("flac", {"composer": "x"})
    with pytest.raises(ValueError, match="channel"):
        synth.audio_bytes("mp3", channels=3)
    with pytest.raises(ValueError, match="sample_rate"):
        synth.audio_bytes("wv", sample_rate=12345)
    with pytest.raises(ValueError, match="seconds"):
        synth.audio_bytes("wav", seconds=0)
