"""The MusicBrainz answer cache: read once, written in batches, shared by processes.

A miss costs no open of the cache file (the live keys are read once per run); new answers
are served from memory at once and written in one transaction per batch and when the run
ends; several processes write the same file without losing each other's answers; stale
answers are never served; a run killed mid-way leaves the file readable."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable, Iterator

import dagster as dg
import duckdb
import musicbrainzngs
import pytest

from soulspot_pipeline.devkit.standins.musicbrainz import MbCatalog, MusicBrainzStandin
from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource, lookup_key
from soulspot_tests.processes import kill_everything_started_by


@pytest.fixture(autouse=True)
def _restore_musicbrainzngs() -> Iterator[None]:
    mb = musicbrainzngs.musicbrainz
    saved = (mb.hostname, mb.https, mb._useragent)
    yield
    mb.hostname, mb.https, mb._useragent = saved


def resource(tmp_path, server_url: str = "http://127.0.0.1:9", **overrides) -> MusicBrainzResource:
    settings = {
        "server_url": server_url,
        "rate": 1000.0,
        "contact": "tests@example.org",
        "cache_path": str(tmp_path / "cache.duckdb"),
        "throttle_path": str(tmp_path / "rate.lock"),
        "retry_base_delay_s": 0.01,
        **overrides,
    }
    return MusicBrainzResource(**settings)


def cached_rows(tmp_path) -> dict[str, dict]:
    with duckdb.connect(str(tmp_path / "cache.duckdb")) as conn:
        return {
            key: json.loads(response)
            for key, response in conn.execute("SELECT key, response FROM responses").fetchall()
        }


def catalog(artists: int) -> tuple[MbCatalog, list[str]]:
    c = MbCatalog()
    return c, [c.add_artist(f"Artist {n:03d}").mbid for n in range(artists)]


class Answers:
    """Stand-ins for musicbrainzngs calls that answer without the network, counted."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, n: int) -> Callable[[], dict]:
        def call() -> dict:
            self.calls += 1
            return {"n": n}

        return call


def name_of(found: dict | None) -> str:
    assert found is not None
    return found["name"]


def test_a_new_answer_is_served_at_once_from_memory_and_written_when_flushed(tmp_path):
    c, (mbid,) = catalog(1)
    with MusicBrainzStandin(c) as server:
        mb = resource(tmp_path, server.url)
        assert name_of(mb.artist(mbid)) == "Artist 000"
        assert name_of(mb.artist(mbid)) == "Artist 000"  # the buffered answer, not a second request
        assert server.count("/ws/2/") == 1 and mb.cache_hits == 1
        assert mb.cache_opens == 1  # the keys, read once; nothing written yet
        assert cached_rows(tmp_path) == {}

        assert mb.flush() == 1 and mb.flush() == 0
        again = resource(tmp_path, server.url)
        assert name_of(again.artist(mbid)) == "Artist 000"
        assert server.count("/ws/2/") == 1 and again.cache_hits == 1


def test_answers_are_written_one_transaction_per_batch_not_one_per_request(tmp_path):
    c, mbids = catalog(45)
    with MusicBrainzStandin(c) as server:
        mb = resource(tmp_path, server.url, cache_flush_every=10)
        for mbid in mbids:
            mb.artist(mbid)
        assert server.count("/ws/2/") == 45
        # One open for the keys, one per 10 answers; the last 5 wait for the end of the run.
        assert mb.cache_opens == 1 + 4 and len(cached_rows(tmp_path)) == 40
        mb.flush()
        assert mb.cache_opens == 6 and len(cached_rows(tmp_path)) == 45

        rerun = resource(tmp_path, server.url)
        assert rerun.warm([lookup_key("artist", m) for m in mbids] + [lookup_key("artist", "unknown")]) == 45
        for mbid in mbids:
            assert rerun.artist(mbid) is not None
        assert server.count("/ws/2/") == 45 and rerun.cache_hits == 45
        assert rerun.cache_opens == 2  # the keys, then every answer in one read
        assert rerun.warm([lookup_key("artist", m) for m in mbids]) == 0 and rerun.cache_opens == 2


def test_unwritten_answers_are_written_after_some_seconds_even_in_a_small_batch(tmp_path):
    mb, answer = resource(tmp_path, cache_flush_every=1000, cache_flush_s=0.0), Answers()
    mb.request("search/x?1", answer(1))
    mb.request("search/x?2", answer(2))
    assert set(cached_rows(tmp_path)) == {"search/x?1", "search/x?2"}


@pytest.mark.integration
def test_a_dagster_run_writes_its_answers_when_it_ends_even_when_it_fails(tmp_path):
    c, mbids = catalog(3)

    @dg.asset
    def looks_up(musicbrainz: MusicBrainzResource) -> None:
        for mbid in mbids[:2]:
            musicbrainz.artist(mbid)

    @dg.asset
    def looks_up_then_fails(musicbrainz: MusicBrainzResource) -> None:
        musicbrainz.artist(mbids[2])
        raise RuntimeError("something after the request went wrong")

    with MusicBrainzStandin(c) as server:
        mb = resource(tmp_path, server.url)
        assert dg.materialize([looks_up], resources={"musicbrainz": mb}).success
        assert len(cached_rows(tmp_path)) == 2
        failed = dg.materialize([looks_up_then_fails], resources={"musicbrainz": mb}, raise_on_error=False)
        assert not failed.success
        assert len(cached_rows(tmp_path)) == 3
        assert dg.materialize([looks_up], resources={"musicbrainz": mb}).success
        assert server.count("/ws/2/") == 3  # the second run of looks_up asked nothing


def test_stale_answers_are_never_served(tmp_path):
    mb, answer = resource(tmp_path), Answers()
    assert mb.request("search/stale", answer(1), ttl_days=-1) == {"n": 1}
    assert mb.request("search/stale", answer(2), ttl_days=-1) == {"n": 2}  # stale at once: asked again
    assert mb.request("search/fresh", answer(3)) == {"n": 3}
    mb.flush()
    assert set(cached_rows(tmp_path)) == {"search/stale", "search/fresh"}

    # Another run: the stale answer is not among the keys it reads, and is asked again.
    rerun = resource(tmp_path)
    assert rerun.warm(["search/stale", "search/fresh"]) == 1
    assert rerun.request("search/stale", answer(4)) == {"n": 4}
    assert rerun.request("search/fresh", answer(5)) == {"n": 3}
    # An answer that goes stale after the run read the keys is not served either.
    short = resource(tmp_path)
    short.request("search/short", answer(6), ttl_days=0.5 / 86400)
    short.flush()
    late = resource(tmp_path)
    late.warm([])  # reads the keys, the short-lived one perhaps still among them
    time.sleep(0.6)
    assert late.request("search/short", answer(7)) == {"n": 7}
    assert answer.calls == 6


WRITER = textwrap.dedent(
    """
    import json, sys
    from soulspot_pipeline.resources.musicbrainz import MusicBrainzResource, lookup_key

    settings, prefix, count = json.loads(sys.argv[1]), sys.argv[2], int(sys.argv[3])
    mb = MusicBrainzResource(**settings)
    n = 0
    while count < 0 or n < count:
        key = f"search/shared?{n}" if n % 3 == 0 else f"search/{prefix}?{n}"
        mb.request(key, lambda: {"by": prefix, "n": n, "padding": "x" * 2000})
        n += 1
        if n % settings["cache_flush_every"] == 0:
            print(n, flush=True)
    mb.flush()
    """
)


def writer_settings(tmp_path, name: str) -> dict:
    return {
        "server_url": "http://127.0.0.1:9",
        "rate": 1000.0,
        "cache_path": str(tmp_path / "cache.duckdb"),
        "throttle_path": str(tmp_path / f"{name}.lock"),  # each its own turn: they race for the cache
        "cache_flush_every": 7,
    }


@pytest.mark.subprocess
def test_two_processes_writing_the_cache_at_once_keep_each_others_answers(tmp_path):
    resource(tmp_path).flush()  # nothing to write
    runs = [
        subprocess.Popen(
            [sys.executable, "-c", WRITER, json.dumps(writer_settings(tmp_path, name)), name, "150"],
            stdout=subprocess.DEVNULL,
        )
        for name in ("first", "second")
    ]
    assert [run.wait(timeout=120) for run in runs] == [0, 0]
    rows = cached_rows(tmp_path)
    assert {k for k in rows if k.startswith("search/first?")} == {f"search/first?{n}" for n in range(150) if n % 3}
    assert {k for k in rows if k.startswith("search/second?")} == {f"search/second?{n}" for n in range(150) if n % 3}
    # The keys both asked for hold one whole answer each, from one or the other.
    shared = {k: v for k, v in rows.items() if k.startswith("search/shared?")}
    assert set(shared) == {f"search/shared?{n}" for n in range(0, 150, 3)}
    assert all(v["by"] in ("first", "second") and f"search/shared?{v['n']}" == k for k, v in shared.items())
    assert len(rows) == 100 + 100 + 50


@pytest.mark.subprocess
def test_a_run_killed_while_writing_leaves_a_readable_cache_with_every_batch_it_finished(tmp_path):
    child = subprocess.Popen(
        [sys.executable, "-c", WRITER, json.dumps(writer_settings(tmp_path, "killed")), "killed", "-1"],
        stdout=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        assert child.stdout is not None
        finished = 0
        for line in child.stdout:
            finished = int(line)
            if finished >= 7 * 6:  # six batches written, the next ones on their way
                break
    finally:
        kill_everything_started_by(child.pid)
        child.wait(timeout=30)
    assert finished >= 42
    rows = cached_rows(tmp_path)  # opens: the killed writer's lock is gone, its log replayed
    assert len(rows) >= finished and all(v["by"] == "killed" for v in rows.values())
    rerun, answer = resource(tmp_path), Answers()
    assert (rerun.request("search/killed?1", answer(0)) or {}).get("by") == "killed" and answer.calls == 0
    rerun.request("search/after", answer(1))
    rerun.flush()
    assert "search/after" in cached_rows(tmp_path)


def test_at_a_mirror_s_50_requests_a_second_no_request_comes_too_soon(tmp_path):
    c, mbids = catalog(40)
    with MusicBrainzStandin(c, min_interval_s=1 / 50) as server:
        mb = resource(tmp_path, server.url, rate=50.0)
        for mbid in mbids:
            assert mb.artist(mbid) is not None
        assert server.count("/ws/2/") == 40 and server.rate_violations == 0
