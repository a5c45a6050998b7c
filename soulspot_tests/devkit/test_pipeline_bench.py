"""``soulspot bench --pipeline N`` refreshes a small library as a user would and prints what it measured."""

import re

import pytest

from soulspot_pipeline.cli import main

pytestmark = pytest.mark.e2e  # two `soulspot refresh` processes


def test_the_pipeline_benchmark_times_a_cold_and_an_unchanged_refresh_and_each_phase(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOULSPOT_DATA_DIR", str(tmp_path / "data"))  # the command's log goes there
    assert main(["bench", "--pipeline", "12", "--runs", "1", "--dir", str(tmp_path / "bench")]) == 0
    out = capsys.readouterr().out
    # Both refreshes succeeded (a failed one names its exit code), each with its wall time and memory.
    assert re.search(r"^cold +refresh +[\d.]+ s wall, peak [\d,]+ MB$", out, re.M), out
    assert re.search(r"^warm 1 +refresh +[\d.]+ s wall, peak [\d,]+ MB$", out, re.M), out
    # Every phase's time, from the instance, for both runs.
    assert re.search(r"^local_scan +[\d.]+s +[\d.]+s$", out, re.M), out
    assert re.search(r"^library_entities +[\d.]+s +[\d.]+s$", out, re.M), out
    assert re.search(r"^first merge +[\d.]+ s, peak [\d,]+ MB", out, re.M), out
    assert re.search(r"^unchanged merge +[\d.]+ s, peak [\d,]+ MB", out, re.M), out
