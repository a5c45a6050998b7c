"""Child processes that stop cleanly: Ctrl-C and SIGTERM are passed on once, then waited for.

A child runs in its own process group, so a Ctrl-C in the terminal reaches only us; we
pass it to the child's whole group (its own workers included) exactly once and wait for
it to shut down and say so. ``subprocess.call`` would instead kill the child outright on
the first Ctrl-C and leave its clean-up undone.
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
from collections.abc import Callable, Sequence
from types import FrameType
from typing import IO

FORWARDED = (signal.SIGINT, signal.SIGTERM)
KILL = getattr(signal, "SIGKILL", signal.SIGTERM)  # Windows has no SIGKILL; terminate() is its kill
# The third signal means the child does not stop by itself: it and its group are killed.
KILL_AFTER = 3


class Child:
    """One child command. Use as a context manager; ``wait()`` returns its exit code.

    ``output``: a file the child's stdout and stderr go to; ``on_line``: instead, each line
    of its output is handed to this function (from a reader thread).
    """

    def __init__(
        self,
        command: Sequence[str],
        *,
        env: dict[str, str] | None = None,
        output: IO[str] | None = None,
        on_line: Callable[[str], None] | None = None,
        cwd: str | os.PathLike[str] | None = None,
    ) -> None:
        self.command = list(command)
        self.env = env
        self.cwd = cwd
        self.output = output
        self.on_line = on_line
        self.signals: list[int] = []
        self.returncode: int | None = None
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None
        self._previous: dict[int, object] = {}

    @property
    def interrupted(self) -> int | None:
        """The first signal that asked us to stop, or None."""
        return self.signals[0] if self.signals else None

    def __enter__(self) -> Child:
        if threading.current_thread() is threading.main_thread():
            for signum in FORWARDED:
                self._previous[signum] = signal.signal(signum, self._forward)
        try:
            self._start()
        except BaseException:  # no child: nothing will restore our handlers but this
            self._restore_handlers()
            raise
        if self.signals:  # asked to stop while it was starting, when there was no one to tell
            self._pass_on()
        return self

    def _start(self) -> None:
        group = 0 if os.name == "posix" else None  # its own process group (a dict of it defeats type checks)
        if self.on_line is not None:
            self._process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                bufsize=1,
                process_group=group,
            )
            self._reader = threading.Thread(target=self._read, daemon=True)
            self._reader.start()
        else:
            out = self.output if self.output is not None else None
            self._process = subprocess.Popen(
                self.command,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT if out is not None else None,
                text=True,  # nothing to decode (no pipe); types it Popen[str] like the other branch
                process_group=group,
            )

    def __exit__(self, *exc_info: object) -> None:
        if self._process is not None and self._process.poll() is None:
            self._signal(signal.SIGTERM)
            try:
                self._process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self._signal(KILL)
                self._process.wait()
        if self._reader is not None:
            self._reader.join(timeout=5)
        self._restore_handlers()

    def _restore_handlers(self) -> None:
        for signum, handler in self._previous.items():
            # None: the handler was not set from Python and cannot be put back; the default is closest.
            signal.signal(signum, signal.SIG_DFL if handler is None else handler)  # type: ignore[arg-type]

    def wait(self, tick: Callable[[], None] | None = None, every_s: float = 0.5) -> int:
        """Wait for the child to end, calling ``tick`` every ``every_s`` seconds meanwhile."""
        assert self._process is not None, "use Child as a context manager"
        while True:
            try:
                code = self._process.wait(timeout=every_s if tick else None)
            except subprocess.TimeoutExpired:
                if tick:
                    tick()
                continue
            if self._reader is not None:
                self._reader.join(timeout=5)
            if tick:
                tick()
            self.returncode = code
            return code

    def _read(self) -> None:
        assert self._process is not None and self._process.stdout is not None and self.on_line is not None
        for line in self._process.stdout:
            self.on_line(line)

    def _forward(self, signum: int, frame: FrameType | None) -> None:
        self.signals.append(signum)
        self._pass_on()

    def _pass_on(self) -> None:
        self._signal(KILL if len(self.signals) >= KILL_AFTER else self.signals[-1])

    def _signal(self, signum: int) -> None:
        process = self._process
        if process is None or process.poll() is not None:
            return
        try:
            if os.name == "posix":
                os.killpg(process.pid, signum)
            elif signum != signal.SIGINT:  # Windows: the console's Ctrl-C reached the child already
                process.terminate()
        except ProcessLookupError:
            pass


def run_child(command: Sequence[str], *, env: dict[str, str] | None = None, output: IO[str] | None = None) -> Child:
    """Run ``command`` to its end, passing Ctrl-C and SIGTERM on; the ended ``Child`` tells its code and signals."""
    with Child(command, env=env, output=output) as child:
        child.wait()
    return child
