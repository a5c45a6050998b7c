"""Killing a command as a power cut would: it and every process it started."""

import contextlib
import os
import signal
from pathlib import Path


def groups_below(pid: int) -> set[int]:
    """The process groups of every process started by ``pid``, read from /proc."""
    groups, todo = set(), [pid]
    while todo:
        for task in Path(f"/proc/{todo.pop()}/task").glob("*/children"):
            for child in map(int, task.read_text().split()):
                with contextlib.suppress(ProcessLookupError):  # it may have ended meanwhile
                    groups.add(os.getpgid(child))
                todo.append(child)
    return groups


def kill_everything_started_by(pid: int) -> None:
    """SIGKILL to ``pid``'s group and to the groups of its children (a job runs in its own)."""
    for group in {os.getpgid(pid), *groups_below(pid)}:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(group, signal.SIGKILL)
