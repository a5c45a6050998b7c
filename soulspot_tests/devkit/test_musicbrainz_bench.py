"""``soulspot bench --musicbrainz N`` runs end to end on a small library and says what it measured."""

import re

import pytest

from soulspot_pipeline.cli import main

pytestmark = pytest.mark.integration  # identification through Dagster against the stand-in


def test_the_musicbrainz_benchmark_counts_one_search_per_track_then_none(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOULSPOT_DATA_DIR", str(tmp_path / "data"))  # the command's log goes there
    assert main(["bench", "--musicbrainz", "24", "--rate", "200", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    first, cached = out.split("all cached:")
    assert re.search(r"24 requests, [\d.]+ requests/s over the run", first), out
    assert "refused as too fast: 0" in first and re.search(r"answer cache: [\d.]+ s in \d+ calls", first), out
    assert "no request; 24 answers from the cache" in cached, out
