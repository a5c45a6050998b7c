"""Notifications end to end: real runs record events, notifications_sensor sends them through Apprise's
json:// notifier to a local hook, once, and a failed run is told by run_failed_sensor. No test
sleeps for real: the notifier's backoff waits on a virtual clock."""

import json
import logging
import subprocess
import sys
import time
from datetime import timedelta

import dagster as dg
import httpx
import pytest

from soulspot_pipeline.assets.cloud import cloud_assets
from soulspot_pipeline.assets.downloads import download_transfers, downloads
from soulspot_pipeline.assets.library import library_entities
from soulspot_pipeline.devkit.standins import deezer as dz
from soulspot_pipeline.devkit.standins.apprise_endpoint import AppriseEndpoint
from soulspot_pipeline.devkit.standins.deezer import DeezerLibrary, DeezerStandin
from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.devkit.synth import audio_bytes
from soulspot_pipeline.domain.notify import IMPORTED, PHASE_OVERDUE, Event, event_key
from soulspot_pipeline.notify import (
    CLAIM_LOST,
    CLAIM_TIMEOUT,
    OFF,
    Outcome,
    build_notifications_sensor,
    build_run_failed_sensor,
)
from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.music_folder import MusicFolder
from soulspot_pipeline.resources.notifier import Notifier
from soulspot_pipeline.resources.policies import DownloadPolicy, LibraryPolicy
from soulspot_pipeline.resources.search_budget import SearchBudget
from soulspot_pipeline.resources.slskd import SlskdResource
from soulspot_pipeline.settings import Settings, SettingsError
from soulspot_pipeline.store import notifications
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_pipeline.store.sql import transaction, utc_now
from soulspot_tests.clock import VirtualClock
from soulspot_tests.results import rows

pytestmark = pytest.mark.integration  # assets, jobs and sensors run through Dagster against stand-ins

deezer_favorites = next(a for a in cloud_assets if a.key == dg.AssetKey("deezer_favorites"))
AIR = dz.artist(1422, "Air")
TITLES = [
    "Sexy Boy", "Kelly Watch the Stars", "Talisman", "Remember", "Ce Matin La", "Le Voyage de Penelope",
    "La Femme d'Argent", "All I Need", "You Make It Easy", "New Star in the Sky", "Playground Love",
    "Cherry Blossom Girl", "Radio Number One", "Alone in Kyoto",
]  # fmt: skip
API_KEY = "standin-api-key"


def hook_url(hook: AppriseEndpoint, path: str = "/hook", scheme: str = "json") -> str:
    return f"{scheme}://{hook.url.removeprefix('http://')}{path}"


def evaluate(instance: dg.DagsterInstance, library_db: LibraryDatabase, notifier: Notifier) -> str:
    """One tick of notifications_sensor, as the daemon runs it (a fresh definition: nothing kept in memory)."""
    sensor = build_notifications_sensor()
    with dg.build_sensor_context(instance=instance, resources={"library_db": library_db, "notifier": notifier}) as ctx:
        result = sensor(ctx)
    assert isinstance(result, dg.SkipReason)  # it never starts a run
    return result.skip_message or ""


def ledger(library_db: LibraryDatabase) -> list[tuple]:
    return rows(
        library_db,
        "SELECT kind, state, attempts, last_error, message_title FROM library.notifications ORDER BY kind, event_key",
    )


def record(library_db: LibraryDatabase, *events: Event) -> None:
    with library_db.writer(publish=False) as conn, transaction(conn):
        notifications.record(conn, events, utc_now())


def event(n: int, kind: str = IMPORTED, run_id: str | None = None) -> Event:
    return Event(event_key(kind, n), kind, f"Air – Song {n}", "", utc_now(), run_id)


# -- the acceptance run: 12 imported, 2 failed -------------------------------------------


def test_a_run_importing_12_tracks_and_failing_2_sends_one_digest_of_each_and_a_restart_sends_nothing(
    library_db, tmp_path
):
    songs = [
        dz.track(3135600 + n, title, AIR, dz.album(302300 + n, f"Single {n}", AIR, nb_tracks=1), duration_s=2)
        for n, title in enumerate(TITLES)
    ]
    flac = audio_bytes("flac", {"title": "x"}, seconds=2.0)
    slskd = SlskdStandin(tmp_path / "slskd" / "downloads", api_key=API_KEY, search_polls=1, progress_polls=1)
    slskd.add_peer("good", files=[SharedFile(f"@@g\\Air\\{t}\\{t}.flac", flac, length=2) for t in TITLES[:12]])
    slskd.add_peer(
        "broken",
        behaviour="errored",
        files=[SharedFile(f"@@b\\Air\\{t}\\{t}.flac", flac, length=2) for t in TITLES[12:]],
    )
    (tmp_path / "music").mkdir()
    clock = VirtualClock(start=time.time())
    dagster_dir = tmp_path / "dagster"
    dagster_dir.mkdir()
    with DeezerStandin(DeezerLibrary(user_id="5", tracks=[{**s, "time_add": 1767225600} for s in songs])) as deezer:
        with slskd, AppriseEndpoint() as hook, dg.instance_for_test(temp_dir=str(dagster_dir)) as instance:
            resources = {
                "library_db": library_db,
                "library_policy": LibraryPolicy(auto_queue_downloads=True),
                "deezer": DeezerResource(user_id="5", api_url=deezer.api_url, retry_base_delay_s=0.01),
                "slskd": SlskdResource(
                    base_url=slskd.url,
                    api_key=API_KEY,
                    downloads_dir=str(slskd.downloads_dir),
                    poll_interval_s=0.001,
                    retry_base_delay_s=0.01,
                    max_attempts=2,
                ),
                "search_budget": SearchBudget(ledger_path=str(tmp_path / "searches.sqlite")),
                "download_policy": DownloadPolicy(),
                "music_folder": MusicFolder(music_dir=str(tmp_path / "music"), scan_workers=1),
            }
            searched = dg.materialize(
                [deezer_favorites, library_entities, downloads], resources=resources, instance=instance
            )
            assert searched.success
            for _ in range(4):  # slskd carries every transfer to its end before the library looks
                httpx.get(f"{slskd.url}/api/v0/transfers/downloads", headers={"X-API-Key": API_KEY})
            followed = dg.materialize([download_transfers], resources=resources, instance=instance)
            assert followed.success
            assert rows(library_db, "SELECT state, count(*) FROM library.downloads GROUP BY 1 ORDER BY 1") == [
                ("downloaded", 12),
                ("failed", 2),
            ]
            notifier = Notifier(urls=hook_url(hook), clock=clock)
            said = evaluate(instance, library_db, notifier)
            posts = [p.fields for p in hook.delivered]
            # Looked at again, then by a restarted daemon (a new instance handle, new resources): nothing new.
            again = evaluate(instance, library_db, notifier)
        with AppriseEndpoint() as hook2, dg.instance_for_test(temp_dir=str(dagster_dir)) as restarted:
            restarted_db = LibraryDatabase(database=library_db.database, lock_timeout_s=5)
            after_restart = evaluate(restarted, restarted_db, Notifier(urls=hook_url(hook2), clock=clock))
            assert hook2.posted == []
    assert said.startswith("2 message(s) sent (14 event(s))"), said
    assert len(posts) == 2 and len(hook.posted) == 2
    by_title = {p["title"]: p for p in posts}
    assert set(by_title) == {"12 tracks imported", "2 downloads failed"}
    imported = str(by_title["12 tracks imported"]["message"]).splitlines()
    assert len(imported) == 12 and imported[10] == "and 2 more" and imported[-1] == f"run {followed.run_id}"
    assert all(line.startswith("- Air – ") for line in imported[:10])
    failed = str(by_title["2 downloads failed"]["message"]).splitlines()
    assert sorted(line.split(":")[0] for line in failed[:2]) == ["- Air – Alone in Kyoto", "- Air – Radio Number One"]
    assert (by_title["12 tracks imported"]["type"], by_title["2 downloads failed"]["type"]) == ("success", "warning")
    assert again.startswith("0 message(s) sent") and after_restart.startswith("0 message(s) sent")
    assert rows(library_db, "SELECT kind, state, count(*), max(attempts) FROM library.notifications GROUP BY 1, 2") in (
        [("download_failed", "sent", 2, 1), ("imported", "sent", 12, 1)],
        [("imported", "sent", 12, 1), ("download_failed", "sent", 2, 1)],
    )


def test_events_of_a_run_still_going_wait_for_its_end(library_db):
    clock = VirtualClock(start=time.time())
    with AppriseEndpoint() as hook, dg.instance_for_test() as instance:
        run = instance.create_run_for_job(dg.GraphDefinition(name="g").to_job(name="busy"))  # not started yet
        record(library_db, event(1, run_id=run.run_id), event(2, run_id=run.run_id))
        notifier = Notifier(urls=hook_url(hook), clock=clock)
        waiting = evaluate(instance, library_db, notifier)
        instance.report_run_canceled(run)
        ended = evaluate(instance, library_db, notifier)
    assert "2 event(s) wait for their run to end" in waiting and hook.delivered[0].title == "2 tracks imported"
    assert ended.startswith("1 message(s) sent (2 event(s))") and len(hook.posted) == 1


# -- a notifier that fails ----------------------------------------------------------------------


def test_a_hook_answering_500_twice_then_200_gets_the_message_once(library_db):
    clock = VirtualClock(start=time.time())
    record(library_db, event(1, PHASE_OVERDUE))
    with AppriseEndpoint([500, 500]) as hook, dg.instance_for_test() as instance:
        said = evaluate(instance, library_db, Notifier(urls=hook_url(hook), clock=clock))
    assert [p.status for p in hook.posted] == [500, 500, 200] and len(hook.delivered) == 1
    assert hook.delivered[0].title == "1 phase overdue"
    assert clock.sleeps == [2.0, 4.0]  # backoff, on the virtual clock
    assert said.startswith("1 message(s) sent") and ledger(library_db) == [
        ("phase_overdue", "sent", 1, None, "1 phase overdue")
    ]


def test_a_hook_that_keeps_failing_is_retried_at_later_ticks_then_given_up_and_nothing_fails(library_db):
    clock = VirtualClock(start=time.time())
    record(library_db, event(1), event(2, PHASE_OVERDUE))  # two digests
    with AppriseEndpoint([500] * 100) as down, AppriseEndpoint() as up, dg.instance_for_test() as instance:
        # Two notifiers: the one that works gets each message once, the one that fails is retried.
        notifier = Notifier(urls=f"{hook_url(up)}, {hook_url(down)}", clock=clock)
        first = evaluate(instance, library_db, notifier)
        error = "json notifier 2: Failed to send JSON POST notification: Internal server error., error=500. (after 3 attempt(s))"
        assert ledger(library_db) == [
            ("imported", "pending", 1, error, None),
            ("phase_overdue", "pending", 1, error, None),
        ]
        # The dead hook had one round of retries this tick, not one per digest.
        assert "2 not delivered" in first and len(down.posted) == 3 and len(up.delivered) == 2
        assert evaluate(instance, library_db, notifier).startswith("0 message(s) sent")  # not due yet
        assert len(down.posted) == 3
        for _ in range(4):  # 1, 5, 15 and 60 minutes later
            clock.sleep(3600)
            evaluate(instance, library_db, notifier)
    assert [r[:3] for r in ledger(library_db)] == [("imported", "given_up", 5), ("phase_overdue", "given_up", 5)]
    assert len(down.posted) == 15 and len(up.delivered) == 2
    assert rows(library_db, "SELECT DISTINCT delivered_to FROM library.notifications") == [([1],)]


def test_unselected_kinds_and_old_events_are_skipped_not_sent(library_db):
    clock = VirtualClock(start=time.time())
    old = Event("imported:old", IMPORTED, "Air – Old", "", utc_now().replace(year=2025), None)
    record(library_db, old, event(1), event(2, PHASE_OVERDUE))
    with AppriseEndpoint() as hook, dg.instance_for_test() as instance:
        said = evaluate(instance, library_db, Notifier(urls=hook_url(hook), events=["imported"], clock=clock))
    assert [p.title for p in hook.delivered] == ["1 track imported"]
    assert "1 of kinds not in SOULSPOT_NOTIFY_EVENTS skipped" in said and "1 over a day old skipped" in said
    assert rows(library_db, "SELECT event_key, state FROM library.notifications ORDER BY 1") == [
        ("imported:1", "sent"),
        ("imported:old", "skipped"),
        ("phase_overdue:2", "skipped"),
    ]


def test_a_url_apprise_does_not_know_is_a_failure_named_by_its_scheme_only():
    notifier = Notifier(urls="nonsense://notify-secret-host/path, json://127.0.0.1:9/hook", clock=VirtualClock())
    assert notifier.names() == ["nonsense notifier 1", "json notifier 2"]
    delivery = notifier.send("title", "body", skip={2})
    assert not delivery.ok and delivery.delivered == {2}
    assert delivery.error() == "nonsense notifier 1: not a URL Apprise knows (check SOULSPOT_NOTIFY_URLS)"


def test_without_urls_the_sensor_says_notifications_are_off(library_db):
    with dg.instance_for_test() as instance:
        assert evaluate(instance, library_db, Notifier()) == OFF


def test_an_unknown_event_kind_is_a_settings_error_naming_the_valid_ones():
    with pytest.raises(
        SettingsError, match="SOULSPOT_NOTIFY_EVENTS: 'imports' is not an event kind; use some of imported"
    ):
        Settings.from_env({"SOULSPOT_NOTIFY_EVENTS": "imports,run_failed"})
    assert Settings.from_env({"SOULSPOT_NOTIFY_EVENTS": "run_failed, imported"}).notify_events == (
        "run_failed",
        "imported",
    )


# -- a failed run ----------------------------------------------------------------------------------


@dg.op
def fetch_covers() -> None:
    raise RuntimeError("the cover server answered HTTP 503\nTraceback lines the message leaves out")


@dg.job
def nightly() -> None:
    fetch_covers()


def test_a_failed_run_gives_one_run_failed_message_naming_the_run_and_the_step(library_db):
    clock = VirtualClock(start=time.time())
    failure_sensor = build_run_failed_sensor()
    defs = dg.Definitions(jobs=[nightly], sensors=[failure_sensor], resources={"library_db": library_db})
    with AppriseEndpoint() as hook, dg.instance_for_test() as instance:

        def tick(cursor: str | None) -> str | None:
            with dg.build_sensor_context(
                instance=instance, cursor=cursor, definitions=defs, resources={"library_db": library_db}
            ) as ctx:
                failure_sensor.evaluate_tick(ctx)
                return ctx.cursor

        cursor = tick(None)  # the sensor's first tick starts watching from here
        failed = nightly.execute_in_process(instance=instance, raise_on_error=False)
        assert not failed.success
        cursor = tick(cursor)
        tick(cursor)
        notifier = Notifier(urls=hook_url(hook), clock=clock)
        evaluate(instance, library_db, notifier)
        evaluate(instance, library_db, notifier)
    (post,) = hook.posted
    assert post.title == f"Run failed: nightly, run {failed.run_id}" and post.type == "failure"
    assert post.message.splitlines() == [
        f"- nightly, run {failed.run_id}: step fetch_covers failed: the cover server answered HTTP 503",
        f"run {failed.run_id}",
    ]


def test_a_failed_run_the_failure_sensor_missed_is_still_told_once(library_db):
    clock = VirtualClock(start=time.time())
    with AppriseEndpoint() as hook, dg.instance_for_test() as instance:
        failed = nightly.execute_in_process(instance=instance, raise_on_error=False)
        said = evaluate(instance, library_db, Notifier(urls=hook_url(hook), clock=clock))
        evaluate(instance, library_db, Notifier(urls=hook_url(hook), clock=clock))
    assert said.endswith("1 failed run(s) recorded")
    assert [p.title for p in hook.posted] == [f"Run failed: nightly, run {failed.run_id}"]


# -- no secret anywhere --------------------------------------------------------------------------------

PASSWORD, TOKEN = "notify-pass-5Gh7Kq", "notify-token-3Xc8Wz"


def test_no_secret_of_the_url_appears_in_a_message_the_ledger_a_tick_or_a_log(library_db, tmp_path, caplog, capfd):
    caplog.set_level(logging.DEBUG)  # Apprise prints URLs at DEBUG: none of it may get through
    clock = VirtualClock(start=time.time())
    record(library_db, event(1))
    (tmp_path / "dagster").mkdir()
    with AppriseEndpoint([500, 500, 500]) as hook, dg.instance_for_test(temp_dir=str(tmp_path / "dagster")) as instance:
        url = f"json://soulspot:{PASSWORD}@{hook.url.removeprefix('http://')}/hook?-token={TOKEN}"
        notifier = Notifier(urls=url, clock=clock)
        failed = evaluate(instance, library_db, notifier)
        clock.sleep(120)
        sent = evaluate(instance, library_db, notifier)
        nightly.execute_in_process(instance=instance, raise_on_error=False)
        evaluate(instance, library_db, notifier)
    # The secrets really went to the hook (where they belong), and nowhere else.
    assert hook.delivered and hook.delivered[0].query == {"token": TOKEN}
    assert hook.delivered[0].headers["authorization"].startswith("Basic ")
    stored = json.dumps(rows(library_db, "SELECT * FROM library.notifications"), default=str)
    bodies = b"".join(p.raw for p in hook.posted).decode()
    dagster_files = b"".join(p.read_bytes() for p in (tmp_path / "dagster").rglob("*") if p.is_file())
    captured = capfd.readouterr()
    for text in (failed, sent, stored, bodies, caplog.text, captured.out + captured.err, repr(notifier.names())):
        assert PASSWORD not in text and TOKEN not in text
    assert PASSWORD.encode() not in dagster_files and TOKEN.encode() not in dagster_files
    # The failure was told, by the notifier's scheme and place.
    assert "not delivered: json notifier 1: Failed to send JSON POST notification" in caplog.text


# -- the library is held only around the sending, never during it ------------------------


class ProbingHook(AppriseEndpoint):
    """A hook that, on each post, asks another process whether the library could be written now."""

    def __init__(self, database: str) -> None:
        super().__init__()
        self.database = database
        self.free: list[bool] = []

    def handle(self, method, path, query, headers, body):
        probe = subprocess.run(
            [sys.executable, "-c", f"import duckdb; duckdb.connect({self.database!r}).close()"],
            capture_output=True,
            timeout=60,
        )
        self.free.append(probe.returncode == 0)
        return super().handle(method, path, query, headers, body)


@pytest.mark.subprocess
def test_while_a_message_is_sent_the_library_is_free_for_the_runs(library_db):
    record(library_db, event(1), event(2, PHASE_OVERDUE))
    with ProbingHook(library_db.database) as hook, dg.instance_for_test() as instance:
        said = evaluate(instance, library_db, Notifier(urls=hook_url(hook), clock=VirtualClock(start=time.time())))
    # A dead hook's retries and timeouts never keep a run from writing the library.
    assert said.startswith("2 message(s) sent") and hook.free == [True, True]


def evaluate_with_cursor(instance, library_db, notifier, cursor):
    with dg.build_sensor_context(
        instance=instance, cursor=cursor, resources={"library_db": library_db, "notifier": notifier}
    ) as ctx:
        result = build_notifications_sensor()(ctx)
        return result.skip_message or "", ctx.cursor


def test_what_became_of_a_sending_the_library_could_not_take_is_written_at_the_next_tick(library_db):
    record(library_db, event(1))
    with library_db.writer(publish=False) as conn:
        notifications.mark_sending(conn, ["imported:1"], utc_now())
    # The last tick sent it, but found the library busy: what became of it was kept in the cursor.
    cursor = json.dumps([Outcome(("imported:1",), "1 track imported", (1,)).to_json()])
    with AppriseEndpoint() as hook, dg.instance_for_test() as instance:
        said, left = evaluate_with_cursor(instance, library_db, Notifier(urls=hook_url(hook)), cursor)
    assert said.startswith("1 message(s) sent (1 event(s))") and hook.posted == [] and left is None
    assert ledger(library_db) == [("imported", "sent", 1, None, "1 track imported")]


def test_a_tick_cut_off_while_sending_gives_its_events_up_rather_than_send_them_twice(library_db):
    record(library_db, event(1), event(2))
    with library_db.writer(publish=False) as conn:
        notifications.mark_sending(conn, ["imported:1"], utc_now() - CLAIM_TIMEOUT - timedelta(seconds=1))
    with AppriseEndpoint() as hook, dg.instance_for_test() as instance:
        said = evaluate(instance, library_db, Notifier(urls=hook_url(hook), clock=VirtualClock(start=time.time())))
    assert "1 event(s) whose sending was cut off given up" in said
    assert [p.title for p in hook.delivered] == ["1 track imported"]  # only the other one
    assert ledger(library_db) == [
        ("imported", "given_up", 0, CLAIM_LOST, None),
        ("imported", "sent", 1, None, "1 track imported"),
    ]
