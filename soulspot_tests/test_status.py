"""status_sensor against a real Dagster instance: library.status has every phase's row, and with
MusicBrainz down (identify fails) and one schedule missed it shows exactly those two problems."""

import time

import dagster as dg
import duckdb

from soulspot_pipeline.automation import build_cleanup_schedule
from soulspot_pipeline.resources.search_budget import SearchBudget
from soulspot_pipeline.settings import Settings
from soulspot_pipeline.status import build_status_sensor
from soulspot_pipeline.store.database import LibraryDatabase
from soulspot_tests.clock import VirtualClock

PHASES = (
    "spotify_likes",
    "deezer_favorites",
    "local_scan",
    "audio_checks",
    "library_entities",
    "identified_entities",
    "enriched_metadata",
    "discography_gaps",
    "images",
    "cover_wall",
    "downloads",
    "download_transfers",
    "library_cleanup",
)


def stand_in(name: str, fail: bool = False) -> dg.AssetsDefinition:
    @dg.asset(name=name)
    def phase() -> dg.MaterializeResult:
        if fail:
            raise RuntimeError(
                "MusicBrainz request failed: http://127.0.0.1:9/ws/2/recording cannot be reached\n"
                "(connection refused). Is the server running?"
            )
        return dg.MaterializeResult(metadata={"status": "done"})

    return phase


def evaluate(sensor, instance, defs, resources) -> str:
    with dg.build_sensor_context(instance=instance, definitions=defs, resources=resources) as context:
        result = sensor(context)
    assert isinstance(result, dg.SkipReason)  # it never starts a run
    return result.skip_message or ""


def status(db: LibraryDatabase) -> list[tuple]:
    with duckdb.connect(db.database, read_only=True) as conn:
        return conn.execute("SELECT area, name, state, detail FROM library.status ORDER BY area, name").fetchall()


def test_every_phase_has_a_row_and_identify_failing_and_a_missed_schedule_are_the_only_problems(tmp_path):
    # Images every minute, the rest at most every 30 min: three minutes later only images is overdue.
    settings = Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path), "SOULSPOT_IMAGES_CRON": "* * * * *"})
    clock = VirtualClock(start=time.time())
    db = LibraryDatabase(database=str(tmp_path / "soulspot.duckdb"), snapshot_path=str(tmp_path / "snap.duckdb"))
    budget = SearchBudget(ledger_path=str(tmp_path / "slskd" / "searches.sqlite"), max_searches=34, window_s=220)
    with budget.slot("artist title"):  # one search in the window
        pass
    sensor = build_status_sensor(settings, build_cleanup_schedule(), clock=clock)
    assets = [stand_in(name) for name in PHASES]
    resources = {"library_db": db, "search_budget": budget}
    defs = dg.Definitions(assets=assets, sensors=[sensor], resources=resources)
    with dg.instance_for_test() as instance:
        assert dg.materialize(assets, instance=instance).success
        with db.writer() as conn:  # the cloud circuit breaker: Spotify syncing normally
            conn.execute("INSERT INTO library.provider_health VALUES ('spotify', 0, NULL, NULL, now())")

        clock.sleep(60)
        first = evaluate(sensor, instance, defs, resources)
        assert first.startswith("everything is healthy (21 ok, 0 off)"), first
        assert first.endswith("; 14 row(s) changed")

        # MusicBrainz goes down: identify fails in a later run.
        failed = dg.materialize([stand_in("identified_entities", fail=True)], instance=instance, raise_on_error=False)
        assert not failed.success
        clock.sleep(120)
        second = evaluate(sensor, instance, defs, resources)
        assert second.startswith("2 problem(s): phase identified_entities: failed: MusicBrainz request failed"), second
        assert second.endswith("; 2 row(s) changed")

        rows = status(db)
        assert {r[1] for r in rows if r[0] == "phase"} == set(PHASES)
        problems = {(r[1], r[3]) for r in rows if r[2] == "problem"}
        images_detail = dict((r[1], r[3]) for r in rows)["images"]
        assert problems == {
            (
                "identified_entities",
                "failed: MusicBrainz request failed: http://127.0.0.1:9/ws/2/recording cannot be reached",
            ),
            ("images", images_detail),
        }
        assert images_detail.startswith("overdue: last success at ") and images_detail.endswith("(due every 1 min)")
        assert {r[2] for r in rows if (r[1], r[3]) not in problems} == {"ok"}
        assert ("provider", "spotify", "ok", "syncing") in rows
        assert ("soulseek", "search budget", "ok", "1 of 34 searches in the last 220 s") in rows
        assert [r[1:] for r in rows if r[0] in ("downloads", "files")] == [
            ("downloading", "ok", "0 tracks"),
            ("failed", "ok", "0 tracks"),
            ("not_found", "ok", "0 tracks"),
            ("paused", "ok", "searching (SOULSPOT_DOWNLOADS_PAUSED=true also pauses)"),
            ("pending", "ok", "0 tracks"),
            ("broken", "ok", "0 broken files (library.broken_files)"),
        ]

        # Nothing changed: nothing is written, and the tick says so.
        third = evaluate(sensor, instance, defs, resources)
        assert third.startswith("2 problem(s)") and third.endswith("; nothing changed since the last look")

    # The overdue phase is one notification, however many looks see it overdue.
    with duckdb.connect(db.database, read_only=True) as conn:
        overdue = conn.execute("SELECT kind, subject, detail, run_id FROM library.notifications").fetchall()
    assert overdue == [("phase_overdue", "images", images_detail, None)]
