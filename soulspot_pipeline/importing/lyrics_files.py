"""Lyrics on disk: a ``.lrc``/``.txt`` file beside the audio, and lyrics in the audio file's own tags.

A lyrics file is written only where no file is: it is written beside its place and linked
in, so a file the user made is never replaced, and a reader never sees half of one.

Tags are never edited in place (mutagen rewrites a file in place, which is not atomic): the
audio file is copied into the music folder's staging area, the copy is tagged and synced,
and then it is renamed over the original, only if the original did not change meanwhile.
A process killed at any moment leaves the original byte for byte as it was (at most a
``.part`` copy stays in staging, which the cleanup removes).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path
from typing import cast

import mutagen
from mutagen.aiff import AIFF
from mutagen.flac import FLAC
from mutagen.id3 import ID3, SYLT, USLT, Encoding, ID3FileType
from mutagen.mp4 import MP4, MP4Tags
from mutagen.oggopus import OggOpus
from mutagen.oggvorbis import OggVorbis
from mutagen.wave import WAVE

from soulspot_pipeline.domain.lyrics import file_text, lrc_to_plain, parse_lrc
from soulspot_pipeline.importing.place import stage
from soulspot_pipeline.importing.tags import TaggingError

# ID3's language code for "unknown" (ISO 639-2 has no code for it; the spec's examples use XXX).
UNKNOWN_LANGUAGE = "XXX"
VORBIS_KEY = "LYRICS"
MP4_KEY = "\xa9lyr"
# Keys other taggers use for the same thing: removed so that only one text is there.
_VORBIS_OTHER_KEYS = ("UNSYNCEDLYRICS", "UNSYNCED LYRICS", "SYNCEDLYRICS")


def write_new_file(path: Path, data: bytes) -> bool:
    """Write ``path`` whole, only if nothing is there; False when something already is."""
    if os.path.lexists(path):
        return False
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        try:
            os.link(tmp, path)  # fails when a file appeared meanwhile: it is never replaced
        except FileExistsError:
            return False
        _fsync_dir(path.parent)
        return True
    finally:
        os.unlink(tmp)


def write_lyrics_file(audio_path: Path, target: Path, text: str) -> bool:
    """The lyrics file beside ``audio_path`` (``target``: ``.lrc`` or ``.txt``), if none is there."""
    if not audio_path.parent.is_dir():
        return False
    return write_new_file(target, file_text(text))


def embed_lyrics(audio_path: Path, music_dir: Path, text: str, synced: bool) -> None:
    """Put the lyrics into the audio file's own tags, through a staged copy moved into place.

    FLAC and Ogg get ``LYRICS`` (the LRC text when synced), MP4 ``©lyr`` (likewise), ID3
    an ``USLT`` frame with the words and, when synced, a ``SYLT`` frame with their times.
    Raises TaggingError when the format has no lyrics tag here or the file changed while
    its copy was tagged.
    """
    before = os.stat(audio_path)
    staged = stage(audio_path, music_dir)
    try:
        write_lyrics_tags(staged, text, synced)
        shutil.copymode(audio_path, staged)
        with open(staged, "rb") as file:
            os.fsync(file.fileno())
        now = os.stat(audio_path)
        if (now.st_size, now.st_mtime_ns, now.st_ino) != (before.st_size, before.st_mtime_ns, before.st_ino):
            raise TaggingError("the file changed while its copy was tagged; left as it is")
        os.replace(staged, audio_path)
        _fsync_dir(audio_path.parent)
    finally:
        staged.unlink(missing_ok=True)


def write_lyrics_tags(path: Path, text: str, synced: bool) -> None:
    """Write the lyrics into ``path`` in place: only ever called on a staged copy."""
    try:
        audio = mutagen.File(path)
    except Exception as exc:  # mutagen raises many kinds for corrupt data
        raise TaggingError(f"mutagen cannot open the file: {type(exc).__name__}: {exc}") from exc
    if audio is None:
        raise TaggingError("mutagen does not recognize the file's format")
    try:
        if audio.tags is None:
            audio.add_tags()
        if isinstance(audio, (ID3FileType, WAVE, AIFF)):
            _write_id3(cast(ID3, audio.tags), text, synced)
            audio.save(v2_version=4)
        elif isinstance(audio, (FLAC, OggVorbis, OggOpus)):
            comments = cast(MutableMapping[str, list[str]], audio.tags)  # a VCommentDict, keyed like a dict
            for key in (VORBIS_KEY, *_VORBIS_OTHER_KEYS):
                if key in comments:
                    del comments[key]
            comments[VORBIS_KEY] = [text]
            audio.save()
        elif isinstance(audio, MP4):
            cast(MP4Tags, audio.tags)[MP4_KEY] = [text]
            audio.save()
        else:
            raise TaggingError(f"lyrics tags in {type(audio).__name__} files are not supported")
    except (mutagen.MutagenError, ValueError) as exc:
        raise TaggingError(f"mutagen cannot write the lyrics: {type(exc).__name__}: {exc}") from exc


def _write_id3(id3: ID3, text: str, synced: bool) -> None:
    id3.delall("USLT")
    id3.delall("SYLT")
    words = lrc_to_plain(text) if synced else text
    id3.add(USLT(encoding=Encoding.UTF8, lang=UNKNOWN_LANGUAGE, desc="", text=words))
    if synced:
        # format 2: times in milliseconds; type 1: lyrics.
        timed = [(line, ms) for ms, line in parse_lrc(text)]
        id3.add(SYLT(encoding=Encoding.UTF8, lang=UNKNOWN_LANGUAGE, format=2, type=1, desc="", text=timed))


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
