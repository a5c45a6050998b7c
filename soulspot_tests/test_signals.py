"""Ctrl-C and SIGTERM stop the demo cleanly: its Dagster run ends itself, the stand-ins stop, the
demo says so and exits 130, with no traceback and no process left behind."""

import importlib.util
import os
import queue
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import IO
from urllib.parse import urlsplit

import pytest

from soulspot_pipeline.devkit import demo
from soulspot_pipeline.devkit.standins.coverart import CoverArtStandin

pytestmark = pytest.mark.skipif(os.name != "posix", reason="signals and sessions as on POSIX")

ROOT = Path(__file__).resolve().parents[1]
CLOSING_LINE = "DEMO interrupted; stand-ins stopped"
WAIT_S = 60  # an upper bound only: the whole test takes about 15 s


def wait_until(done: Callable[[], bool], what: str, timeout_s: float = WAIT_S) -> None:
    deadline = time.monotonic() + timeout_s
    while not done():
        assert time.monotonic() < deadline, f"still waiting for {what} after {timeout_s:.0f} s"
        time.sleep(0.1)


def refused(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
    except ConnectionRefusedError:
        return True
    return False


def alive_in_session(sid: int) -> list[int]:
    """The processes of a session that still run (zombies, already ended, are not counted)."""
    listing = subprocess.run(["ps", "-A", "-o", "pid=,stat="], capture_output=True, text=True, check=True).stdout
    alive = []
    for line in listing.splitlines():
        pid, stat = line.split(maxsplit=1)
        try:
            if not stat.startswith("Z") and os.getsid(int(pid)) == sid:
                alive.append(int(pid))
        except OSError:  # ended meanwhile
            pass
    return alive


class Output:
    """A process's output lines, read as they come."""

    def __init__(self, stream: IO[str]) -> None:
        self.lines: list[str] = []
        self._new: queue.Queue[str] = queue.Queue()
        threading.Thread(target=self._read, args=(stream,), daemon=True).start()

    def _read(self, stream: IO[str]) -> None:
        for line in stream:
            self.lines.append(line)
            self._new.put(line)

    def wait_for(self, start: str) -> str:
        deadline = time.monotonic() + WAIT_S
        while True:
            try:
                line = self._new.get(timeout=max(0.0, deadline - time.monotonic()))
            except queue.Empty:
                raise AssertionError(f"no line starting {start!r} in:\n{self.text}") from None
            if line.startswith(start):
                return line

    @property
    def text(self) -> str:
        return "".join(self.lines)


def venv_is_current() -> bool:
    """Whether run.py would start at once (or install first, which takes minutes)."""
    spec = importlib.util.spec_from_file_location("run_py", ROOT / "run.py")
    assert spec is not None and spec.loader is not None
    run_py = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(run_py)
    return run_py.STAMP.exists() and run_py.STAMP.read_bytes() == run_py._wanted()


@pytest.mark.e2e
def test_ctrl_c_during_a_demo_run_ends_the_run_stops_the_stand_ins_and_leaves_no_process(tmp_path):
    if not venv_is_current():
        pytest.skip("run.py would install first: run `python3 run.py test` once")
    data = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith(demo.USER_PREFIXES)}
    process = subprocess.Popen(
        [sys.executable, str(ROOT / "run.py"), "demo", "--no-ui", "--data-dir", str(data)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,  # its session holds the demo and all it started, the runs' own groups too
    )
    session = process.pid
    try:
        output = Output(process.stdout)
        ports = [int(p) for p in re.findall(r"http://127\.0\.0\.1:(\d+)", output.wait_for("2. stand-ins"))]
        output.wait_for("3. library_refresh")
        log = data / "demo-logs" / "1-library_refresh.log"
        wait_until(lambda: log.is_file() and "RUN_START" in log.read_text(errors="replace"), "the run to start")

        os.kill(process.pid, signal.SIGINT)  # run.py's pid only, as a terminal's Ctrl-C reaches the demo
        code = process.wait(timeout=WAIT_S)
        wait_until(lambda: not alive_in_session(session), "the demo's processes to end", timeout_s=10)
    finally:
        for pid in alive_in_session(session):  # only when the test failed
            os.kill(pid, signal.SIGKILL)

    assert code in (0, 130), output.text
    assert CLOSING_LINE in output.text and "Traceback" not in output.text, output.text
    run_log = log.read_text(errors="replace")
    assert "RUN_FAILURE" in run_log or "RUN_CANCELED" in run_log  # Dagster ended the run itself: not killed
    # Every stand-in the demo started (Spotify, Deezer, MusicBrainz, covers, slskd, LRCLIB) is down.
    assert len(ports) == 6 and all(refused(port) for port in ports)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM])
def test_a_signal_while_the_demo_itself_works_stops_its_stand_ins_and_says_so(tmp_path, monkeypatch, capsys, signum):
    ports = []

    def working(stack: ExitStack, data_dir: Path, **options: object) -> int:
        ports.append(urlsplit(stack.enter_context(CoverArtStandin()).url).port)
        signal.raise_signal(signum)  # between two runs: the demo reads the library or prints
        raise AssertionError("the signal did not stop the demo")

    monkeypatch.setattr(demo, "_run", working)
    handlers = signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)

    assert demo.run_demo(tmp_path / "demo", ui=False, host="127.0.0.1", port=3000) == 130
    assert capsys.readouterr().out.rstrip().endswith(CLOSING_LINE)
    assert refused(ports[0])
    assert (signal.getsignal(signal.SIGINT), signal.getsignal(signal.SIGTERM)) == handlers
