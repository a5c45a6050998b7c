"""SlskdResource against the slskd stand-in: serial searches, enqueues in both answer styles, downloads to disk."""

from __future__ import annotations

import itertools
import json
import socket
import threading
from collections import deque
from pathlib import Path

import httpx
import mutagen
import pytest

from soulspot_pipeline.devkit.standins.slskd import BUSY_MESSAGE, SharedFile, SlskdStandin
from soulspot_pipeline.devkit.synth import audio_bytes
from soulspot_pipeline.domain.cloud import ProviderError
from soulspot_pipeline.domain.slskd_states import parse_state, transfer_outcome
from soulspot_pipeline.resources.slskd import SlskdResource, Transfer, parse_timestamp

KEY = "resource-test-key"
FLAC_NAME = "@@fvxlo\\music\\Daft Punk\\Discovery\\01 One More Time.flac"
MP3_NAME = "@@fvxlo\\music\\Daft Punk\\Discovery\\02 Aerodynamic.mp3"


class FakeClock:
    def __init__(self) -> None:
        self.now = 5000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def flac() -> bytes:
    return audio_bytes("flac", {"artist": "Daft Punk", "title": "One More Time", "album": "Discovery"}, seconds=0.5)


@pytest.fixture
def mp3() -> bytes:
    return audio_bytes("mp3", {"artist": "Daft Punk", "title": "Aerodynamic"}, seconds=0.5)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    return tmp_path / "slskd"


def _standin(root: Path, **options) -> SlskdStandin:
    return SlskdStandin(root / "downloads", api_key=KEY, **options)


def _resource(standin: SlskdStandin, **options) -> SlskdResource:
    settings = {"poll_interval_s": 0.01, "max_search_wait_s": 5.0, "retry_base_delay_s": 0.01, "timeout_s": 5.0}
    return SlskdResource(base_url=standin.url, api_key=KEY, **{**settings, **options})


@pytest.fixture
def standin(root: Path, flac: bytes, mp3: bytes):
    with _standin(root) as server:
        server.add_peer(
            "fvxlo",
            files=[
                SharedFile(FLAC_NAME, flac, bit_depth=16, sample_rate=44100, length=1),
                SharedFile(MP3_NAME, mp3, bit_rate=320, length=1, is_variable_bit_rate=False),
            ],
            queue_length=1,
        )
        yield server


def _wait_for(slskd: SlskdResource, filename: str, *, polls: int = 20) -> Transfer:
    for _ in range(polls):
        transfer = next(t for t in slskd.downloads() if t.filename == filename)
        if transfer_outcome(transfer.state).finished:
            return transfer
    return transfer


# -- searches ----------------------------------------------------------------------


def test_a_search_runs_to_its_end_and_keeps_slskd_tidy(standin: SlskdStandin) -> None:
    slskd = _resource(standin)
    result = slskd.search("daft punk discovery")

    assert result.state == frozenset({"Completed", "Succeeded"})
    assert result.text == "daft punk discovery"
    assert result.started_at is not None and result.ended_at is not None
    assert result.started_at.tzinfo is not None and result.ended_at >= result.started_at
    (response,) = result.responses
    assert response["username"] == "fvxlo" and response["hasFreeUploadSlot"] is True
    files = {f["filename"]: f for f in response["files"]}
    assert files[FLAC_NAME]["extension"] == "" and "bitRate" not in files[FLAC_NAME]
    assert files[MP3_NAME]["bitRate"] == 320

    post = next(r for r in standin.requests if r.method == "POST")
    assert post.headers["x-api-key"] == KEY
    polls = [r for r in standin.requests if r.method == "GET" and r.path == f"/api/v0/searches/{result.search_id}"]
    assert len(polls) == 3  # InProgress twice, then completed
    assert standin.count(f"/api/v0/searches/{result.search_id}/responses") == 1
    assert [r.method for r in standin.requests][-1] == "DELETE"
    assert standin.searches[0].search_id == result.search_id
    with httpx.Client(base_url=standin.url, headers={"X-API-Key": KEY}) as api:
        assert api.get("/api/v0/searches").json() == []


def test_search_timeout_is_sent_in_milliseconds(standin: SlskdStandin, monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[dict] = []
    original = standin.handle

    def spy(method, path, query, headers, body):
        if method == "POST" and path == "/api/v0/searches":
            seen.append(json.loads(body))
        return original(method, path, query, headers, body)

    monkeypatch.setattr(standin, "handle", spy)
    _resource(standin, search_timeout_s=7.5).search("daft")
    assert seen[0]["searchTimeout"] == 7500 and seen[0]["searchText"] == "daft" and seen[0]["id"]


def test_two_threads_never_search_at_the_same_time(root: Path, flac: bytes) -> None:
    # slskd's own 429 is off: only the client keeps the searches apart.
    with _standin(root, reject_concurrent_searches=False, search_polls=3) as standin:
        standin.add_peer("fvxlo", files=[SharedFile(FLAC_NAME, flac)])
        results: dict[str, list] = {}
        errors: list[BaseException] = []

        def worker(name: str) -> None:
            slskd = _resource(standin)  # one resource each, as separate ops would have
            try:
                results[name] = [slskd.search(f"daft punk {word}") for word in ("one", "more", "time")]
            except BaseException as exc:
                errors.append(exc)

        threads = [threading.Thread(target=worker, args=(n,)) for n in ("a", "b")]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=20)

    assert not errors
    assert all(
        len(r) == 3 and all(s.state == frozenset({"Completed", "Succeeded"}) for s in r) for r in results.values()
    )
    records = sorted(standin.searches, key=lambda r: r.started)
    assert len(records) == 6 and standin.max_concurrent_searches == 1
    for earlier, later in itertools.pairwise(records):
        assert earlier.ended is not None and earlier.ended <= later.started


def test_a_search_waits_while_another_client_searches(root: Path) -> None:
    with (
        _standin(root, search_polls=None) as standin,
        httpx.Client(base_url=standin.url, headers={"X-API-Key": KEY}) as other,
    ):
        # Another process's search: it ends only when its 300 ms search timeout passes.
        theirs = other.post("/api/v0/searches", json={"searchText": "theirs", "searchTimeout": 300}).json()
        slskd = _resource(standin, search_timeout_s=0.05, poll_interval_s=0.02)
        result = slskd.search("mine")
    assert result.state == frozenset({"Completed", "TimedOut"})
    assert slskd.stats.rate_limited >= 1
    mine = next(r for r in standin.searches if r.search_id == result.search_id)
    first = next(r for r in standin.searches if r.search_id == theirs["id"])
    assert first.ended is not None and first.ended <= mine.started
    assert standin.max_concurrent_searches == 1


def test_a_429_answer_is_waited_out(standin: SlskdStandin) -> None:
    standin.inject("/api/v0/searches", status=429, times=2, body=BUSY_MESSAGE)
    slskd = _resource(standin)
    result = slskd.search("daft")
    assert result.state == frozenset({"Completed", "Succeeded"}) and len(result.responses) == 1
    assert slskd.stats.rate_limited == 2 and len(standin.searches) == 1


def test_a_busy_slskd_is_given_up_on_with_a_clear_error(standin: SlskdStandin) -> None:
    standin.inject("/api/v0/searches", status=429, times=1000, body=BUSY_MESSAGE)
    with pytest.raises(ProviderError, match="busy with another search"):
        _resource(standin, max_search_wait_s=0.1).search("daft")
    assert standin.searches == []


def test_a_search_that_never_ends_is_stopped_and_deleted(root: Path) -> None:
    with _standin(root, search_polls=None) as standin:
        with pytest.raises(ProviderError, match="still 'InProgress'"):
            _resource(standin, max_search_wait_s=0.1).search("forever")
        (record,) = standin.searches
        assert record.state == "Completed, Cancelled" and record.ended is not None
        assert [r.method for r in standin.requests][-2:] == ["PUT", "DELETE"]
        with httpx.Client(base_url=standin.url, headers={"X-API-Key": KEY}) as api:
            assert api.get("/api/v0/searches").json() == []


def test_35_searches_in_220_seconds_get_the_client_banned(root: Path) -> None:
    clock = FakeClock()
    with _standin(root, search_polls=0, ban_after=(34, 220.0), clock=clock) as standin:
        standin.add_peer("peer", files=[SharedFile("@@p\\Artist\\Album\\Song.flac", b"fLaC")])
        slskd = _resource(standin)
        results = []
        for _ in range(35):
            results.append(slskd.search("song"))
            clock.now += 5.0
    assert all(len(r.responses) == 1 for r in results[:34])
    assert results[34].state == frozenset({"Completed", "Errored"}) and results[34].responses == []
    assert standin.banned and standin.searches[34].banned


def test_a_search_budget_before_each_search_keeps_the_client_from_being_banned(root: Path) -> None:
    clock = FakeClock()
    with _standin(root, search_polls=0, ban_after=(34, 220.0), clock=clock) as standin:
        standin.add_peer("peer", files=[SharedFile("@@p\\Artist\\Album\\Song.flac", b"fLaC")])
        slskd = _resource(standin)
        started: deque[float] = deque()

        def budget(limit: int = 30, window_s: float = 220.0) -> None:
            # A sliding-window budget; its waiting moves the simulated clock instead of sleeping.
            while started and clock.now - started[0] >= window_s:
                started.popleft()
            if len(started) >= limit:
                clock.now = started[0] + window_s
                started.popleft()
            started.append(clock.now)

        for _ in range(80):
            assert len(slskd.search("song", before_search=budget).responses) == 1
            clock.now += 1.0
    assert not standin.banned
    assert len(standin.searches) == 80 and standin.max_searches_in_window(220.0) <= 30


# -- enqueue and downloads -----------------------------------------------------------


def test_enqueue_with_the_newer_answer(standin: SlskdStandin, flac: bytes) -> None:
    slskd = _resource(standin)
    result = slskd.enqueue("fvxlo", [(FLAC_NAME, len(flac)), ("@@fvxlo\\music\\missing.flac", 123)])
    assert result.enqueued == [FLAC_NAME]
    assert result.failed == [("@@fvxlo\\music\\missing.flac", "slskd could not enqueue it")]
    (transfer,) = result.transfers
    assert transfer.filename == FLAC_NAME and transfer.size == len(flac) and transfer.username == "fvxlo"
    assert transfer.state == frozenset({"Requested"}) and transfer.requested_at is not None
    assert transfer.directory == "@@fvxlo\\music\\Daft Punk\\Discovery"
    assert [t.id for t in slskd.downloads()] == [transfer.id]


def test_enqueue_failures_with_reasons(standin: SlskdStandin) -> None:
    standin.inject(
        "/api/v0/transfers/downloads/",
        status=201,
        body={"enqueued": [], "failed": [{"filename": FLAC_NAME, "message": "User fvxlo appears to be offline"}]},
    )
    result = _resource(standin).enqueue("fvxlo", [(FLAC_NAME, 1)])
    assert result.enqueued == [] and result.failed == [(FLAC_NAME, "User fvxlo appears to be offline")]


def test_enqueue_with_the_older_empty_answer(root: Path, flac: bytes) -> None:
    with _standin(root, legacy_enqueue=True) as standin:
        standin.add_peer("fvxlo", files=[SharedFile(FLAC_NAME, flac)])
        slskd = _resource(standin)
        result = slskd.enqueue("fvxlo", [(FLAC_NAME, len(flac)), ("@@fvxlo\\x\\missing.flac", 9)])
        assert (
            result.enqueued == [FLAC_NAME, "@@fvxlo\\x\\missing.flac"]
            and result.failed == []
            and result.transfers == []
        )
        good = _wait_for(slskd, FLAC_NAME)
        missing = _wait_for(slskd, "@@fvxlo\\x\\missing.flac")
    assert transfer_outcome(good.state).status == "succeeded"
    assert transfer_outcome(missing.state) == ("failed", "rejected") and missing.exception == "File not shared."


def test_an_enqueue_refused_for_a_moment_is_retried(standin: SlskdStandin, flac: bytes) -> None:
    standin.inject("/api/v0/transfers/downloads/", status=429, times=1, body=BUSY_MESSAGE)
    slskd = _resource(standin)
    assert slskd.enqueue("fvxlo", [(FLAC_NAME, len(flac))]).enqueued == [FLAC_NAME]
    assert slskd.stats.rate_limited == 1


def test_a_download_goes_through_every_state_and_lands_on_disk(standin: SlskdStandin, root: Path, flac: bytes) -> None:
    slskd = _resource(standin)
    (transfer_id,) = [t.id for t in slskd.enqueue("fvxlo", [(FLAC_NAME, len(flac))]).transfers]
    outcomes = []
    for _ in range(8):
        (transfer,) = slskd.downloads()
        outcomes.append(transfer_outcome(transfer.state).status)
    assert outcomes == [
        "queued_remotely",
        "initializing",
        "in_progress",
        "in_progress",
        "in_progress",
        "succeeded",
        "succeeded",
        "succeeded",
    ]
    assert transfer.id == transfer_id and transfer.percent_complete == 100.0
    assert transfer.bytes_transferred == transfer.size == len(flac)
    assert (
        transfer.started_at is not None and transfer.ended_at is not None and transfer.ended_at >= transfer.started_at
    )
    landed = root / "downloads" / "Discovery" / "01 One More Time.flac"
    assert landed.read_bytes() == flac
    assert mutagen.File(landed)["title"] == ["One More Time"]


@pytest.mark.parametrize(
    ("behaviour", "status", "reason", "exception"),
    [
        ("succeed", "succeeded", None, None),
        ("queued_remotely", "queued_remotely", None, None),
        ("errored", "failed", "errored", "Remote connection closed"),
        ("rejected", "failed", "rejected", "File not shared."),
        ("stall", "in_progress", None, None),
        ("truncated", "succeeded", None, None),
        ("timed_out", "failed", "timed out", "Inactivity timeout of 15000 milliseconds was reached"),
    ],
)
def test_every_peer_behaviour_reads_as_its_outcome(
    root: Path, mp3: bytes, behaviour: str, status: str, reason: str | None, exception: str | None
) -> None:
    with _standin(root) as standin:
        standin.add_peer("peer", files=[SharedFile(MP3_NAME, mp3)], behaviour=behaviour, queue_length=2)
        slskd = _resource(standin)
        slskd.enqueue("peer", [(MP3_NAME, len(mp3))])
        transfer = _wait_for(slskd, MP3_NAME, polls=15)
    assert transfer_outcome(transfer.state) == (status, reason)
    assert transfer.exception == exception
    landed = root / "downloads" / "Discovery" / "02 Aerodynamic.mp3"
    if behaviour == "succeed":
        assert landed.read_bytes() == mp3
    elif behaviour == "truncated":
        # Reported as a success, but the bytes on disk fall short: only checking the file shows it.
        assert transfer.bytes_transferred == transfer.size and landed.stat().st_size < transfer.size
    else:
        assert not landed.exists()
    if behaviour == "queued_remotely":
        assert transfer.place_in_queue == 3
    if behaviour == "stall":
        assert 0 < transfer.bytes_transferred < transfer.size and transfer.average_speed > 0


def test_cancel_and_remove_a_download(root: Path, flac: bytes) -> None:
    with _standin(root) as standin:
        standin.add_peer("slow", files=[SharedFile(FLAC_NAME, flac)], behaviour="stall")
        slskd = _resource(standin)
        (transfer,) = slskd.enqueue("slow", [(FLAC_NAME, len(flac))]).transfers
        slskd.downloads()
        assert slskd.cancel("slow", transfer.id) is True
        (cancelled,) = slskd.downloads()
        assert transfer_outcome(cancelled.state) == ("failed", "cancelled") and cancelled.ended_at is not None
        assert slskd.cancel("slow", transfer.id, remove=True) is True
        assert slskd.downloads() == []
        assert slskd.cancel("slow", "3f2504e0-4f89-11d3-9a0c-0305e82c3301") is False
    deletes = [r for r in standin.requests if r.method == "DELETE"]
    assert [r.query.get("remove") for r in deletes] == ["false", "true", "false"]


def test_hostile_names_from_a_search_download_inside_the_downloads_folder(tmp_path: Path, mp3: bytes) -> None:
    root = tmp_path / "jail" / "slskd"
    names = ["@@m\\evil\\..\\..\\..\\evil.mp3", "C:\\Users\\x\\evil.mp3", "@@m\\a\x00b\\c\x1b[31md.mp3"]
    with _standin(root) as standin:
        standin.add_peer("mallory", files=[SharedFile(n, mp3) for n in names])
        slskd = _resource(standin)
        found = slskd.search("evil mp3").responses + slskd.search("31md").responses
        offered = [(f["filename"], f["size"]) for r in found for f in r["files"]]
        assert sorted(n for n, _ in offered) == sorted(names)
        slskd.enqueue("mallory", offered)
        for name, _ in offered:
            assert transfer_outcome(_wait_for(slskd, name).state).status == "succeeded"
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert len(written) == 3
    assert all(p.resolve().is_relative_to((root / "downloads").resolve()) for p in written)


def test_a_real_flac_survives_the_transfer(realdata: Path, root: Path) -> None:
    source = realdata / "beets" / "test" / "rsrc" / "full.flac"
    data = source.read_bytes()
    remote = "@@beets\\rsrc\\the album\\full.flac"
    with _standin(root) as standin:
        standin.add_peer("beets", files=[SharedFile(remote, data)])
        slskd = _resource(standin)
        (response,) = slskd.search("the album full").responses
        (offered,) = response["files"]
        slskd.enqueue("beets", [(offered["filename"], offered["size"])])
        assert transfer_outcome(_wait_for(slskd, remote).state).status == "succeeded"
    landed = root / "downloads" / "the album" / "full.flac"
    assert landed.read_bytes() == data
    downloaded, original = mutagen.File(landed), mutagen.File(source)
    assert downloaded is not None and dict(downloaded.tags) == dict(original.tags)
    assert downloaded.info.length == original.info.length


# -- errors and plumbing --------------------------------------------------------------


def test_a_wrong_api_key_gives_a_clear_error(standin: SlskdStandin) -> None:
    slskd = SlskdResource(base_url=standin.url, api_key="wrong", poll_interval_s=0.01)
    for call in (lambda: slskd.search("daft"), slskd.downloads, slskd.application):
        with pytest.raises(ProviderError, match="slskd refused the API key"):
            call()
    assert standin.searches == []


def test_a_refused_connection_names_the_url() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    slskd = SlskdResource(base_url=url, api_key=KEY, max_attempts=2, retry_base_delay_s=0.01)
    with pytest.raises(ProviderError, match=f"cannot reach slskd at {url}"):
        slskd.downloads()
    assert slskd.stats.retries == 1


def test_server_errors_are_retried(standin: SlskdStandin, flac: bytes) -> None:
    standin.inject("/api/v0/transfers/downloads", status=503, times=2)
    slskd = _resource(standin)
    assert slskd.downloads() == []
    assert slskd.stats.retries == 2 and slskd.stats.statuses == {"503": 2}
    standin.inject("/api/v0/transfers/downloads", status=500, times=5)
    with pytest.raises(ProviderError, match="failed after 3 attempt"):
        slskd.downloads()


def test_not_configured() -> None:
    slskd = SlskdResource()
    assert not slskd.configured
    with pytest.raises(ProviderError, match="not configured"):
        slskd.search("x")
    assert SlskdResource(base_url="http://127.0.0.1:5030", api_key=KEY).configured


def test_application_answers_the_health_check(standin: SlskdStandin) -> None:
    assert _resource(standin).application()["server"]["isLoggedIn"] is True


@pytest.mark.parametrize(
    ("text", "iso"),
    [
        ("2024-06-01T12:00:00.1234567", "2024-06-01T12:00:00.123456+00:00"),
        ("2024-06-01T12:00:00Z", "2024-06-01T12:00:00+00:00"),
        ("2024-06-01T14:00:00.5+02:00", "2024-06-01T14:00:00.500000+02:00"),
    ],
)
def test_parse_timestamp(text: str, iso: str) -> None:
    parsed = parse_timestamp(text)
    assert parsed is not None and parsed.isoformat() == iso


def test_parse_timestamp_rejects_garbage() -> None:
    assert parse_timestamp("yesterday") is None and parse_timestamp(None) is None and parse_timestamp("") is None


def test_state_flags_reach_the_transfer(standin: SlskdStandin) -> None:
    standin.inject(
        "/api/v0/transfers/downloads",
        status=200,
        body=[
            {
                "username": "u",
                "directories": [
                    {
                        "directory": "@@x\\A",
                        "fileCount": 1,
                        "files": [
                            {
                                "id": "i",
                                "filename": "@@x\\A\\b.flac",
                                "size": 5,
                                "state": "Queued, Locally",
                                "placeInQueue": 7,
                            }
                        ],
                    }
                ],
            }
        ],
    )
    (transfer,) = _resource(standin).downloads()
    assert transfer.username == "u" and transfer.directory == "@@x\\A" and transfer.place_in_queue == 7
    assert (
        transfer.state == parse_state("Queued, Locally") and transfer_outcome(transfer.state).status == "queued_locally"
    )
