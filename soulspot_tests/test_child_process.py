"""A child gets our Ctrl-C once, shuts down by itself and says so; the third signal kills it."""

import os
import signal
import sys
import time

import pytest

from soulspot_pipeline.child_process import Child

pytestmark = pytest.mark.skipif(os.name != "posix", reason="process groups and signals as on POSIX")

# Counts the SIGINTs it gets, and lingers a moment after the first so that a second one would be counted too.
TRAPS_SIGINT = """
import signal, time
got = []
signal.signal(signal.SIGINT, lambda signum, frame: got.append(signum))
print("ready", flush=True)
while not got:
    time.sleep(0.01)
time.sleep(0.3)
print(f"child: stopping cleanly after {len(got)} SIGINT", flush=True)
"""
IGNORES_SIGINT = """
import signal, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
print("ready", flush=True)
time.sleep(30)
"""


def child_of(script: str, lines: list[str]) -> Child:
    return Child([sys.executable, "-c", script], on_line=lambda line: lines.append(line.strip()))


def wait_until_ready(lines: list[str]) -> None:
    deadline = time.monotonic() + 10
    while "ready" not in lines:
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.01)


def test_a_ctrl_c_is_passed_on_once_and_the_child_shuts_down_by_itself():
    before = signal.getsignal(signal.SIGINT)
    lines: list[str] = []
    with child_of(TRAPS_SIGINT, lines) as child:
        wait_until_ready(lines)
        signal.raise_signal(signal.SIGINT)  # the Ctrl-C reaches us only: the child is in its own group
        code = child.wait()
    assert code == 0 and child.interrupted == signal.SIGINT
    assert lines == ["ready", "child: stopping cleanly after 1 SIGINT"]
    assert signal.getsignal(signal.SIGINT) is before


def test_the_third_signal_kills_a_child_that_does_not_stop():
    lines: list[str] = []
    with child_of(IGNORES_SIGINT, lines) as child:
        wait_until_ready(lines)
        for _ in range(3):
            signal.raise_signal(signal.SIGINT)
        code = child.wait()
    assert code == -signal.SIGKILL and child.signals == [signal.SIGINT] * 3


def test_a_command_that_cannot_start_leaves_our_handlers_as_they_were(tmp_path):
    before = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)
    with pytest.raises(FileNotFoundError), Child([str(tmp_path / "no-such-command")]):
        pass
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == before
