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
from pathlib import Path

from soulspot_pipeline.domain.lyrics import file_text
from soulspot_pipeline.importing.place import stage, synced_copy_beside
from soulspot_pipeline.importing.tags import TaggingError, write_lyrics_tags


def write_new_file(path: Path, data: bytes) -> bool:
    """Write ``path`` whole, only if nothing is there; False when something already is."""
    if os.path.lexists(path):
        return False
    tmp = synced_copy_beside(path, data)
    try:
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


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
