"""Lyrics on disk: files beside the audio never over the user's, and lyrics tags written on a
staged copy, read back through mutagen, and never half-written into the library."""

import json
import os
import signal
import subprocess
import sys
import textwrap

import mutagen
import pytest
from mutagen.id3 import ID3

from soulspot_pipeline.devkit.synth import write_audio_file
from soulspot_pipeline.importing.lyrics_files import embed_lyrics, write_new_file
from soulspot_pipeline.importing.place import STAGING, clean_staging
from soulspot_pipeline.importing.tags import TaggingError

LRC = "[00:00.50] Hello there\n[00:01.50] \n[00:02.00] Goodbye now"
TAGS = {"artist": "The Artist", "album": "The Album", "title": "Song"}


def song(music_dir, fmt):
    folder = music_dir / "The Artist" / "The Album"
    folder.mkdir(parents=True, exist_ok=True)
    return write_audio_file(folder / f"01 Song.{fmt}", fmt, TAGS, seconds=1)


@pytest.mark.parametrize("fmt", ["flac", "mp3", "m4a"])
def test_an_embedded_synced_lyric_reads_back_through_mutagen_and_the_other_tags_stay(music_dir, fmt):
    path = song(music_dir, fmt)
    embed_lyrics(path, music_dir, LRC, synced=True)
    audio = mutagen.File(path)
    if fmt == "flac":
        assert audio["LYRICS"] == [LRC] and audio["TITLE"] == ["Song"]
    elif fmt == "mp3":
        tags = ID3(path)
        (sylt,) = tags.getall("SYLT")
        assert sylt.format == 2 and sylt.type == 1
        assert sylt.text == [("Hello there", 500), ("", 1500), ("Goodbye now", 2000)]
        assert str(tags.getall("USLT")[0]) == "Hello there\n\nGoodbye now" and str(tags["TIT2"]) == "Song"
    else:
        assert audio["\xa9lyr"] == [LRC] and audio["\xa9nam"] == ["Song"]
    assert not list((music_dir / STAGING).iterdir())  # the staged copy became the file


def test_plain_lyrics_go_into_uslt_without_sylt_and_a_second_embed_replaces_the_first(music_dir):
    path = song(music_dir, "mp3")
    embed_lyrics(path, music_dir, LRC, synced=True)
    embed_lyrics(path, music_dir, "just words", synced=False)
    tags = ID3(path)
    assert [str(f) for f in tags.getall("USLT")] == ["just words"] and tags.getall("SYLT") == []


def test_a_format_without_lyrics_tags_here_leaves_the_file_alone(music_dir):
    path = song(music_dir, "wma")
    before = path.read_bytes()
    with pytest.raises(TaggingError):
        embed_lyrics(path, music_dir, "words", synced=False)
    assert path.read_bytes() == before and not list((music_dir / STAGING).iterdir())


def test_a_new_file_is_written_only_where_none_is(tmp_path):
    target = tmp_path / "a.lrc"
    assert write_new_file(target, b"one\n") and target.read_bytes() == b"one\n"
    assert not write_new_file(target, b"two\n") and target.read_bytes() == b"one\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.lrc"]


CHILD = textwrap.dedent(
    """
    import json, os, sys, time
    from pathlib import Path
    import mutagen.flac
    from soulspot_pipeline.importing.lyrics_files import embed_lyrics

    args = json.loads(sys.argv[1])

    def stall():
        print("stalled", flush=True)
        time.sleep(600)

    if args["stall"] == "mid-write":
        real = mutagen.flac.resize_bytes
        def resize_then_stall(*a, **k):
            real(*a, **k)  # the staged copy is now half rewritten
            stall()
        mutagen.flac.resize_bytes = resize_then_stall
    else:
        setattr(os, args["stall"], lambda *a, **k: stall())
    embed_lyrics(Path(args["path"]), Path(args["music_dir"]), args["text"], synced=True)
    print("finished", flush=True)
    """
)


@pytest.mark.subprocess  # the tagging runs in a child that is killed
@pytest.mark.parametrize(
    ("moment", "stall"),
    [
        ("while the staged copy is synced", "fsync"),
        ("half-way through rewriting the copy's tags", "mid-write"),
        ("with the tagged copy about to move into place", "replace"),
    ],
)
def test_sigkill_during_tag_writing_leaves_the_original_byte_identical(music_dir, moment, stall):
    path = song(music_dir, "flac")
    before = path.read_bytes()
    args = {"path": str(path), "music_dir": str(music_dir), "text": LRC * 200, "stall": stall}
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, json.dumps(args)], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "stalled", moment
    os.killpg(child.pid, signal.SIGKILL)
    child.wait()
    assert child.returncode == -signal.SIGKILL
    assert path.read_bytes() == before, moment
    leftovers = list((music_dir / STAGING).iterdir())
    assert len(leftovers) == 1 and leftovers[0].name.endswith(".part.flac")
    assert clean_staging(music_dir, older_than_s=0) == leftovers  # the cleanup removes what it left
