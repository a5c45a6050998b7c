"""The shared request rate: starts spaced by the interval, one request at a time."""

import itertools
import threading

from soulspot_pipeline.resources.throttle import MARGIN, FileThrottle
from soulspot_tests.clock import VirtualClock


def test_starts_are_spaced_by_the_interval_however_long_each_answer_takes(tmp_path):
    clock = VirtualClock(start=1_000_000.0)
    throttle = FileThrottle(tmp_path / "rate.lock", 0.02, now=clock.now, sleep=clock.sleep)
    starts = []
    for answer_s in (0.001, 0.015, 0.0, 0.03, 0.005):
        with throttle.turn():
            starts.append(clock.now())
            clock.sleep(answer_s)  # the server's answer
    gaps = [round(b - a, 6) for a, b in itertools.pairwise(starts)]
    interval = round(0.02 * (1 + MARGIN), 6)
    # A slow answer (30 ms) delays the next start to its end; a quick one does not add to the interval.
    assert gaps == [interval, interval, interval, 0.03], gaps


def test_the_interval_holds_across_throttles_sharing_one_file(tmp_path):
    clock = VirtualClock(start=1_000_000.0)
    first, second = (FileThrottle(tmp_path / "rate.lock", 1.0, now=clock.now, sleep=clock.sleep) for _ in range(2))
    with first.turn():
        sent = clock.now()
    with second.turn() as waited:
        assert clock.now() - sent >= 1.0 and waited >= 1.0


def test_two_callers_never_hold_a_turn_at_once(tmp_path):
    inside, most, lock = [0], [0], threading.Lock()

    def caller():
        throttle = FileThrottle(tmp_path / "rate.lock", 0.001)
        for _ in range(20):
            with throttle.turn():
                with lock:
                    inside[0] += 1
                    most[0] = max(most[0], inside[0])
                threading.Event().wait(0.0005)
                with lock:
                    inside[0] -= 1

    threads = [threading.Thread(target=caller) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert most[0] == 1
