"""The record writer against odd values in every field, on a real DuckDB file.

Whatever a tag library hands back, a batch is written: each file becomes a
``local_files`` row or an ``unreadable`` error with its reason, and what is stored fits
its column.
"""

import math
from decimal import Decimal
from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from soulspot_pipeline.domain.file_record import COLUMNS, MAX_TEXT_CHARS, RECORD_COLUMNS, RECORD_FIELDS
from soulspot_pipeline.domain.scan_plan import FileStat
from soulspot_pipeline.scan import scanner
from soulspot_pipeline.scan.read import ReadResult
from soulspot_pipeline.scan.scanner import ScanSummary, write_results
from soulspot_pipeline.store.database import LibraryDatabase

EXAMPLES = 100

_surrogate_text = st.lists(st.integers(0xD800, 0xDFFF) | st.integers(0x20, 0x2FF), max_size=12).map(
    lambda points: "".join(map(chr, points))
)
ODD = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(-(2**70), 2**70),
    st.sampled_from([2**31 - 1, 2**31, -(2**31) - 1, 2**63 - 1, 2**63, -(2**63) - 1]),
    st.integers(4300, 4400).map(lambda digits: 10**digits),  # too long even to print
    st.floats(),  # NaN and both infinities included
    st.fractions(),
    st.decimals(),
    st.binary(max_size=24),
    st.text(max_size=24),
    _surrogate_text,
    st.sampled_from(["", "  ", "\x00", "nul\x00tail", "07", " -3 ", "1e3", "9" * 5000]),
    st.integers(MAX_TEXT_CHARS - 2, 3 * MAX_TEXT_CHARS).map(lambda n: "é" * n),
    st.lists(st.integers(), max_size=3),
    st.builds(object),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
)
# A file name as the walk gives it: valid text, without NUL or separators.
_NAME = st.text(st.characters(codec="utf-8", exclude_characters="\x00/"), max_size=10)
# Plausible values often enough that many records are stored, with odd ones everywhere.
PLAUSIBLE = {
    "format": st.sampled_from(["flac", "mp3", "wavpack"]),
    "size": st.integers(1, 2**40),
    "mtime_ns": st.integers(-(2**62), 2**62),
    "channels": st.sampled_from([True, 1, 2, 6]),
    "sample_rate": st.sampled_from([44100, 48000.0]),
    "title": st.text(max_size=30),
}


def _one_in(n: int) -> st.SearchStrategy[bool]:
    return st.sampled_from([False] * (n - 1) + [True])


def _field(name: str) -> st.SearchStrategy:
    if name not in PLAUSIBLE:
        return ODD
    # A record without a usable size, mtime or format is not stored at all: keep most of them usable.
    odd_in = 10 if COLUMNS[name].required else 2
    return _one_in(odd_in).flatmap(lambda odd: ODD if odd else PLAUSIBLE[name])


def _record() -> st.SearchStrategy:
    full = st.tuples(*(_field(name) for name in RECORD_FIELDS))
    # The reader never builds records of another shape, but the writer must not trust that.
    odd_shape = st.one_of(full.map(lambda r: r[:-1]), st.none())
    return _one_in(10).flatmap(lambda odd: odd_shape if odd else full)


@st.composite
def _results(draw) -> list[ReadResult]:
    count = draw(st.integers(1, 8))
    results = []
    for index in range(count):
        # The walk gives valid, distinct paths; size and mtime may still be anything.
        path = f"/music/{index:02d} {draw(_NAME)}.flac"
        stat = FileStat(path, draw(_field("size")), draw(_field("mtime_ns")))
        record = draw(_record())
        error = draw(ODD) if record is None or draw(_one_in(5)) else None
        warnings = draw(st.lists(ODD, max_size=3))
        results.append(ReadResult(stat, record=record, error=error, warnings=warnings))
    return results


@pytest.fixture(scope="module")
def conn(tmp_path_factory):
    database = LibraryDatabase(database=str(tmp_path_factory.mktemp("odd") / "soulspot.duckdb"))
    with database.writer(publish=False) as connection:
        yield connection


def _rows(conn, sql: str) -> list[dict]:
    cursor = conn.execute(sql)
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(results=_results())
def test_every_batch_is_written_and_every_file_is_a_row_or_a_reasoned_error(conn, results):
    conn.execute("DELETE FROM library.local_files")
    conn.execute("DELETE FROM library.scan_errors")
    summary = ScanSummary(music_dir="/music")

    write_results(conn, results, summary)

    stored = {row["path"]: row for row in _rows(conn, "SELECT * FROM library.local_files")}
    problems = _rows(conn, "SELECT * FROM library.scan_errors")
    unreadable = {p["path"]: p for p in problems if p["kind"] == "unreadable"}
    warned = {p["path"] for p in problems if p["kind"] == "tag_warning"}
    paths = {r.stat.path for r in results}
    assert len(problems) == len({p["path"] for p in problems})
    for path in paths:
        assert (path in stored) != (path in unreadable), path  # never both, never neither
    assert set(stored) | set(unreadable) | warned == paths
    assert warned <= set(stored)
    assert all(p["error"] and p["error"].strip() for p in problems)
    assert (summary.read, summary.errors, summary.warnings) == (len(stored), len(unreadable), len(warned))

    for result in results:
        path = result.stat.path
        if path in unreadable and result.error is None and result.record is not None:
            assert "cannot be stored" in unreadable[path]["error"] or "internal error" in unreadable[path]["error"]
        if path not in stored:
            continue
        assert result.error is None and result.record is not None
        row = stored[path]
        size = result.stat.size
        if type(size) is int and 0 <= size < 2**63:
            assert row["size"] == size  # identity comes from the stat
        for column in RECORD_COLUMNS:
            value = row[column.name]
            if value is None:
                assert not column.required, column.name
            elif column.kind in ("int32", "int64"):
                low, high = column.bounds
                assert type(value) is int and low <= value <= high, (column.name, value)
            else:
                assert type(value) is str and value, column.name
                value.encode("utf-8")
                assert "\x00" not in value
                if column.kind == "text":
                    assert len(value) <= MAX_TEXT_CHARS and value == value.strip()


def test_the_columns_match_the_library_table(conn):
    types = {"path": "VARCHAR", "text": "VARCHAR", "int32": "INTEGER", "int64": "BIGINT"}
    table = {
        name: (data_type, nullable == "YES")
        for name, data_type, nullable in conn.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'library' AND table_name = 'local_files'"
        ).fetchall()
    }
    for column in RECORD_COLUMNS:
        assert table[column.name] == (types[column.kind], not column.required), column.name
    assert scanner.RECORD_SCHEMA.names == list(RECORD_FIELDS)


def test_a_record_arrow_refuses_costs_only_that_record():
    """Should fitting ever let a value through that Arrow refuses, only that row is left out."""

    def row(name, **values):
        return (
            {n: None for n in RECORD_FIELDS}
            | {"path": f"/music/{name}.wv", "size": 100, "mtime_ns": 5}
            | {
                "format": "wavpack",
                **values,
            }
        )

    rows = [
        row("good", channels=2),
        row("bool", channels=True),
        row("huge", bitrate=2**40),
        row("no-format", format=None),
        row("surrogate", title="a\ud800"),
        row("also-good", title="fine"),
    ]
    table, refused = scanner.records_table(rows)

    assert table.column("path").to_pylist() == ["/music/good.wv", "/music/also-good.wv"]
    reasons = {rows[index]["path"]: reason for index, reason in refused}
    assert set(reasons) == {"/music/bool.wv", "/music/huge.wv", "/music/no-format.wv", "/music/surrogate.wv"}
    assert reasons["/music/bool.wv"] == "cannot be stored: ArrowTypeError: Expected integer, got bool"
    assert reasons["/music/no-format.wv"] == "cannot be stored: ValueError: format is empty"


def test_an_error_row_with_odd_stat_values_is_still_stored(conn):
    conn.execute("DELETE FROM library.scan_errors")
    batch = [
        ReadResult(FileStat("/music/a.mp3", -1, math.nan), error="empty file (0 bytes)"),
        ReadResult(FileStat("/music/b\udcff.mp3", True, Decimal("1.5")), error=b"bad \xff reason"),
        ReadResult(FileStat("/music/c.mp3", 2**64, Fraction(3, 2)), error=""),
        ReadResult(FileStat("/music/d.mp3", 10, 20)),
    ]
    write_results(conn, batch, ScanSummary(music_dir="/music"))
    assert conn.execute(
        "SELECT path, error, kind, size, mtime_ns FROM library.scan_errors ORDER BY path"
    ).fetchall() == [
        ("/music/a.mp3", "empty file (0 bytes)", "unreadable", None, None),
        ("/music/b\ufffd.mp3", "bad \ufffd reason", "unreadable", 1, None),
        ("/music/c.mp3", "unreadable: the reader gave no record and no reason", "unreadable", None, 2),
        ("/music/d.mp3", "unreadable: the reader gave no record and no reason", "unreadable", 10, 20),
    ]
    assert COLUMNS["size"].bounds == (0, 2**63 - 1)
