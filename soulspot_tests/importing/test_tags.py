"""Tags written on import read back through the scanner's own reader, in every format."""

import base64
import io
from dataclasses import asdict, replace
from pathlib import Path

import mutagen
import pytest
from mutagen.apev2 import APEv2File
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, COMM, TXXX, Encoding, PictureType
from mutagen.mp4 import MP4
from PIL import Image

from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.domain.fields import TAG_FIELDS
from soulspot_pipeline.domain.scan_plan import FileStat
from soulspot_pipeline.importing.tags import TaggingError, TrackTags, write_tags
from soulspot_pipeline.scan.read import RECORD_FIELDS, read_audio_file

# synth format -> the family of tags it carries
FAMILIES = {
    "mp3": "id3",
    "wav": "id3",
    "aiff": "id3",
    "flac": "flac",
    "ogg": "ogg",
    "opus": "ogg",
    "m4a": "mp4",
    "wv": "ape",
}

FULL = TrackTags(
    title="Ünïcode Title",
    artist="The Artist",
    album="An Album",
    albumartist="Various Artists",
    track_number=3,
    track_total=12,
    disc_number=2,
    disc_total=3,
    date="2001-05-03",
    genre="Post-Rock",
    isrc="USABC0112345",
    recording_mbid="0d7fc0a4-47bf-4b79-9a5e-35a4d2cbd3f8",
    release_mbid="2f6ba0b6-8b2e-4c6a-a1b9-2cf1e1b8a2e1",
    release_group_mbid="7a1c3c0e-3d1f-4b1a-9d55-0a5f6e6c6d01",
    artist_mbid="b10bbbfc-cf9e-42e0-be17-e2c3e1d2600d",
    albumartist_mbid="89ad4ac3-39f7-470e-963a-56509c546377",
)
STALE = {
    "title": "old title",
    "artist": "old artist",
    "album": "old album",
    "track_number": "7",
    "track_total": "9",
    "recording_mbid": "ffffffff-ffff-ffff-ffff-ffffffffffff",
    "release_mbid": "eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee",
    "artist_mbid": "dddddddd-dddd-dddd-dddd-dddddddddddd",
}


def jpeg(color: str = "red") -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (8, 8), color).save(out, "JPEG")
    return out.getvalue()


def read_back(path: Path) -> dict:
    """The tag fields the scanner records for ``path``."""
    result = read_audio_file(FileStat(str(path), path.stat().st_size, 0))
    assert result.error is None and result.record is not None and result.warnings == []
    record = dict(zip(RECORD_FIELDS, result.record, strict=True))
    return {name: record[name] for name in TAG_FIELDS}


def pictures(path: Path) -> list[tuple[int, bytes]]:
    """(picture type, data) of every embedded picture; MP4 has no types: the first is the front."""
    audio = mutagen.File(path)
    tags = audio.tags
    if isinstance(audio, FLAC):
        return [(p.type, p.data) for p in audio.pictures]
    if isinstance(audio, MP4):
        return [(3 if i == 0 else 0, bytes(c)) for i, c in enumerate(tags.get("covr", []))]
    if isinstance(audio, APEv2File):
        return [(3, tags[k].value.split(b"\x00", 1)[1]) for k in tags if k == "Cover Art (Front)"]
    if hasattr(tags, "getall"):
        return [(f.type, f.data) for f in tags.getall("APIC")]
    return [(p.type, p.data) for p in map(Picture, map(base64.b64decode, tags.get("METADATA_BLOCK_PICTURE", [])))]


def add_unrelated(path: Path, family: str) -> None:
    """A comment, a custom tag and (where pictures have types) a back cover, which tagging must keep."""
    audio = mutagen.File(path)
    tags = audio.tags
    back = Picture()
    back.type, back.mime, back.data = PictureType.COVER_BACK, "image/jpeg", jpeg("blue")
    if family == "id3":
        tags.add(COMM(encoding=Encoding.UTF8, lang="eng", desc="", text=["keep me"]))
        tags.add(TXXX(encoding=Encoding.UTF8, desc="Custom", text=["custom value"]))
        tags.add(
            APIC(encoding=Encoding.UTF8, mime="image/jpeg", type=PictureType.COVER_BACK, desc="back", data=back.data)
        )
        audio.save(v2_version=4)
        return
    if family in ("flac", "ogg"):
        tags["COMMENT"] = ["keep me"]
        tags["CUSTOM"] = ["custom value"]
        if family == "flac":
            audio.add_picture(back)
        else:
            tags["METADATA_BLOCK_PICTURE"] = [base64.b64encode(back.write()).decode()]
    elif family == "mp4":
        tags["©cmt"] = ["keep me"]
        tags["----:com.apple.iTunes:Custom"] = [b"custom value"]
    else:
        tags["Comment"] = "keep me"
        tags["Custom"] = "custom value"
    audio.save()


def unrelated(path: Path, family: str) -> tuple[str, str]:
    tags = mutagen.File(path).tags
    if family == "id3":
        return str(tags["COMM::eng"].text[0]), str(tags["TXXX:Custom"].text[0])
    if family in ("flac", "ogg"):
        return tags["COMMENT"][0], tags["CUSTOM"][0]
    if family == "mp4":
        return tags["©cmt"][0], bytes(tags["----:com.apple.iTunes:Custom"][0]).decode()
    return str(tags["Comment"]), str(tags["Custom"])


@pytest.mark.parametrize("fmt", sorted(FAMILIES))
def test_every_field_and_the_cover_read_back_through_the_scanner(tmp_path, fmt):
    path = write_audio_file(tmp_path / f"track.{fmt}", fmt, STALE, seconds=2)
    cover = jpeg()
    write_tags(path, FULL, cover)

    assert read_back(path) == asdict(FULL)
    assert [data for kind, data in pictures(path) if kind == PictureType.COVER_FRONT] == [cover]


@pytest.mark.parametrize("fmt", sorted(FAMILIES))
def test_other_tags_and_pictures_are_kept_and_tagging_twice_keeps_one_front_cover(tmp_path, fmt):
    family = FAMILIES[fmt]
    path = write_audio_file(tmp_path / f"track.{fmt}", fmt, STALE, seconds=2)
    add_unrelated(path, family)
    write_tags(path, FULL, jpeg("red"))
    write_tags(path, replace(FULL, title="Second"), jpeg("green"))

    assert read_back(path)["title"] == "Second"
    assert unrelated(path, family) == ("keep me", "custom value")
    found = pictures(path)
    assert [data for kind, data in found if kind == PictureType.COVER_FRONT] == [jpeg("green")]
    if family in ("id3", "flac", "ogg"):
        assert [data for kind, data in found if kind == PictureType.COVER_BACK] == [jpeg("blue")]


@pytest.mark.parametrize("fmt", sorted(FAMILIES))
def test_a_field_left_out_removes_the_peers_stale_value(tmp_path, fmt):
    path = write_audio_file(tmp_path / f"track.{fmt}", fmt, STALE, seconds=2)
    write_tags(path, TrackTags(title="New", artist="Someone"))

    assert read_back(path) == {**dict.fromkeys(TAG_FIELDS), "title": "New", "artist": "Someone"}
    assert pictures(path) == []  # no cover given: none added


def test_other_spellings_of_a_field_do_not_outlive_the_written_one(tmp_path):
    path = write_audio_file(tmp_path / "track.flac", "flac", {"title": "t"}, seconds=1)
    audio = mutagen.File(path)
    audio.tags["TOTALTRACKS"] = ["99"]
    audio.tags["ALBUM ARTIST"] = ["Wrong"]
    audio.tags["MUSICBRAINZ ALBUM ID"] = ["eeeeeeee-eeee-eeee-eeee-eeeeeeeeeeee"]
    audio.save()
    write_tags(path, replace(FULL, track_total=None, albumartist=None, release_mbid=None))

    fields = read_back(path)
    assert (fields["track_total"], fields["albumartist"], fields["release_mbid"]) == (None, None, None)


def test_an_id3_date_that_is_no_timestamp_is_left_out(tmp_path):
    path = write_audio_file(tmp_path / "track.mp3", "mp3", {"date": "1999"}, seconds=1)
    write_tags(path, replace(FULL, date="sometime in the nineties"))
    assert read_back(path)["date"] is None


def test_unsupported_formats_and_bad_input_raise_tagging_error(tmp_path):
    wma = write_audio_file(tmp_path / "track.wma", "wma", {"title": "t"}, seconds=1)
    with pytest.raises(TaggingError, match="wma files is not supported"):
        write_tags(wma, FULL)

    text = tmp_path / "notes.mp3"
    text.write_text("not audio at all")
    with pytest.raises(TaggingError):
        write_tags(text, FULL)

    flac = write_audio_file(tmp_path / "track.flac", "flac", {"title": "t"}, seconds=1)
    before = flac.read_bytes()
    with pytest.raises(TaggingError, match="not a JPEG"):
        write_tags(flac, FULL, b"\x89PNG\r\n\x1a\n")
    assert flac.read_bytes() == before

    m4a = write_audio_file(tmp_path / "track.m4a", "m4a", {"title": "t"}, seconds=1)
    with pytest.raises(TaggingError, match="65535"):
        write_tags(m4a, replace(FULL, track_number=70000))
