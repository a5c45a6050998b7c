"""The Dagster instance: plain `dagster` in the project folder needs no variable; `soulspot` keeps it with the data."""

import os
import subprocess
import sys

import pytest
import yaml

from soulspot_pipeline.cli import PROJECT_ROOT, instance_env
from soulspot_pipeline.settings import Settings


@pytest.mark.subprocess
def test_the_project_instance_loads_with_no_variable_and_keeps_its_runs_under_data(tmp_path):
    # What `dagster dev` / `dagster asset materialize` do without DAGSTER_HOME: a temporary
    # home, configured by the dagster.yaml of the folder they are started in.
    (tmp_path / "dagster.yaml").write_text((PROJECT_ROOT / "dagster.yaml").read_text())
    script = (
        "import tempfile, dagster as dg\n"
        "from dagster._core.instance.ref import InstanceRef\n"
        "with tempfile.TemporaryDirectory(dir='.') as home:\n"
        "    with dg.DagsterInstance.from_ref(InstanceRef.from_dir(home, config_dir='.')) as instance:\n"
        "        print(instance.run_storage._conn_string)\n"
        "        print(instance.compute_log_manager._base_dir)\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SOULSPOT_", "DAGSTER_"))}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr[-2000:]
    runs, logs = done.stdout.splitlines()[-2:]
    assert str(tmp_path / "data" / "dagster" / "storage") in os.path.abspath(runs.split("sqlite:///")[-1])
    assert os.path.abspath(os.path.join(tmp_path, logs)) == str(tmp_path / "data" / "dagster" / "logs")
    assert (tmp_path / "data" / "dagster" / "storage").is_dir()


def test_soulspot_puts_the_instance_in_the_data_folder_with_the_project_settings(tmp_path, monkeypatch):
    for key in [k for k in os.environ if k.startswith(("SOULSPOT_", "DAGSTER_"))]:
        monkeypatch.delenv(key)
    for key in ("DAGSTER_HOME", "SOULSPOT_DATA_DIR"):  # set by instance_env: restored after the test
        monkeypatch.setenv(key, "")
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("SOULSPOT_MUSIC_DIR", "music")  # relative to where the command is started
    settings = Settings.from_env({"SOULSPOT_DATA_DIR": str(tmp_path / "my data"), "SOULSPOT_MUSIC_DIR": "music"})
    env = instance_env(settings)
    assert env["SOULSPOT_MUSIC_DIR"] == str(tmp_path / "music")  # the UI's processes start elsewhere
    home = tmp_path / "my data" / "dagster"
    assert env["DAGSTER_HOME"] == str(home) == os.environ["DAGSTER_HOME"]
    written = yaml.safe_load((home / "dagster.yaml").read_text())
    project = yaml.safe_load((PROJECT_ROOT / "dagster.yaml").read_text())
    assert written["storage"]["sqlite"]["base_dir"] == str(home / "storage")
    assert written["local_artifact_storage"]["config"]["base_dir"] == str(home / "storage")
    assert written["compute_logs"]["config"]["base_dir"] == str(home / "logs")
    assert written["concurrency"] == project["concurrency"] and written["run_monitoring"] == project["run_monitoring"]
    assert (home / "storage").is_dir() and (home / "logs").is_dir()

    # A DAGSTER_HOME of the user's own is theirs: used as it is, nothing written into it.
    monkeypatch.setenv("DAGSTER_HOME", str(tmp_path / "theirs"))
    assert instance_env(settings)["DAGSTER_HOME"] == str(tmp_path / "theirs")
    assert not (tmp_path / "theirs").exists()
