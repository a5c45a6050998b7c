"""``soulspot bench --identify N`` runs end to end on a few albums and its counts add up."""

import re

import pytest

from soulspot_pipeline.cli import main

pytestmark = pytest.mark.integration  # identification through Dagster against the stand-in


def _number(text: str) -> int:
    return int(text.replace(",", ""))


def test_the_identify_benchmark_counts_its_requests_and_scores_every_file(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("SOULSPOT_DATA_DIR", str(tmp_path / "data"))  # the command's log goes there
    assert main(["bench", "--identify", "40", "--kind", "albums", "--rate", "500", "--dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    header = re.search(r"identify ([\d,]+) tracks of 4 albums \(files: albums\)", out)
    assert header, out
    tracks = _number(header[1])
    assert tracks >= 4, out
    runs = re.findall(
        r"^(first|second) run \(\w+ \w+\): ([\d,]+) requests \(([\d,.]+) per 1,000 tracks\).*?"
        r"right recording: ([\d,]+) of ([\d,]+) \([\d.]+%\), wrong: ([\d,]+); "
        r"right release: ([\d,]+) of ([\d,]+) \([\d.]+%\), wrong: ([\d,]+)",
        out,
        re.M | re.S,
    )
    assert [r[0] for r in runs] == ["first", "second"], out
    (_, made, per_thousand, *first_score), (_, again, _, *second_score) = runs
    assert _number(made) > 0 and float(per_thousand.replace(",", "")) == pytest.approx(
        _number(made) * 1000 / tracks, abs=0.05
    )
    # The same library again, with every answer cached: no request, the same decisions.
    assert _number(again) == 0 and second_score == first_score, out
    right_rec, files, wrong_rec, right_rel, files_again, wrong_rel = map(_number, first_score)
    assert files == files_again == tracks
    assert right_rec + wrong_rec <= files and right_rel + wrong_rel <= files
    assert right_rec > 0, out
    assert f"the first run's {made} requests take at least" in out
    assert re.search(r"right release by edition: original [\d,]+ of [\d,]+", out), out
