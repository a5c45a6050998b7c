"""The Soulseek search budget: the waiting rule, and the ledger shared by processes."""

import subprocess
import sys
import textwrap

import pytest

from soulspot_pipeline.devkit.standins.slskd import SharedFile, SlskdStandin
from soulspot_pipeline.domain.search_budget import wait_before_search
from soulspot_pipeline.resources.search_budget import SearchBudget
from soulspot_tests.clock import VirtualClock


def test_a_search_waits_until_the_oldest_of_a_full_window_leaves_it():
    assert wait_before_search([], 100.0, 3, 10.0) == 0.0
    assert wait_before_search([95.0, 96.0], 100.0, 3, 10.0) == 0.0
    assert wait_before_search([91.0, 95.0, 96.0], 100.0, 3, 10.0) == 1.0  # 91 leaves at 101
    assert wait_before_search([80.0, 91.0, 95.0, 96.0], 100.0, 3, 10.0) == 1.0  # 80 is out already
    assert wait_before_search([91.0, 92.0, 95.0, 96.0], 100.0, 3, 10.0) == 2.0  # two must leave
    assert wait_before_search([89.0, 95.0, 96.0], 100.0, 3, 10.0) == 0.0


@pytest.mark.subprocess
def test_two_processes_searching_at_once_never_overlap_and_stay_within_the_budget(tmp_path):
    window, budget = 0.5, 5
    with SlskdStandin(tmp_path / "downloads", search_polls=1, ban_after=(budget, window)) as slskd:
        slskd.add_peer("p", files=[SharedFile("@@x\\a\\song.mp3", b"\xff\xfb" * 8, bit_rate=320)])
        script = textwrap.dedent(f"""
            from soulspot_pipeline.resources.search_budget import SearchBudget
            from soulspot_pipeline.resources.slskd import SlskdResource
            budget = SearchBudget(ledger_path={str(tmp_path / "ledger.sqlite")!r}, max_searches={budget}, window_s={window})
            slskd = SlskdResource(base_url={slskd.url!r}, api_key="standin-api-key", poll_interval_s=0.001)
            for n in range(12):
                with budget.slot("song"):
                    slskd.search("song")
        """)
        workers = [subprocess.Popen([sys.executable, "-c", script]) for _ in range(2)]
        assert [w.wait(timeout=120) for w in workers] == [0, 0]
    assert len(slskd.searches) == 24 and not slskd.banned
    assert slskd.max_concurrent_searches == 1 and slskd.max_searches_in_window(window) <= budget


def test_an_unreadable_ledger_is_set_aside_and_the_budget_still_counts(tmp_path):
    ledger = tmp_path / "slskd" / "searches.sqlite"
    ledger.parent.mkdir()
    ledger.write_bytes(b"not a database, as a power cut may leave it" * 100)
    clock = VirtualClock()
    budget = SearchBudget(ledger_path=str(ledger), max_searches=2, window_s=10.0, clock=clock)
    waits = []
    for _ in range(3):
        with budget.slot("song") as waited:
            waits.append(waited)
    assert waits == [0.0, 0.0, 10.0]  # the third waits for the first to leave the window
    assert [p.name.split("-")[0] for p in ledger.parent.glob("searches.sqlite.unreadable-*")] == [
        "searches.sqlite.unreadable"
    ]
