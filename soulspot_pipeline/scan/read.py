"""One audio file -> one ``library.local_files`` record, or the reason it cannot be read.

Runs in scan worker processes: it imports mutagen and pure helpers only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath

import mutagen

from soulspot_pipeline.domain.file_record import AUDIO_FIELDS, RECORD_FIELDS
from soulspot_pipeline.domain.scan_plan import FileStat
from soulspot_pipeline.domain.text import clean_text, first_mbid, normalize_isrc, parse_number_pair

# Extensions that name audio. Files with another extension are not audio and are passed
# over; files with none are sniffed by content.
AUDIO_EXTENSIONS = frozenset(
    [
        "mp3",
        "mp2",
        "flac",
        "ogg",
        "oga",
        "opus",
        "spx",
        "m4a",
        "m4b",
        "mp4",
        "aac",
        "alac",
        "aif",
        "aiff",
        "aifc",
        "wav",
        "wv",
        "ape",
        "wma",
        "asf",
        "mpc",
        "tta",
        "dsf",
        "dff",
        "tak",
        "ofr",
        "ac3",
    ]
)

# Per tag family: our field -> the keys taggers (Picard, iTunes, foobar2000) write.
_VORBIS_KEYS = {
    "artist": ("artist",),
    "albumartist": ("albumartist", "album artist", "album_artist"),
    "album": ("album",),
    "title": ("title",),
    "track": ("tracknumber", "track"),
    "track_total": ("tracktotal", "totaltracks"),
    "disc": ("discnumber", "disc"),
    "disc_total": ("disctotal", "totaldiscs"),
    "date": ("date", "originaldate", "year"),
    "genre": ("genre",),
    "isrc": ("isrc",),
    "recording_mbid": ("musicbrainz_trackid", "musicbrainz track id"),
    "release_mbid": ("musicbrainz_albumid", "musicbrainz album id"),
    "release_group_mbid": ("musicbrainz_releasegroupid", "musicbrainz release group id"),
    "artist_mbid": ("musicbrainz_artistid", "musicbrainz artist id"),
    "albumartist_mbid": ("musicbrainz_albumartistid", "musicbrainz album artist id"),
}
_APE_KEYS = {**_VORBIS_KEYS, "date": ("year", "date"), "disc": ("disc", "discnumber")}
_ASF_KEYS = {
    "artist": ("author", "wm/artist"),
    "albumartist": ("wm/albumartist",),
    "album": ("wm/albumtitle",),
    "title": ("title",),
    "track": ("wm/tracknumber", "wm/track"),
    "track_total": ("totaltracks", "wm/tracktotal"),
    "disc": ("wm/partofset",),
    "disc_total": ("totaldiscs",),
    "date": ("wm/year", "wm/originalreleaseyear"),
    "genre": ("wm/genre",),
    "isrc": ("wm/isrc", "isrc"),
    "recording_mbid": ("musicbrainz/track id",),
    "release_mbid": ("musicbrainz/album id",),
    "release_group_mbid": ("musicbrainz/release group id",),
    "artist_mbid": ("musicbrainz/artist id",),
    "albumartist_mbid": ("musicbrainz/album artist id",),
}
_ID3_KEYS = {
    "artist": ("TPE1",),
    "albumartist": ("TPE2",),
    "album": ("TALB",),
    "title": ("TIT2",),
    "track": ("TRCK",),
    "disc": ("TPOS",),
    "date": ("TDRC", "TDOR", "TYER"),
    "genre": ("TCON",),
    "isrc": ("TSRC",),
    "recording_mbid": ("UFID:http://musicbrainz.org", "TXXX:MusicBrainz Track Id"),
    "release_mbid": ("TXXX:MusicBrainz Album Id",),
    "release_group_mbid": ("TXXX:MusicBrainz Release Group Id",),
    "artist_mbid": ("TXXX:MusicBrainz Artist Id",),
    "albumartist_mbid": ("TXXX:MusicBrainz Album Artist Id",),
}
_MP4_FREEFORM = "----:com.apple.iTunes:"
_MP4_KEYS = {
    "artist": ("©ART",),
    "albumartist": ("aART",),
    "album": ("©alb",),
    "title": ("©nam",),
    "date": ("©day",),
    "genre": ("©gen",),
    "isrc": (_MP4_FREEFORM + "ISRC",),
    "recording_mbid": (_MP4_FREEFORM + "MusicBrainz Track Id",),
    "release_mbid": (_MP4_FREEFORM + "MusicBrainz Album Id",),
    "release_group_mbid": (_MP4_FREEFORM + "MusicBrainz Release Group Id",),
    "artist_mbid": (_MP4_FREEFORM + "MusicBrainz Artist Id",),
    "albumartist_mbid": (_MP4_FREEFORM + "MusicBrainz Album Artist Id",),
}


@dataclass
class ReadResult:
    """A read file's record (in RECORD_FIELDS order) and warnings, or the reason it failed.

    Values are as the tags gave them; the writer fits them to the columns.
    """

    stat: FileStat
    record: tuple | None = None
    error: str | None = None
    warnings: list[str] = field(default_factory=list)


def read_many(stats: Iterable[FileStat]) -> list[ReadResult]:
    """Read a batch of files (one task of a scan worker)."""
    return [read_audio_file(stat) for stat in stats]


def read_audio_file(stat: FileStat) -> ReadResult:
    if stat.size == 0:
        return ReadResult(stat, error="empty file (0 bytes)")
    suffix = PurePath(stat.path).suffix.lower().lstrip(".")
    failure: str | None
    try:
        audio = mutagen.File(stat.path)
    except Exception as exc:  # mutagen raises many kinds for corrupt data
        audio, failure = None, f"corrupt or truncated: {type(exc).__name__}: {exc}"
    else:
        failure = None
    if (audio is None or audio.info is None) and suffix:
        # mutagen trusts the extension; a file named for another format is judged by content.
        audio = sniff_by_content(stat.path) or audio
    if failure and audio is None:
        return ReadResult(stat, error=failure)
    if audio is None or audio.info is None:
        if suffix:
            return ReadResult(stat, error=f"not audio: content is not a format mutagen knows (extension .{suffix})")
        return ReadResult(stat, error="not audio: no file extension and content not recognized")
    try:
        fmt = format_name(audio)
        tags, warnings = extract_tags(audio)
        audio_fields = audio_properties(audio, fmt)
    except Exception as exc:
        return ReadResult(stat, error=f"unreadable tags: {type(exc).__name__}: {exc}")
    if suffix and suffix not in EXTENSIONS_OF.get(fmt, (fmt,)):
        warnings.append(f"extension .{suffix} but the content is {fmt}")
    values = {
        "path": stat.path,
        "size": stat.size,
        "mtime_ns": stat.mtime_ns,
        **dict(zip(AUDIO_FIELDS, audio_fields, strict=True)),
        **tags,
    }
    record = tuple(values.get(name) for name in RECORD_FIELDS)
    return ReadResult(stat, record=record, warnings=warnings)


class _Unnamed:
    """A read-only file without a name, so mutagen picks the format from content alone."""

    def __init__(self, file):
        self._file = file

    def read(self, *args):
        return self._file.read(*args)

    def seek(self, *args):
        return self._file.seek(*args)

    def tell(self):
        return self._file.tell()


def sniff_by_content(path: str) -> mutagen.FileType | None:
    try:
        with open(path, "rb") as file:
            audio = mutagen.File(_Unnamed(file))
    except Exception:
        return None
    return audio if audio is not None and audio.info is not None else None


EXTENSIONS_OF = {
    "mp3": ("mp3", "mp2"),
    "flac": ("flac",),
    "vorbis": ("ogg", "oga"),
    "opus": ("opus", "ogg"),
    "oggflac": ("ogg", "oga", "flac"),
    "speex": ("spx", "ogg"),
    "aac": ("m4a", "m4b", "mp4", "aac"),
    "alac": ("m4a", "m4b", "mp4", "alac"),
    "m4a": ("m4a", "m4b", "mp4"),
    "aiff": ("aif", "aiff", "aifc"),
    "wav": ("wav",),
    "wavpack": ("wv",),
    "ape": ("ape",),
    "wma": ("wma", "asf"),
    "musepack": ("mpc",),
    "trueaudio": ("tta",),
    "dsf": ("dsf",),
    "dsdiff": ("dff",),
    "tak": ("tak",),
    "optimfrog": ("ofr",),
    "ac3": ("ac3",),
}

_FORMAT_OF_CLASS = {
    "MP3": "mp3",
    "EasyMP3": "mp3",
    "FLAC": "flac",
    "OggVorbis": "vorbis",
    "OggOpus": "opus",
    "OggFLAC": "oggflac",
    "OggSpeex": "speex",
    "OggTheora": "theora",
    "AIFF": "aiff",
    "WAVE": "wav",
    "WavPack": "wavpack",
    "MonkeysAudio": "ape",
    "ASF": "wma",
    "Musepack": "musepack",
    "TrueAudio": "trueaudio",
    "EasyTrueAudio": "trueaudio",
    "DSF": "dsf",
    "DSDIFF": "dsdiff",
    "TAK": "tak",
    "OptimFROG": "optimfrog",
    "AAC": "aac",
    "AC3": "ac3",
    "SMF": "midi",
}


def format_name(audio: mutagen.FileType) -> str:
    name = type(audio).__name__
    if name in ("MP4", "EasyMP4"):
        codec = getattr(audio.info, "codec", "") or ""
        if codec.startswith("alac"):
            return "alac"
        if codec.startswith("mp4a"):
            return "aac"
        return "m4a"
    return _FORMAT_OF_CLASS.get(name, name.lower())


def audio_properties(audio: mutagen.FileType, fmt: str) -> tuple:
    info = audio.info
    length = getattr(info, "length", None)
    bitrate = getattr(info, "bitrate", None)
    bits = getattr(info, "bits_per_sample", None)
    return (
        fmt,
        round(length * 1000) if length else None,
        round(bitrate / 1000) if bitrate else None,
        getattr(info, "sample_rate", None) or None,
        bits or None,
        getattr(info, "channels", None) or None,
    )


def extract_tags(audio: mutagen.FileType) -> tuple[dict[str, object], list[str]]:
    """Our tag fields from whatever tag family the file carries, and text repairs made."""
    tags = audio.tags
    raw: dict[str, str | None] = {}
    numbers: dict[str, tuple[int | None, int | None]] = {}
    if tags is not None:
        family = type(tags).__name__
        if family in ("ID3", "EasyID3", "_WaveID3", "_IFFID3"):
            raw = _lookup(_ID3_KEYS, lambda key: _id3_text(tags, key))
        elif family in ("MP4Tags", "EasyMP4Tags"):
            raw = _lookup(_MP4_KEYS, lambda key: _mp4_text(tags, key))
            numbers = {"track": _mp4_pair(tags, "trkn"), "disc": _mp4_pair(tags, "disk")}
        elif family == "ASFTags":
            raw = _lookup(_ASF_KEYS, _lowercase_getter(tags, lambda v: str(v.value)))
        elif family == "APEv2":
            raw = _lookup(_APE_KEYS, _lowercase_getter(tags, str))
        elif hasattr(tags, "as_dict"):  # Vorbis comments: FLAC, Ogg, Opus, Speex
            raw = _lookup(_VORBIS_KEYS, _lowercase_getter(tags, str))
    result: dict[str, object] = {}
    warnings: list[str] = []
    for name, value in raw.items():
        text, repaired = clean_text(value)
        if repaired:
            warnings.append(f"tag text of {name} is not valid text; undecodable bytes replaced")
        raw[name] = text
    for name in ("artist", "albumartist", "album", "title", "date", "genre"):
        result[name] = raw.get(name)
    for name, total_name in (("track", "track_total"), ("disc", "disc_total")):
        number, total = numbers.get(name) or parse_number_pair(raw.get(name))
        if total is None:
            total = parse_number_pair(raw.get(total_name))[0]
        result[f"{name}_number"] = number
        result[total_name] = total
    result["isrc"] = normalize_isrc(raw.get("isrc"))
    if raw.get("isrc") and not result["isrc"]:
        warnings.append(f"ISRC tag {raw['isrc']!r} is not a valid ISRC; ignored")
    for name in ("recording_mbid", "release_mbid", "release_group_mbid", "artist_mbid", "albumartist_mbid"):
        result[name] = first_mbid(raw.get(name))
    return result, warnings


def _lookup(keys: dict[str, tuple[str, ...]], get: Callable[[str], str | None]) -> dict[str, str | None]:
    found: dict[str, str | None] = {}
    for name, candidates in keys.items():
        for key in candidates:
            value = get(key)
            if value:
                found[name] = value
                break
    return found


def _lowercase_getter(tags, to_text: Callable[[object], str]) -> Callable[[str], str | None]:
    # Vorbis, APE and ASF keys are case-insensitive in practice; taggers disagree on case.
    lowered: dict[str, list] = {}
    for key, value in tags.items():
        values = value if isinstance(value, list) else [value]
        lowered.setdefault(key.lower(), values)

    def get(key: str) -> str | None:
        values = lowered.get(key)
        # Several values (APE joins them with NUL) keep the first; clean_text cuts at NUL.
        return to_text(values[0]) if values else None

    return get


def _id3_text(tags, key: str) -> str | None:
    frame = tags.get(key)
    if frame is None:
        return None
    if key.startswith("UFID"):
        return frame.data.decode("ascii", "replace")
    if key == "TCON":
        genres = frame.genres  # resolves ID3v1 numeric genres such as "(17)"
        return genres[0] if genres else None
    text = getattr(frame, "text", None)
    if not text:
        return None
    return str(text[0])


def _mp4_text(tags, key: str) -> str | None:
    values = tags.get(key)
    if not values:
        return None
    value = values[0]
    if isinstance(value, bytes):  # freeform atoms hold UTF-8 bytes
        return value.decode("utf-8", "replace")
    return str(value)


def _mp4_pair(tags, key: str) -> tuple[int | None, int | None]:
    values = tags.get(key)
    if not values:
        return None, None
    number, total = ((*tuple(values[0]), 0, 0))[:2]
    return (number or None), (total or None)
