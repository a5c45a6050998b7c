"""The slskd stand-in speaks slskd's wire format and behaves like slskd and the Soulseek network behind it."""

from __future__ import annotations

import unicodedata
import uuid
from pathlib import Path

import httpx
import pytest

from soulspot_pipeline.devkit.standins.slskd import (
    BUSY_MESSAGE,
    REJECTED_EXCEPTION,
    SharedFile,
    SlskdStandin,
    local_parts,
    safe_component,
)
from soulspot_pipeline.devkit.synth import audio_bytes

KEY = "test-key"
FLAC_NAME = "@@fvxlo\\music\\Daft Punk\\Discovery\\01 One More Time.flac"
MP3_NAME = "@@fvxlo\\music\\Daft Punk\\Discovery\\02 Aerodynamic.mp3"


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def flac() -> bytes:
    return audio_bytes("flac", {"artist": "Daft Punk", "title": "One More Time"}, seconds=0.5)


@pytest.fixture
def slskd_root(tmp_path: Path) -> Path:
    return tmp_path / "slskd"


def _standin(root: Path, **options) -> SlskdStandin:
    return SlskdStandin(root / "downloads", api_key=KEY, **options)


@pytest.fixture
def standin(slskd_root: Path, flac: bytes):
    with _standin(slskd_root) as server:
        server.add_peer(
            "fvxlo",
            files=[
                SharedFile(FLAC_NAME, flac, bit_depth=16, sample_rate=44100, length=1),
                SharedFile(
                    MP3_NAME, audio_bytes("mp3", seconds=0.5), bit_rate=320, length=1, is_variable_bit_rate=False
                ),
            ],
        )
        server.add_peer("other", files=[SharedFile("@@abcde\\Électro\\Daft Punk - Homework\\Da Funk.flac", flac)])
        yield server


@pytest.fixture
def api(standin: SlskdStandin):
    with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}, timeout=5) as client:
        yield client


def _start(api: httpx.Client, text: str, **extra) -> dict:
    response = api.post("/searches", json={"searchText": text, **extra})
    assert response.status_code == 200, response.text
    return response.json()


def _poll_until_done(api: httpx.Client, search_id: str) -> dict:
    for _ in range(20):
        search = api.get(f"/searches/{search_id}").json()
        if search["isComplete"]:
            return search
    raise AssertionError("the search never completed")


def _poll(api: httpx.Client, times: int) -> list[dict]:
    listing: list[dict] = []
    for _ in range(times):
        listing = api.get("/transfers/downloads").json()
    return [t for user in listing for d in user["directories"] for t in d["files"]]


# -- authentication and health ------------------------------------------------------------


def test_requests_without_the_api_key_are_refused(standin: SlskdStandin) -> None:
    with httpx.Client(base_url=standin.url, timeout=5) as client:
        assert client.get("/api/v0/application").status_code == 401
        assert client.get("/api/v0/session", headers={"X-API-Key": "wrong"}).status_code == 401
        assert client.post("/api/v0/searches", json={"searchText": "daft"}).status_code == 401
    assert standin.searches == []


def test_application_and_session_answer_a_health_check(api: httpx.Client) -> None:
    application = api.get("/application").json()
    assert application["server"]["isLoggedIn"] is True
    assert application["version"]["current"]
    assert api.get("/application/version").json() == application["version"]["current"]
    assert api.get("/session").status_code == 200


# -- searches -------------------------------------------------------------------------


def test_a_search_runs_for_some_polls_and_ends_with_real_shapes(api: httpx.Client, standin: SlskdStandin) -> None:
    search_id = str(uuid.uuid4())
    started = _start(api, "daft punk", id=search_id, searchTimeout=15000)
    assert started["id"] == search_id
    assert started["state"] == "InProgress" and started["isComplete"] is False
    assert {"responseCount", "fileCount", "lockedFileCount", "startedAt", "token", "searchText"} <= started.keys()
    assert "endedAt" not in started

    states = [api.get(f"/searches/{search_id}").json()["state"] for _ in range(3)]
    assert states == ["InProgress", "InProgress", "Completed, Succeeded"]

    search = api.get(f"/searches/{search_id}", params={"includeResponses": "true"}).json()
    assert search["isComplete"] is True and search["endedAt"]
    assert search["responseCount"] == 2 and search["fileCount"] == 3
    responses = api.get(f"/searches/{search_id}/responses").json()
    assert responses == search["responses"]
    by_user = {r["username"]: r for r in responses}
    fvxlo = by_user["fvxlo"]
    assert set(fvxlo) == {
        "username",
        "fileCount",
        "files",
        "lockedFileCount",
        "lockedFiles",
        "hasFreeUploadSlot",
        "queueLength",
        "uploadSpeed",
        "token",
    }
    assert fvxlo["token"] == search["token"] and fvxlo["lockedFiles"] == []
    lossless, lossy = sorted(fvxlo["files"], key=lambda f: f["filename"])
    assert lossless["filename"] == FLAC_NAME and lossless["extension"] == "" and lossless["code"] == 1
    assert "bitRate" not in lossless and lossless["bitDepth"] == 16 and lossless["isLocked"] is False
    assert lossy["bitRate"] == 320 and "bitDepth" not in lossy and "sampleRate" not in lossy

    assert api.delete(f"/searches/{search_id}").status_code == 204
    assert api.get(f"/searches/{search_id}").status_code == 404
    record = standin.searches[0]
    assert record.text == "daft punk" and record.ended is not None and record.ended >= record.started


def test_matching_is_word_by_word_and_ignores_case_and_accents(api: httpx.Client) -> None:
    search = _start(api, "ELECTRO da FUNK")
    done = _poll_until_done(api, search["id"])
    responses = api.get(f"/searches/{done['id']}/responses").json()
    assert [r["username"] for r in responses] == ["other"]
    nothing = _poll_until_done(api, _start(api, "daft punk zzzz")["id"])
    assert nothing["responseCount"] == 0 and nothing["state"] == "Completed, Succeeded"


def test_responses_trickle_in_while_the_search_runs(slskd_root: Path, flac: bytes) -> None:
    with _standin(slskd_root, search_polls=3) as standin:
        for i in range(8):
            standin.add_peer(f"peer{i}", files=[SharedFile(f"@@p{i}\\Music\\Artist\\Album\\Track.flac", flac)])
        with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api:
            search_id = _start(api, "artist track")["id"]
            counts = [api.get(f"/searches/{search_id}").json()["responseCount"] for _ in range(4)]
    assert counts == [2, 4, 6, 8]


def test_a_second_search_while_one_runs_gets_429(api: httpx.Client, standin: SlskdStandin) -> None:
    first = _start(api, "daft")
    busy = api.post("/searches", json={"searchText": "punk"})
    assert busy.status_code == 429 and BUSY_MESSAGE in busy.text
    _poll_until_done(api, first["id"])
    _start(api, "punk")
    assert len(standin.searches) == 2 and standin.max_concurrent_searches == 1


def test_limits_and_configured_final_states(slskd_root: Path, flac: bytes) -> None:
    with _standin(slskd_root, search_final_state="Completed, TimedOut") as standin:
        for i in range(3):
            standin.add_peer(f"peer{i}", files=[SharedFile(f"@@p{i}\\Artist\\Album\\Song.flac", flac)])
        with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api:
            limited = _poll_until_done(api, _start(api, "song", responseLimit=2)["id"])
            files = _poll_until_done(api, _start(api, "song", fileLimit=1)["id"])
            plain = _poll_until_done(api, _start(api, "song")["id"])
    assert (limited["state"], limited["responseCount"]) == ("Completed, ResponseLimitReached", 2)
    assert (files["state"], files["fileCount"]) == ("Completed, FileLimitReached", 1)
    assert (plain["state"], plain["responseCount"]) == ("Completed, TimedOut", 3)


def test_a_search_times_out_on_the_clock_and_can_be_stopped(slskd_root: Path) -> None:
    clock = FakeClock()
    with (
        _standin(slskd_root, search_polls=None, clock=clock) as standin,
        httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api,
    ):
        first = _start(api, "anything", searchTimeout=5000)
        assert api.get(f"/searches/{first['id']}").json()["state"] == "InProgress"
        clock.now += 5
        assert api.get(f"/searches/{first['id']}").json()["state"] == "Completed, TimedOut"
        second = _start(api, "again")
        assert api.put(f"/searches/{second['id']}").status_code == 200
        assert api.get(f"/searches/{second['id']}").json()["state"] == "Completed, Cancelled"
        assert [s["id"] for s in api.get("/searches").json()] == [first["id"], second["id"]]


def test_too_many_searches_in_the_window_get_the_client_banned(slskd_root: Path) -> None:
    clock = FakeClock()
    with _standin(slskd_root, search_polls=0, ban_after=(34, 220.0), ban_duration_s=1800.0, clock=clock) as standin:
        standin.add_peer("peer", files=[SharedFile("@@p\\Artist\\Album\\Song.flac", b"fLaC")])
        with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api:
            finals = []
            for _ in range(35):
                finals.append(_poll_until_done(api, _start(api, "song")["id"]))
                clock.now += 6.0  # 35 searches in 210 s
            assert all(f["state"] == "Completed, Succeeded" and f["responseCount"] == 1 for f in finals[:34])
            assert finals[34]["state"] == "Completed, Errored" and finals[34]["responseCount"] == 0
            assert standin.banned and [r.banned for r in standin.searches].count(True) == 1
            assert standin.max_searches_in_window(220.0) == 35

            clock.now += 300  # the window has passed, the ban has not
            assert _poll_until_done(api, _start(api, "song")["id"])["state"] == "Completed, Errored"
            clock.now += 1800
            assert _poll_until_done(api, _start(api, "song")["id"])["state"] == "Completed, Succeeded"


def test_searches_spread_over_the_window_are_not_banned(slskd_root: Path) -> None:
    clock = FakeClock()
    with (
        _standin(slskd_root, search_polls=0, ban_after=(34, 220.0), clock=clock) as standin,
        httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api,
    ):
        for _ in range(60):
            _poll_until_done(api, _start(api, "song")["id"])
            clock.now += 220.0 / 34
    assert not standin.banned and standin.max_searches_in_window(220.0) == 34


def test_search_requests_are_validated(api: httpx.Client) -> None:
    assert api.post("/searches", json={"searchText": "  "}).status_code == 400
    assert api.post("/searches", content=b"not json", headers={"Content-Type": "application/json"}).status_code == 400
    search = _start(api, "daft")
    _poll_until_done(api, search["id"])
    assert api.post("/searches", json={"searchText": "daft", "id": search["id"]}).status_code == 409
    assert api.get(f"/searches/{uuid.uuid4()}").status_code == 404
    assert api.delete(f"/searches/{uuid.uuid4()}").status_code == 404


# -- downloads --------------------------------------------------------------------------


def test_enqueue_answers_with_the_transfers_and_the_failures(api: httpx.Client, flac: bytes) -> None:
    answer = api.post(
        "/transfers/downloads/fvxlo",
        json=[{"filename": FLAC_NAME, "size": len(flac)}, {"filename": "@@fvxlo\\nope.flac", "size": 1}],
    )
    assert answer.status_code == 201
    body = answer.json()
    assert body["failed"] == ["@@fvxlo\\nope.flac"]
    (transfer,) = body["enqueued"]
    assert transfer["state"] == "Requested" and transfer["direction"] == "Download"
    assert transfer["filename"] == FLAC_NAME and transfer["size"] == len(flac)
    assert uuid.UUID(transfer["id"]) and transfer["requestedAt"]
    assert {"startedAt", "endedAt", "exception"}.isdisjoint(transfer)

    unknown_peer = api.post("/transfers/downloads/nobody", json=[{"filename": FLAC_NAME, "size": 1}]).json()
    assert unknown_peer == {"enqueued": [], "failed": [FLAC_NAME]}
    assert api.post("/transfers/downloads/fvxlo", json={"filename": FLAC_NAME}).status_code == 400


def test_older_slskd_answers_enqueue_with_an_empty_201(slskd_root: Path, flac: bytes) -> None:
    with _standin(slskd_root, legacy_enqueue=True) as standin:
        standin.add_peer("fvxlo", files=[SharedFile(FLAC_NAME, flac)])
        with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api:
            answer = api.post(
                "/transfers/downloads/fvxlo",
                json=[{"filename": FLAC_NAME, "size": len(flac)}, {"filename": "@@fvxlo\\nope.flac", "size": 7}],
            )
            assert answer.status_code == 201 and answer.content == b""
            api.post("/transfers/downloads/ghost", json=[{"filename": "@@g\\a\\b.flac", "size": 3}])
            transfers = {t["filename"]: t for t in _poll(api, 6)}
    assert transfers[FLAC_NAME]["state"] == "Completed, Succeeded"
    assert transfers["@@fvxlo\\nope.flac"]["state"] == "Completed, Rejected"
    assert transfers["@@fvxlo\\nope.flac"]["exception"] == REJECTED_EXCEPTION
    assert transfers["@@g\\a\\b.flac"]["state"] == "Completed, Errored"
    assert "offline" in transfers["@@g\\a\\b.flac"]["exception"]


def test_the_download_listing_is_nested_by_user_and_directory(api: httpx.Client, flac: bytes) -> None:
    api.post("/transfers/downloads/fvxlo", json=[{"filename": FLAC_NAME, "size": 1}, {"filename": MP3_NAME, "size": 1}])
    api.post(
        "/transfers/downloads/other",
        json=[{"filename": "@@abcde\\Électro\\Daft Punk - Homework\\Da Funk.flac", "size": 1}],
    )
    listing = api.get("/transfers/downloads").json()
    assert [u["username"] for u in listing] == ["fvxlo", "other"]
    (directory,) = listing[0]["directories"]
    assert directory["directory"] == "@@fvxlo\\music\\Daft Punk\\Discovery" and directory["fileCount"] == 2
    assert [f["filename"] for f in directory["files"]] == [FLAC_NAME, MP3_NAME]
    user = api.get("/transfers/downloads/fvxlo").json()
    assert user["username"] == "fvxlo" and user["directories"][0]["fileCount"] == 2
    one = directory["files"][0]
    assert api.get(f"/transfers/downloads/fvxlo/{one['id']}").json()["id"] == one["id"]
    assert api.get("/transfers/downloads/nobody").status_code == 404
    assert api.get(f"/transfers/downloads/fvxlo/{uuid.uuid4()}").status_code == 404
    assert api.get("/transfers/downloads/fvxlo/not-a-guid").status_code == 400


def test_a_successful_download_progresses_and_lands_under_its_folder(slskd_root: Path, flac: bytes) -> None:
    with _standin(slskd_root, progress_polls=3) as standin:
        standin.add_peer("fvxlo", files=[SharedFile(FLAC_NAME, flac)], queue_length=2)
        with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api:
            transfer_id = api.post(
                "/transfers/downloads/fvxlo", json=[{"filename": FLAC_NAME, "size": len(flac)}]
            ).json()["enqueued"][0]["id"]
            seen = []
            partial_sizes = []
            incomplete = slskd_root / "incomplete" / "Discovery" / "01 One More Time.flac"
            for _ in range(9):
                (t,) = _poll(api, 1)
                seen.append((t["state"], t.get("placeInQueue"), t["bytesTransferred"]))
                if t["state"] == "InProgress":
                    partial_sizes.append(incomplete.stat().st_size)
    size = len(flac)
    assert [s for s, _, _ in seen] == [
        "Queued, Remotely",
        "Queued, Remotely",
        "Initializing",
        "InProgress",
        "InProgress",
        "InProgress",
        "Completed, Succeeded",
        "Completed, Succeeded",
        "Completed, Succeeded",
    ]
    assert [p for _, p, _ in seen[:2]] == [2, 1]
    assert [b for s, _, b in seen if s == "InProgress"] == [size // 4, size // 2, size * 3 // 4]
    assert partial_sizes == [size // 4, size // 2, size * 3 // 4]
    assert t["percentComplete"] == 100.0 and t["bytesRemaining"] == 0 and t["endedAt"] and t["startedAt"]
    landed = slskd_root / "downloads" / "Discovery" / "01 One More Time.flac"
    assert landed.read_bytes() == flac and standin.local_path(transfer_id) == landed
    assert not incomplete.exists()


@pytest.mark.parametrize(
    ("behaviour", "final_state", "exception", "on_disk"),
    [
        ("queued_remotely", "Queued, Remotely", None, None),
        ("errored", "Completed, Errored", "Remote connection closed", "incomplete"),
        ("rejected", "Completed, Rejected", "File not shared.", None),
        ("stall", "InProgress", None, "incomplete"),
        ("truncated", "Completed, Succeeded", None, "downloads"),
        ("timed_out", "Completed, TimedOut", "Inactivity timeout of 15000 milliseconds was reached", None),
    ],
)
def test_failing_peers_behave_like_real_ones(
    slskd_root: Path, flac: bytes, behaviour: str, final_state: str, exception: str | None, on_disk: str | None
) -> None:
    with _standin(slskd_root, stall_percent=40, truncate_fraction=0.5) as standin:
        standin.add_peer("peer", files=[SharedFile(FLAC_NAME, flac)], behaviour=behaviour, queue_length=3)
        with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api:
            api.post("/transfers/downloads/peer", json=[{"filename": FLAC_NAME, "size": len(flac)}])
            (transfer,) = _poll(api, 12)
    assert transfer["state"] == final_state
    assert transfer.get("exception") == exception
    if final_state.startswith("Completed"):
        assert transfer["endedAt"]
    files = {p.relative_to(slskd_root).parts[0]: p for p in slskd_root.rglob("*.flac")}
    assert set(files) == ({on_disk} if on_disk else set())
    if behaviour == "queued_remotely":
        assert transfer["placeInQueue"] == 4 and transfer["bytesTransferred"] == 0
    if behaviour == "stall":
        assert transfer["bytesTransferred"] == int(len(flac) * 0.4) == files["incomplete"].stat().st_size
        assert transfer["percentComplete"] == pytest.approx(40, abs=1)
    if behaviour == "truncated":
        # slskd reports success; only the file on disk tells the truth.
        assert transfer["bytesTransferred"] == len(flac)
        assert files["downloads"].read_bytes() == flac[: len(flac) // 2]


def test_a_file_can_override_its_peers_behaviour(slskd_root: Path, flac: bytes) -> None:
    with _standin(slskd_root) as standin:
        standin.add_peer(
            "peer",
            files=[SharedFile("@@p\\A\\good.flac", flac), SharedFile("@@p\\A\\bad.flac", flac, behaviour="rejected")],
        )
        with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api:
            api.post(
                "/transfers/downloads/peer",
                json=[{"filename": "@@p\\A\\good.flac", "size": 1}, {"filename": "@@p\\A\\bad.flac", "size": 1}],
            )
            states = {t["filename"]: t["state"] for t in _poll(api, 8)}
    assert states == {"@@p\\A\\good.flac": "Completed, Succeeded", "@@p\\A\\bad.flac": "Completed, Rejected"}
    with pytest.raises(ValueError):
        standin.add_peer("x", files=[], behaviour="explode")


def test_cancel_and_remove(api: httpx.Client, standin: SlskdStandin, flac: bytes) -> None:
    standin.add_peer("slow", files=[SharedFile(FLAC_NAME, flac)], behaviour="stall")
    transfer_id = api.post("/transfers/downloads/slow", json=[{"filename": FLAC_NAME, "size": 1}]).json()["enqueued"][
        0
    ]["id"]
    _poll(api, 3)
    assert api.delete(f"/transfers/downloads/slow/{transfer_id}").status_code == 204
    cancelled = api.get(f"/transfers/downloads/slow/{transfer_id}").json()
    assert cancelled["state"] == "Completed, Cancelled" and cancelled["endedAt"]
    assert api.delete(f"/transfers/downloads/slow/{transfer_id}", params={"remove": "true"}).status_code == 204
    assert api.get(f"/transfers/downloads/slow/{transfer_id}").status_code == 404
    assert _poll(api, 1) == []
    assert api.get("/transfers/downloads", params={"includeRemoved": "true"}).json()[0]["username"] == "slow"
    assert api.delete(f"/transfers/downloads/slow/{uuid.uuid4()}").status_code == 404


# -- hostile remote names ------------------------------------------------------------------

HOSTILE = [
    "..\\..\\evil.mp3",
    "..\\..\\..\\..\\..\\..\\tmp\\evil2.mp3",
    "C:\\x\\y.mp3",
    "C:\\Windows\\System32\\drivers\\etc\\hosts",
    "/etc/cron.d/evil.mp3",
    "@@u\\music\\bad\x00fol\x1fder\\tr\x07ack\r\n.mp3",
    "@@u\\music\\CON\\NUL.mp3",
    "@@u\\music\\. .\\...\\x.mp3",
    "@@u\\music\\album\\\u202egnp.exe.mp3",
    "@@u\\music\\album\\" + "ü" * 300 + ".flac",
    "@@u\\music\\trailing\\",
]


def test_hostile_remote_names_never_write_outside_the_download_folders(tmp_path: Path) -> None:
    root = tmp_path / "jail" / "slskd"
    data = audio_bytes("mp3", seconds=0.2)
    with SlskdStandin(root / "downloads", api_key=KEY) as standin:
        standin.add_peer("mallory", files=[SharedFile(name, data) for name in HOSTILE])
        with httpx.Client(base_url=standin.url + "/api/v0", headers={"X-API-Key": KEY}) as api:
            body = api.post(
                "/transfers/downloads/mallory", json=[{"filename": n, "size": len(data)} for n in HOSTILE]
            ).json()
            assert body["failed"] == []
            transfers = _poll(api, 8)
        landed = [standin.local_path(t["id"]) for t in transfers]
    assert all(t["state"] == "Completed, Succeeded" for t in transfers)
    assert len(landed) == len(HOSTILE) and all(p is not None for p in landed)
    written = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert sorted(written) == sorted(p for p in landed if p is not None)
    for path in written:
        assert path.resolve().is_relative_to((root / "downloads").resolve())
        assert path.read_bytes() == data
        relative = path.relative_to(root / "downloads").parts
        assert len(relative) <= 2
        for part in relative:
            assert part not in ("", ".", "..") and not part.endswith((" ", "."))
            assert not any(unicodedata.category(c).startswith("C") or c in '<>:"/\\|?*' for c in part)
            assert len(part.encode("utf-8")) <= 200
    assert not (tmp_path / "jail" / "evil.mp3").exists() and not Path("/tmp/evil2.mp3").exists()


@pytest.mark.parametrize(
    ("remote", "parts"),
    [
        ("@@fvxlo\\music\\Daft Punk\\Discovery\\01 One More Time.flac", ("Discovery", "01 One More Time.flac")),
        ("..\\..\\evil.mp3", ("evil.mp3",)),
        ("C:\\x\\y.mp3", ("x", "y.mp3")),
        ("C:\\y.mp3", ("C_", "y.mp3")),
        ("a/b/c.mp3", ("b", "c.mp3")),
        ("@@u\\CON\\aux.txt.mp3", ("_CON", "_aux.txt.mp3")),
        ("@@u\\x\\a\x00b?.mp3", ("x", "a_b_.mp3")),
        ("\\\\", ("_",)),
    ],
)
def test_local_parts(remote: str, parts: tuple[str, ...]) -> None:
    assert local_parts(remote) == parts


def test_safe_component_keeps_the_extension_of_long_names() -> None:
    name = safe_component("é" * 400 + ".flac")
    assert name.endswith(".flac") and len(name.encode("utf-8")) <= 200
    assert safe_component(" .. ") == "_"
