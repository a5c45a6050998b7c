"""Fitting values read from a file to the ``library.local_files`` columns: pure rules, no database."""

import math
from fractions import Fraction

import pytest

from soulspot_pipeline.domain.fields import TAG_FIELDS
from soulspot_pipeline.domain.file_record import (
    AUDIO_FIELDS,
    COLUMNS,
    MAX_MESSAGE_CHARS,
    MAX_TEXT_CHARS,
    RECORD_FIELDS,
    fit_record,
    fit_value,
    join_messages,
    storable_message,
    storable_path,
)
from soulspot_pipeline.domain.scan_plan import FileStat
from soulspot_pipeline.scan import read

STAT = FileStat("/music/a.wv", 1234, 1_700_000_000_000_000_000)


def record(**values):
    base = {"path": STAT.path, "size": STAT.size, "mtime_ns": STAT.mtime_ns, "format": "flac"}
    return tuple({**base, **values}.get(name) for name in RECORD_FIELDS)


def test_the_record_order_is_identity_then_audio_then_tags_and_the_reader_uses_it():
    assert ("path", "size", "mtime_ns", *AUDIO_FIELDS, *TAG_FIELDS) == RECORD_FIELDS
    assert read.RECORD_FIELDS is RECORD_FIELDS


@pytest.mark.parametrize(
    ("column", "value", "expected"),
    [
        ("channels", True, 1),  # mutagen's mono WavPack
        ("channels", False, 0),
        ("bitrate", 1411.2, 1411),
        ("sample_rate", 44100.0, 44100),
        ("duration_ms", Fraction(7, 2), 4),
        ("track_number", "07", 7),
        ("track_number", b" 3 ", 3),
        ("disc_total", 2**31 - 1, 2**31 - 1),
        ("duration_ms", 2**40, 2**40),  # BIGINT: a very long file is still a file
        ("mtime_ns", -5_000_000_000, -5_000_000_000),  # dated before 1970
        ("size", 0, 0),
    ],
)
def test_numbers_that_make_sense_are_kept_as_ints_without_a_note(column, value, expected):
    fitted, note = fit_value(COLUMNS[column], value)
    assert fitted == expected and type(fitted) is int
    assert note is None


@pytest.mark.parametrize(
    ("column", "value", "says"),
    [
        ("bitrate", math.nan, "not a finite number"),
        ("duration_ms", math.inf, "not a finite number"),
        ("sample_rate", -math.inf, "not a finite number"),
        ("size", -1, "negative"),
        ("duration_ms", -2000.0, "negative"),
        ("channels", -2, "negative"),
        ("bit_depth", -16, "negative"),
        ("track_number", -3, "negative"),
        ("track_total", -1, "negative"),
        ("disc_number", -1, "negative"),
        ("disc_total", -1, "negative"),
        ("bitrate", 2**31, "out of range"),
        ("channels", 1e300, "out of range"),
        ("duration_ms", 2**63, "out of range"),
        ("mtime_ns", -(2**63) - 1, "out of range"),
        pytest.param("track_number", 10**5000, "out of range", id="track_number-10**5000"),
        ("track_number", "A1", "not a number"),
        ("track_number", "9" * 5000, "out of range"),
        ("channels", [2], "not a number"),
        ("channels", object(), "not a number"),
        ("channels", {"n": 2}, "not a number"),
    ],
)
def test_numbers_that_cannot_be_stored_are_left_empty_with_a_note(column, value, says):
    fitted, note = fit_value(COLUMNS[column], value)
    assert fitted is None
    assert note is not None and note.startswith(column) and says in note and "left empty" in note
    assert storable_message(note) == note  # the note itself is storable as it is


@pytest.mark.parametrize(
    ("value", "expected", "says"),
    [
        ("Sigur Rós", "Sigur Rós", None),
        ("  padded  ", "padded", None),
        ("", None, None),
        (b"Bj\xc3\xb6rk", "Björk", None),
        (b"Bj\xf6rk", "Bj\ufffdrk", "undecodable bytes replaced"),
        (bytearray(b"caf\xe9"), "caf\ufffd", "undecodable bytes replaced"),
        ("a\ud800b", "a\ufffdb", "not valid Unicode"),
        ("Artist One\x00Artist Two", "Artist One", "NUL"),
        (1999, "1999", None),
        pytest.param(10**5000, None, "not text", id="10**5000"),
        (True, None, "not text"),
        (3.5, None, "not text"),
        (["Artist"], None, "not text"),
        (object(), None, "not text"),
    ],
)
def test_text_is_valid_unicode_without_nul(value, expected, says):
    fitted, note = fit_value(COLUMNS["artist"], value)
    assert fitted == expected
    if says is None:
        assert note is None
    else:
        assert note is not None and note.startswith("artist") and says in note


def test_very_long_text_is_cut_with_a_note():
    fitted, note = fit_value(COLUMNS["title"], "ä" * 50_000)
    assert fitted == "ä" * MAX_TEXT_CHARS
    assert note == f"title text: cut to {MAX_TEXT_CHARS} characters"
    fitted, note = fit_value(COLUMNS["genre"], "\ud800" + "x" * 3000)
    assert fitted is not None and len(fitted) == MAX_TEXT_CHARS and fitted[0] == "\ufffd"
    assert note is not None and "not valid Unicode" in note and "cut to" in note


def test_a_record_takes_its_identity_from_the_stat_not_the_tags():
    fitted = fit_record(record(path="/elsewhere/from-a-tag.flac", size=-1, mtime_ns="yesterday", channels=True), STAT)
    assert fitted.problem is None and fitted.notes == []
    assert fitted.values is not None
    values = dict(zip(RECORD_FIELDS, fitted.values, strict=True))
    assert (values["path"], values["size"], values["mtime_ns"]) == (STAT.path, STAT.size, STAT.mtime_ns)
    assert values["channels"] == 1


def test_a_record_lists_a_note_for_each_value_it_dropped_or_repaired():
    fitted = fit_record(record(bitrate=math.nan, title=b"\xff", track_number=-1, album="ok"), STAT)
    assert fitted.values is not None
    values = dict(zip(RECORD_FIELDS, fitted.values, strict=True))
    assert (values["bitrate"], values["title"], values["track_number"], values["album"]) == (None, "\ufffd", None, "ok")
    assert [note.split(" ", 1)[0] for note in fitted.notes] == ["bitrate", "title", "track_number"]


@pytest.mark.parametrize(
    ("stat", "values", "says"),
    [
        (FileStat("/music/a.wv", -1, 0), {}, "without a size"),
        (FileStat("/music/a.wv", 1, math.nan), {}, "without a mtime_ns"),  # type: ignore[arg-type]
        (FileStat("/music/a\udcff.wv", 1, 0), {}, "without a path"),
        (FileStat("", 1, 0), {}, "without a path"),
        (STAT, {"format": None}, "without a format"),
        (STAT, {"format": ["flac"]}, "without a format"),
    ],
)
def test_a_record_missing_a_required_value_cannot_be_stored(stat, values, says):
    fitted = fit_record(record(**values), stat)
    assert fitted.values is None
    assert fitted.problem is not None and says in fitted.problem


def test_a_record_of_the_wrong_shape_cannot_be_stored():
    for wrong in [(), record()[:-1], (*record(), "extra"), None, "a string", {"path": "x"}]:
        fitted = fit_record(wrong, STAT)
        assert fitted.values is None and fitted.problem


def test_error_rows_get_a_storable_path_and_message():
    assert storable_path("/music/caf\udce9.mp3") == "/music/caf\ufffd.mp3"
    assert storable_path(b"/music/caf\xe9.mp3") == "/music/caf\ufffd.mp3"
    assert storable_path("") == "(no path)"
    assert storable_message(None) is None
    assert storable_message("  ") is None
    assert storable_message("bad \ud800 text\x00here") == "bad \ufffd text here"
    assert storable_message(ValueError("boom")) == "boom"
    long = storable_message("x" * 10 * MAX_MESSAGE_CHARS)
    assert long is not None and len(long) == MAX_MESSAGE_CHARS
    assert join_messages(["one", None, b"tw\xffo", "", 3]) == "one; tw\ufffdo; 3"
    assert join_messages([]) is None
