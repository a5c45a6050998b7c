"""The console follows a real run's events: a line per phase, per retry, per failed check."""

import dagster as dg

from soulspot_pipeline.run_console import INVOCATION_TAG, RunFollower, new_log_path


def _phases(attempts_file):
    @dg.asset(retry_policy=dg.RetryPolicy(max_retries=2, delay=0))
    def local_scan() -> dg.MaterializeResult:
        attempts = int(attempts_file.read_text() or 0) + 1 if attempts_file.exists() else 1
        attempts_file.write_text(str(attempts))
        if attempts == 1:
            raise RuntimeError("the disk was busy\n  (a detail on its second line)")
        return dg.MaterializeResult(metadata={"seen": 3, "new": 3, "unreadable": 0})

    @dg.asset_check(asset=local_scan)
    def no_duplicates() -> dg.AssetCheckResult:
        return dg.AssetCheckResult(passed=False, description="2 files share one path")

    @dg.asset(deps=[local_scan])
    def library_entities() -> None:
        raise dg.Failure(description="the merge broke: disk full\nmore detail")

    @dg.asset(deps=[library_entities])
    def library_cleanup() -> None:
        pass

    return [local_scan, library_entities, library_cleanup], [no_duplicates]


def test_the_follower_tells_each_phase_retry_and_failed_check_once(tmp_path):
    assets, checks = _phases(tmp_path / "attempts")
    instance = dg.DagsterInstance.ephemeral()
    lines: list[str] = []
    follower = RunFollower(instance, "abc", lines.append, retries_of=lambda step: 2)
    follower.poll()  # no run yet: nothing to say
    assert lines == []

    result = dg.materialize([*assets, *checks], instance=instance, tags={INVOCATION_TAG: "abc"}, raise_on_error=False)
    assert not result.success
    follower.poll()
    follower.poll()  # a second look repeats nothing
    follower.tell_not_run()

    text = "\n".join(lines)
    assert "Traceback" not in text
    phases = [line for line in lines if " check " not in line]
    assert [line.split()[0] for line in phases] == [
        "local_scan",
        "local_scan",
        "library_entities",
        "library_cleanup",
    ], text
    assert lines[0].endswith("retrying (2 of 3): the disk was busy")  # a delay of 0 s is no wait
    assert "check no_duplicates failed: 2 files share one path" in text
    assert "3 files seen: 3 new" in text
    assert phases[2].split(None, 1)[1] == "failed: the merge broke: disk full"
    assert phases[3].split(None, 1)[1] == "not run: an earlier phase failed"
    assert follower.status == "failure"


def test_log_files_are_new_per_command_and_only_the_newest_are_kept(tmp_path):
    env = {"SOULSPOT_DATA_DIR": str(tmp_path / "data")}
    folder = tmp_path / "data" / "logs"
    folder.mkdir(parents=True)
    for n in range(40):
        (folder / f"refresh-20260101-0000{n:02d}.log").write_text("old")
    (folder / "ui-20260101-000000.log").write_text("another command's")
    path = new_log_path("refresh", env)
    path.write_text("new")
    assert path.parent == folder and path.name.startswith("refresh-2")
    assert len(list(folder.glob("refresh-*.log"))) == 30
    assert not (folder / "refresh-20260101-000000.log").exists()
    assert (folder / "ui-20260101-000000.log").exists()
    assert new_log_path("refresh", env) != path
