"""slskd's state strings read as flag sets, and what a transfer's flags amount to.

slskd serializes .NET flag enums as comma-joined names: a transfer is ``"Queued, Remotely"``
or ``"Completed, Rejected"``, a search ``"Completed, TimedOut"``. Pure functions: the
client and the download logic decide on them without a network.
"""

from __future__ import annotations

from typing import NamedTuple

TRANSFER_FLAGS = frozenset(
    {
        "None",
        "Requested",
        "Queued",
        "Initializing",
        "InProgress",
        "Completed",
        "Succeeded",
        "Cancelled",
        "TimedOut",
        "Errored",
        "Rejected",
        "Aborted",
        "Locally",
        "Remotely",
    }
)
SEARCH_FLAGS = frozenset(
    {
        "None",
        "Requested",
        "InProgress",
        "Completed",
        "Cancelled",
        "TimedOut",
        "ResponseLimitReached",
        "FileLimitReached",
        "Errored",
    }
)
_CANONICAL = {flag.casefold(): flag for flag in TRANSFER_FLAGS | SEARCH_FLAGS}

# The flags that end a search, as slskd's own ``Search.IsComplete`` reads them.
_SEARCH_ENDS = frozenset({"Completed", "Cancelled", "TimedOut", "ResponseLimitReached", "FileLimitReached", "Errored"})

# A completed transfer's failure flags, first match wins, with the reason they give.
_FAILURES = (
    ("Cancelled", "cancelled"),
    ("TimedOut", "timed out"),
    ("Errored", "errored"),
    ("Rejected", "rejected"),
    ("Aborted", "aborted"),
)

TRANSFER_OUTCOMES = (
    "requested",
    "queued_remotely",
    "queued_locally",
    "initializing",
    "in_progress",
    "succeeded",
    "failed",
)


class TransferOutcome(NamedTuple):
    """Where a transfer stands; ``reason`` names the failure when ``status`` is "failed"."""

    status: str
    reason: str | None = None

    @property
    def finished(self) -> bool:
        return self.status in ("succeeded", "failed")


def parse_state(text: str | None) -> frozenset[str]:
    """``"Completed, Succeeded"`` -> {"Completed", "Succeeded"}; known flags in their canonical case, unknown ones kept."""
    if not text:
        return frozenset()
    flags = (part.strip() for part in text.replace("|", ",").split(","))
    return frozenset(_CANONICAL.get(flag.casefold(), flag) for flag in flags if flag)


def search_finished(state: frozenset[str]) -> bool:
    """True once the search no longer runs: slskd set one of its end flags and dropped InProgress."""
    return "InProgress" not in state and bool(state & _SEARCH_ENDS)


def transfer_outcome(state: frozenset[str]) -> TransferOutcome:
    """The outcome a transfer's flags stand for; no flags or only unknown ones count as just requested."""
    for flag, reason in _FAILURES:
        if flag in state:
            return TransferOutcome("failed", reason)
    if "Succeeded" in state:
        return TransferOutcome("succeeded")
    if "Completed" in state:
        return TransferOutcome("failed", "completed without success")
    if "InProgress" in state:
        return TransferOutcome("in_progress")
    if "Initializing" in state:
        return TransferOutcome("initializing")
    if "Queued" in state:
        return TransferOutcome("queued_remotely" if "Remotely" in state else "queued_locally")
    return TransferOutcome("requested")
