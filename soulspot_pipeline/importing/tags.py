"""Writing a track's identity into a downloaded file, the way MusicBrainz Picard writes it.

Only files still in the staging area are tagged: mutagen rewrites a file in place, which is
never atomic, so a library file is never the one being rewritten.
"""

from __future__ import annotations

import base64
from collections.abc import Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import cast

import mutagen
from mutagen.aiff import AIFF
from mutagen.apev2 import BINARY, APEv2, APEv2File, APEValue
from mutagen.flac import FLAC, Picture
from mutagen.id3 import APIC, ID3, SYLT, TDRC, UFID, USLT, Encoding, Frames, ID3FileType, ID3TimeStamp, PictureType
from mutagen.mp4 import MP4, AtomDataType, MP4Cover, MP4FreeForm, MP4Tags
from mutagen.oggflac import OggFLAC
from mutagen.oggopus import OggOpus
from mutagen.oggspeex import OggSpeex
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from soulspot_pipeline.domain.lyrics import lrc_to_plain, parse_lrc
from soulspot_pipeline.scan.read import format_name

_JPEG_MAGIC = b"\xff\xd8\xff"
_MB_UFID_OWNER = "http://musicbrainz.org"
_MP4_FREEFORM = "----:com.apple.iTunes:"


class TaggingError(Exception):
    """Tags cannot be written to this file (unsupported format, or mutagen failed)."""


@dataclass(frozen=True)
class TrackTags:
    """The tags an imported track gets; every field is written, None removes it."""

    title: str
    artist: str
    album: str | None = None
    albumartist: str | None = None
    track_number: int | None = None
    track_total: int | None = None
    disc_number: int | None = None
    disc_total: int | None = None
    date: str | None = None
    genre: str | None = None
    isrc: str | None = None
    recording_mbid: str | None = None
    release_mbid: str | None = None
    release_group_mbid: str | None = None
    artist_mbid: str | None = None
    albumartist_mbid: str | None = None


def write_tags(path: Path, tags: TrackTags, cover_jpeg: bytes | None = None) -> None:
    """Write ``tags`` (and a front cover) into ``path`` in its own tag format.

    The fields of TrackTags replace what the file had under the keys the scanner reads
    (a None field is removed, so a peer's stale MusicBrainz ids never survive); every
    other tag and picture is kept. ID3 (MP3, WAV, AIFF) is saved as v2.4. Formats without
    a writer here (WMA, ...) raise TaggingError.
    """
    if cover_jpeg is not None and not cover_jpeg.startswith(_JPEG_MAGIC):
        raise TaggingError("the cover is not a JPEG")
    audio = _open(path)
    writer = _writer_for(audio)
    if writer is None:
        raise TaggingError(f"writing tags to {format_name(audio)} files is not supported")
    try:
        if audio.tags is None:
            audio.add_tags()
        writer(audio, tags, cover_jpeg)
        _save(audio)
    except (mutagen.MutagenError, ValueError) as exc:
        raise TaggingError(f"mutagen cannot write the tags: {type(exc).__name__}: {exc}") from exc


def _open(path: Path) -> mutagen.FileType:
    """The file as mutagen reads it, or TaggingError saying why it cannot."""
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # mutagen raises many kinds for corrupt data
        raise TaggingError(f"mutagen cannot open the file: {type(exc).__name__}: {exc}") from exc
    if audio is None:
        raise TaggingError("mutagen does not recognize the file's format")
    return audio


def _save(audio: mutagen.FileType) -> None:
    """Save in place; ID3 (MP3, WAV, AIFF) as v2.4."""
    if isinstance(audio, (ID3FileType, WAVE, AIFF)):
        audio.save(v2_version=4)
    else:
        audio.save()


def _writer_for(audio: mutagen.FileType) -> Callable[[mutagen.FileType, TrackTags, bytes | None], None] | None:
    if isinstance(audio, (ID3FileType, WAVE, AIFF)):
        return _write_id3
    if isinstance(audio, (FLAC, OggVorbis, OggOpus, OggFLAC, OggSpeex)):
        return _write_vorbis
    if isinstance(audio, MP4):
        return _write_mp4
    if isinstance(audio, APEv2File):
        return _write_ape
    return None


# mutagen declares ``FileType.tags`` as None; each writer below gets a file that has tags
# (write_tags adds them), in the container its format uses, and casts to that.


def _pair(number: int | None, total: int | None) -> str | None:
    """'n/total' or 'n' as Picard writes ID3 TRCK/TPOS and APE Track/Disc."""
    if not number:
        return None
    return f"{number}/{total}" if total else str(number)


# --- ID3 (MP3, WAV, AIFF, TrueAudio) ---

_ID3_TEXT = {"title": "TIT2", "artist": "TPE1", "album": "TALB", "albumartist": "TPE2", "genre": "TCON", "isrc": "TSRC"}
# Picard's names for the MusicBrainz ids, as ID3 TXXX descriptions and MP4 freeform atoms.
_MUSICBRAINZ_NAMES = {
    "release_mbid": "MusicBrainz Album Id",
    "release_group_mbid": "MusicBrainz Release Group Id",
    "artist_mbid": "MusicBrainz Artist Id",
    "albumartist_mbid": "MusicBrainz Album Artist Id",
}
_ID3_TXXX = _MUSICBRAINZ_NAMES


def _write_id3(audio: mutagen.FileType, tags: TrackTags, cover: bytes | None) -> None:
    id3 = cast(ID3, audio.tags)
    for name, frame_id in _ID3_TEXT.items():
        id3.delall(frame_id)
        if value := getattr(tags, name):
            id3.add(Frames[frame_id](encoding=Encoding.UTF8, text=[value]))
    for frame_id, number, total in (
        ("TRCK", tags.track_number, tags.track_total),
        ("TPOS", tags.disc_number, tags.disc_total),
    ):
        id3.delall(frame_id)
        if pair := _pair(number, total):
            id3.add(Frames[frame_id](encoding=Encoding.UTF8, text=[pair]))
    for frame_id in ("TDRC", "TYER", "TDAT", "TIME"):  # v2.3 date frames would be merged into TDRC
        id3.delall(frame_id)
    # ID3v2.4 dates are timestamps; text that is not one (mutagen empties it) is left out.
    if tags.date and (stamp := ID3TimeStamp(tags.date).text):
        id3.add(TDRC(encoding=Encoding.UTF8, text=[stamp]))
    id3.delall(f"UFID:{_MB_UFID_OWNER}")
    id3.delall("TXXX:MusicBrainz Track Id")  # the scanner's fallback for the recording id
    if tags.recording_mbid:
        id3.add(UFID(owner=_MB_UFID_OWNER, data=tags.recording_mbid.encode("utf-8")))
    for name, description in _ID3_TXXX.items():
        id3.delall(f"TXXX:{description}")
        if value := getattr(tags, name):
            id3.add(Frames["TXXX"](encoding=Encoding.UTF8, desc=description, text=[value]))
    if cover is not None:
        kept = [frame for frame in id3.getall("APIC") if frame.type != PictureType.COVER_FRONT]
        id3.delall("APIC")
        for frame in kept:
            id3.add(frame)
        id3.add(APIC(encoding=Encoding.UTF8, mime="image/jpeg", type=PictureType.COVER_FRONT, desc="", data=cover))


# --- Vorbis comments (FLAC, Ogg Vorbis, Opus, Ogg FLAC, Speex) ---

# Picard's keys for the ISRC and the MusicBrainz ids, alike in Vorbis comments and APEv2:
# the key written, then the spaced spelling of the same field, removed.
_UPPER_ID_KEYS = {
    "isrc": ("ISRC",),
    "recording_mbid": ("MUSICBRAINZ_TRACKID", "MUSICBRAINZ TRACK ID"),
    "release_mbid": ("MUSICBRAINZ_ALBUMID", "MUSICBRAINZ ALBUM ID"),
    "release_group_mbid": ("MUSICBRAINZ_RELEASEGROUPID", "MUSICBRAINZ RELEASE GROUP ID"),
    "artist_mbid": ("MUSICBRAINZ_ARTISTID", "MUSICBRAINZ ARTIST ID"),
    "albumartist_mbid": ("MUSICBRAINZ_ALBUMARTISTID", "MUSICBRAINZ ALBUM ARTIST ID"),
}

# Per field: the key written, then other spellings of the same field that are removed.
_VORBIS_KEYS = {
    "title": ("TITLE",),
    "artist": ("ARTIST",),
    "album": ("ALBUM",),
    "albumartist": ("ALBUMARTIST", "ALBUM ARTIST", "ALBUM_ARTIST"),
    "track_number": ("TRACKNUMBER", "TRACK"),
    "track_total": ("TRACKTOTAL", "TOTALTRACKS"),
    "disc_number": ("DISCNUMBER", "DISC"),
    "disc_total": ("DISCTOTAL", "TOTALDISCS"),
    "date": ("DATE", "YEAR"),
    "genre": ("GENRE",),
    **_UPPER_ID_KEYS,
}
_OGG_PICTURE = "METADATA_BLOCK_PICTURE"


def _write_vorbis(audio: mutagen.FileType, tags: TrackTags, cover: bytes | None) -> None:
    comments = cast(MutableMapping[str, list[str]], audio.tags)  # a VCommentDict, keyed like a dict
    for name, keys in _VORBIS_KEYS.items():
        for key in keys:
            if key in comments:
                del comments[key]
        value = getattr(tags, name)
        if value:
            comments[keys[0]] = [str(value)]
    if cover is None:
        return
    picture = Picture()
    picture.type, picture.mime, picture.desc, picture.data = PictureType.COVER_FRONT, "image/jpeg", "", cover
    if isinstance(audio, FLAC):
        audio.metadata_blocks = [
            block
            for block in audio.metadata_blocks
            if not (isinstance(block, Picture) and block.type == PictureType.COVER_FRONT)
        ]
        audio.add_picture(picture)
        return
    kept = [value for value in comments.get(_OGG_PICTURE, []) if not _is_front_cover(value)]
    comments[_OGG_PICTURE] = [*kept, base64.b64encode(picture.write()).decode("ascii")]


def _is_front_cover(encoded: str) -> bool:
    try:
        return Picture(base64.b64decode(encoded)).type == PictureType.COVER_FRONT
    except Exception:  # an unreadable picture is someone else's data: keep it
        return False


# --- MP4 (AAC, ALAC) ---

_MP4_TEXT = {"title": "©nam", "artist": "©ART", "album": "©alb", "albumartist": "aART", "date": "©day", "genre": "©gen"}
_MP4_NAMES = {"isrc": "ISRC", "recording_mbid": "MusicBrainz Track Id", **_MUSICBRAINZ_NAMES}


def _write_mp4(audio: mutagen.FileType, tags: TrackTags, cover: bytes | None) -> None:
    atoms = cast(MP4Tags, audio.tags)
    if tags.genre and "gnre" in atoms:  # the numeric ID3v1 genre would contradict ©gen
        del atoms["gnre"]
    values: dict[str, object] = {key: getattr(tags, name) for name, key in _MP4_TEXT.items()}
    for key, number, total in (
        ("trkn", tags.track_number, tags.track_total),
        ("disk", tags.disc_number, tags.disc_total),
    ):
        if any(n is not None and not 0 <= n <= 0xFFFF for n in (number, total)):
            raise TaggingError(f"MP4 {key} holds numbers up to 65535, not {number}/{total}")
        values[key] = (number or 0, total or 0) if number or total else None
    for name, mp4_name in _MP4_NAMES.items():
        value = getattr(tags, name)
        values[_MP4_FREEFORM + mp4_name] = MP4FreeForm(value.encode("utf-8"), AtomDataType.UTF8) if value else None
    for key, value in values.items():
        if key in atoms:
            del atoms[key]
        if value:
            atoms[key] = [value]
    if cover is not None:
        # MP4 pictures have no type; the first one is the front cover.
        atoms["covr"] = [MP4Cover(cover, imageformat=MP4Cover.FORMAT_JPEG), *atoms.get("covr", [])[1:]]


# --- APEv2 (WavPack, Monkey's Audio, Musepack, TAK, OptimFROG) ---

_APE_KEYS = {
    "title": ("Title",),
    "artist": ("Artist",),
    "album": ("Album",),
    "albumartist": ("Album Artist", "ALBUMARTIST", "ALBUM_ARTIST"),
    "date": ("Year", "DATE"),
    "genre": ("Genre",),
    **_UPPER_ID_KEYS,
}
_APE_PAIRS = {
    ("track_number", "track_total"): ("Track", "TRACKNUMBER", "TRACKTOTAL", "TOTALTRACKS"),
    ("disc_number", "disc_total"): ("Disc", "DISCNUMBER", "DISCTOTAL", "TOTALDISCS"),
}
_APE_FRONT_COVER = "Cover Art (Front)"


def _write_ape(audio: mutagen.FileType, tags: TrackTags, cover: bytes | None) -> None:
    items = cast(APEv2, audio.tags)
    updates = {keys: getattr(tags, name) for name, keys in _APE_KEYS.items()}
    updates.update({keys: _pair(getattr(tags, n), getattr(tags, t)) for (n, t), keys in _APE_PAIRS.items()})
    for keys, value in updates.items():
        for key in keys:
            if key in items:
                del items[key]
        if value:
            items[keys[0]] = str(value)
    if cover is not None:
        items[_APE_FRONT_COVER] = APEValue(f"{_APE_FRONT_COVER}.jpg".encode() + b"\x00" + cover, BINARY)


# -- lyrics ----------------------------------------------------------------------------

# ID3's language code for "unknown" (ISO 639-2 has no code for it; the spec's examples use XXX).
UNKNOWN_LANGUAGE = "XXX"
VORBIS_KEY = "LYRICS"
MP4_KEY = "\xa9lyr"
# Keys other taggers use for the same thing: removed so that only one text is there.
_VORBIS_OTHER_KEYS = ("UNSYNCEDLYRICS", "UNSYNCED LYRICS", "SYNCEDLYRICS")


def write_lyrics_tags(path: Path, text: str, synced: bool) -> None:
    """Write the lyrics into ``path`` in place: only ever called on a staged copy."""
    audio = _open(path)
    try:
        if audio.tags is None:
            audio.add_tags()
        if isinstance(audio, (ID3FileType, WAVE, AIFF)):
            _write_id3_lyrics(cast(ID3, audio.tags), text, synced)
        elif isinstance(audio, (FLAC, OggVorbis, OggOpus)):
            comments = cast(MutableMapping[str, list[str]], audio.tags)  # a VCommentDict, keyed like a dict
            for key in (VORBIS_KEY, *_VORBIS_OTHER_KEYS):
                if key in comments:
                    del comments[key]
            comments[VORBIS_KEY] = [text]
        elif isinstance(audio, MP4):
            cast(MP4Tags, audio.tags)[MP4_KEY] = [text]
        else:
            raise TaggingError(f"lyrics tags in {type(audio).__name__} files are not supported")
        _save(audio)
    except (mutagen.MutagenError, ValueError) as exc:
        raise TaggingError(f"mutagen cannot write the lyrics: {type(exc).__name__}: {exc}") from exc


def _write_id3_lyrics(id3: ID3, text: str, synced: bool) -> None:
    id3.delall("USLT")
    id3.delall("SYLT")
    words = lrc_to_plain(text) if synced else text
    id3.add(USLT(encoding=Encoding.UTF8, lang=UNKNOWN_LANGUAGE, desc="", text=words))
    if synced:
        # format 2: times in milliseconds; type 1: lyrics.
        timed = [(line, ms) for ms, line in parse_lrc(text)]
        id3.add(SYLT(encoding=Encoding.UTF8, lang=UNKNOWN_LANGUAGE, format=2, type=1, desc="", text=timed))
