"""``soulspot bench --pipeline N`` refreshes a small library as a user would and prints what it measured."""

import re

import pytest

from soulspot_pipeline.cli import main

pytestmark = pytest.mark.e2e  # a `soulspot refresh` process


def test_the_pipeline_benchmark_times_a_refresh_each_phase_and_the_merge(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOULSPOT_DATA_DIR", str(tmp_path / "data"))  # the command's log goes there
    assert main(["bench", "--pipeline", "6", "--runs", "0", "--dir", str(tmp_path / "bench")]) == 0
    out = capsys.readouterr().out
    # The refresh succeeded (a failed one names its exit code), with its wall time and memory
    # (`--runs K` adds K unchanged refreshes, each a line and a column like these).
    assert re.search(r"^cold +refresh +[\d.]+ s wall, peak [\d,]+ MB$", out, re.M), out
    # Every phase's time, from the instance.
    assert re.search(r"^local_scan +[\d.]+s$", out, re.M), out
    assert re.search(r"^library_entities +[\d.]+s$", out, re.M), out
    assert re.search(r"^first merge +[\d.]+ s, peak [\d,]+ MB", out, re.M), out
    assert re.search(r"^unchanged merge +[\d.]+ s, peak [\d,]+ MB", out, re.M), out
