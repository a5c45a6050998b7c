"""slskd's flag-set states: parsing them and what they mean for a search or a download."""

from __future__ import annotations

import pytest

from soulspot_pipeline.domain.slskd_states import (
    TRANSFER_OUTCOMES,
    TransferOutcome,
    parse_state,
    search_finished,
    transfer_outcome,
)


@pytest.mark.parametrize(
    ("text", "flags"),
    [
        ("Completed, Succeeded", {"Completed", "Succeeded"}),
        ("Queued, Remotely", {"Queued", "Remotely"}),
        ("InProgress", {"InProgress"}),
        ("  completed ,  timedout ", {"Completed", "TimedOut"}),
        ("Completed, , Errored,", {"Completed", "Errored"}),
        ("Completed | Rejected", {"Completed", "Rejected"}),
        ("Completed, SomethingNew", {"Completed", "SomethingNew"}),
        ("", set()),
        ("   ", set()),
        (None, set()),
    ],
)
def test_parse_state(text: str | None, flags: set[str]) -> None:
    assert parse_state(text) == frozenset(flags)


@pytest.mark.parametrize(
    ("text", "finished"),
    [
        ("InProgress", False),
        ("Requested", False),
        ("", False),
        ("None", False),
        ("Completed, Succeeded", True),
        ("Completed, TimedOut", True),
        ("Completed, ResponseLimitReached", True),
        ("Completed, FileLimitReached", True),
        ("Completed, Errored", True),
        ("Completed, Cancelled", True),
        ("Cancelled", True),
        ("InProgress, Completed", False),
    ],
)
def test_search_finished(text: str, finished: bool) -> None:
    assert search_finished(parse_state(text)) is finished


@pytest.mark.parametrize(
    ("text", "outcome"),
    [
        ("Requested", TransferOutcome("requested")),
        ("", TransferOutcome("requested")),
        ("None", TransferOutcome("requested")),
        ("Queued, Remotely", TransferOutcome("queued_remotely")),
        ("Queued, Locally", TransferOutcome("queued_locally")),
        ("Queued", TransferOutcome("queued_locally")),
        ("Initializing", TransferOutcome("initializing")),
        ("InProgress", TransferOutcome("in_progress")),
        ("Completed, Succeeded", TransferOutcome("succeeded")),
        ("Completed, Cancelled", TransferOutcome("failed", "cancelled")),
        ("Completed, TimedOut", TransferOutcome("failed", "timed out")),
        ("Completed, Errored", TransferOutcome("failed", "errored")),
        ("Completed, Rejected", TransferOutcome("failed", "rejected")),
        ("Completed, Aborted", TransferOutcome("failed", "aborted")),
        ("Completed", TransferOutcome("failed", "completed without success")),
        ("Completed, Whatever", TransferOutcome("failed", "completed without success")),
    ],
)
def test_transfer_outcome(text: str, outcome: TransferOutcome) -> None:
    result = transfer_outcome(parse_state(text))
    assert result == outcome
    assert result.status in TRANSFER_OUTCOMES
    assert result.finished is (result.status in ("succeeded", "failed"))


def test_outcome_unpacks_as_status_and_reason() -> None:
    status, reason = transfer_outcome(parse_state("Completed, Rejected"))
    assert (status, reason) == ("failed", "rejected")
