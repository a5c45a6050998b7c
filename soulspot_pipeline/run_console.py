"""A job run from the command line: a few lines on the console, everything else in a log file.

``dagster job execute`` runs the job in a child process whose whole output (Dagster's
DEBUG event log, tracebacks) goes to ``<data>/logs/<command>-<time>.log``. Meanwhile this
process reads the run's events from the instance and prints one line per phase as it
ends, a line per retry, and failed checks; ``--verbose`` shows the child's output live too.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import dagster as dg

from soulspot_pipeline.child_process import Child
from soulspot_pipeline.domain.run_summary import (
    DESCRIBE,
    PhaseOutcome,
    check_line,
    phase_lines,
    retry_line,
    without_class_prefix,
)

INVOCATION_TAG = "soulspot/invocation"
IN_PROCESS_CONFIG = "execution:\n  config:\n    in_process: true\n"  # see definitions.STEP_EXECUTOR
# Dagster's own exceptions around the one the phase raised.
_WRAPPERS = {"DagsterExecutionStepExecutionError", "RetryRequestedFromPolicy"}
LOGS_KEPT = 30
_RUN_ENDS = {
    dg.DagsterEventType.RUN_SUCCESS: "success",
    dg.DagsterEventType.RUN_FAILURE: "failure",
    dg.DagsterEventType.RUN_CANCELED: "canceled",
}
_WATCHED = {
    dg.DagsterEventType.ASSET_MATERIALIZATION,
    dg.DagsterEventType.ASSET_CHECK_EVALUATION,
    dg.DagsterEventType.STEP_SUCCESS,
    dg.DagsterEventType.STEP_FAILURE,
    dg.DagsterEventType.STEP_UP_FOR_RETRY,
    dg.DagsterEventType.RUN_SUCCESS,
    dg.DagsterEventType.RUN_FAILURE,
    dg.DagsterEventType.RUN_CANCELED,
}


def logs_dir(env: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """``<data folder>/logs``: readable from the environment alone, even when a setting is bad."""
    env = os.environ if env is None else env
    return Path(env.get("SOULSPOT_DATA_DIR", "").strip() or "data").expanduser().resolve() / "logs"


def new_log_path(command: str, env: dict[str, str] | os._Environ[str] | None = None) -> Path:
    """A fresh log file for one command; the oldest beyond the newest 30 are removed."""
    folder = logs_dir(env)
    folder.mkdir(parents=True, exist_ok=True)
    old = sorted(folder.glob(f"{command}-*.log"))
    for stale in old[: max(0, len(old) - LOGS_KEPT + 1)]:
        stale.unlink(missing_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    path = folder / f"{command}-{stamp}.log"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"{command}-{stamp}-{n}.log"
    return path


def log_exception(path: Path, headline: str) -> None:
    """The current exception's traceback, appended to the log file (never shown on the console)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a", encoding="utf-8") as log:
        log.write(f"{datetime.now(UTC).isoformat()} {headline}\n{traceback.format_exc()}\n")


def error_text(error: Any) -> str:
    """A step's error as the user wrote it: under Dagster's wrapper, without the class path."""
    while error is not None and error.cls_name in _WRAPPERS and error.cause is not None:
        error = error.cause
    if error is None:
        return "no message"
    return without_class_prefix(error.message, error.cls_name).strip() or error.cls_name


def _plain(value: Any) -> Any:
    return getattr(value, "value", value)


@dataclass
class RunFollower:
    """Reads one run's events from the instance as they arrive, and says what each phase did."""

    instance: dg.DagsterInstance
    invocation: str
    say: Callable[[str], None]
    retries_of: Callable[[str], int | None] = lambda step: None
    run_id: str | None = None
    status: str | None = None
    outcomes: dict[str, PhaseOutcome] = field(default_factory=dict)
    _cursor: str | None = None
    _metadata: dict[str, dict[str, Any]] = field(default_factory=dict)
    _retries: dict[str, int] = field(default_factory=dict)

    def poll(self) -> None:
        if self.run_id is None:
            runs = self.instance.get_runs(filters=dg.RunsFilter(tags={INVOCATION_TAG: self.invocation}), limit=1)
            if not runs:
                return
            self.run_id = runs[0].run_id
        while True:
            page = self.instance.get_records_for_run(self.run_id, cursor=self._cursor, of_type=_WATCHED, limit=500)
            for record in page.records:
                if record.event_log_entry.dagster_event is not None:
                    self._handle(record.event_log_entry.dagster_event)
            self._cursor = page.cursor
            if not page.has_more:
                return

    def _handle(self, event: dg.DagsterEvent) -> None:
        kind, step = event.event_type, event.step_key or ""
        data: Any = event.event_specific_data
        if kind == dg.DagsterEventType.ASSET_MATERIALIZATION:
            materialization = data.materialization
            # A step may also report the merge it caused; its own asset's counts are what it did.
            if materialization.asset_key.path[-1] == step or step not in self._metadata:
                self._metadata[step] = {k: _plain(v) for k, v in materialization.metadata.items()}
        elif kind == dg.DagsterEventType.STEP_SUCCESS:
            if step in self._metadata:
                self._tell(PhaseOutcome(step, "materialized", self._metadata[step]))
        elif kind == dg.DagsterEventType.STEP_FAILURE:
            self._tell(PhaseOutcome(step, "failed", error=error_text(data.error)))
        elif kind == dg.DagsterEventType.STEP_UP_FOR_RETRY:
            self._retries[step] = self._retries.get(step, 0) + 1
            retries = self.retries_of(step)
            self.say(
                retry_line(
                    step,
                    data.seconds_to_wait,
                    self._retries[step] + 1,
                    retries + 1 if retries else None,
                    error_text(data.error),
                )
            )
        elif kind == dg.DagsterEventType.ASSET_CHECK_EVALUATION and not data.passed:
            self.say(check_line(data.asset_key.to_user_string(), data.check_name, data.description))
        elif kind in _RUN_ENDS:
            self.status = _RUN_ENDS[kind]

    def _tell(self, outcome: PhaseOutcome) -> None:
        self.outcomes[outcome.step] = outcome
        for line in phase_lines(outcome):
            self.say(line)

    def tell_not_run(self, *, stopped: bool = False) -> None:
        """The phases of the run that never started (an earlier one failed, or the run was stopped)."""
        if self.run_id is None:
            return
        run = self.instance.get_run_by_id(self.run_id)
        snapshot = (
            self.instance.get_execution_plan_snapshot(run.execution_plan_snapshot_id)
            if run and run.execution_plan_snapshot_id
            else None
        )
        for step in snapshot.steps if snapshot else []:
            if step.key in DESCRIBE and step.key not in self.outcomes:
                reason = "the run was stopped" if stopped or self.status == "canceled" else None
                self._tell(PhaseOutcome(step.key, "not run", error=reason))


@dataclass(frozen=True)
class JobRun:
    code: int
    status: str | None
    seconds: float
    interrupted: bool
    outcomes: dict[str, PhaseOutcome]


def execute_job(
    job: str,
    env: dict[str, str],
    log_path: Path,
    *,
    say: Callable[[str], None],
    verbose: bool = False,
    tags: dict[str, str] | None = None,
) -> JobRun:
    """Run ``job`` in a child process, telling each phase's outcome as the run goes."""
    invocation = uuid.uuid4().hex
    started = time.monotonic()
    log_path.parent.mkdir(parents=True, exist_ok=True)
    os.environ["DAGSTER_HOME"] = env["DAGSTER_HOME"]  # the instance the child runs in
    with log_path.open("a", encoding="utf-8") as log, dg.DagsterInstance.get() as instance:
        follower = RunFollower(instance, invocation, say, retries_of=_retry_counts(job))

        def keep(line: str) -> None:
            log.write(line)
            if verbose:
                sys.stdout.write(line)
                sys.stdout.flush()

        with (
            job_command(job, {**(tags or {}), INVOCATION_TAG: invocation}) as command,
            Child(command, env=env, on_line=keep) as child,
        ):
            code = child.wait(tick=follower.poll)
        follower.poll()
        follower.tell_not_run(stopped=child.interrupted is not None)
        return JobRun(
            code, follower.status, time.monotonic() - started, child.interrupted is not None, follower.outcomes
        )


@contextmanager
def job_command(job: str, tags: dict[str, str] | None = None) -> Iterator[list[str]]:
    """``dagster job execute`` of ``job``, its steps run one after the other in its own process.

    A one-off run pays Dagster's start-up once instead of once per step (a refresh of an
    empty library: 7 s instead of 22); schedules and sensors keep a process per step.
    """
    command = [dagster_command(), "job", "execute", "-m", "soulspot_pipeline.definitions", "-j", job]
    if tags:
        command += ["--tags", json.dumps(tags)]
    with tempfile.TemporaryDirectory(prefix="soulspot-run-") as folder:
        config = Path(folder) / "run-config.yaml"
        config.write_text(IN_PROCESS_CONFIG, encoding="utf-8")
        yield [*command, "-c", str(config)]


def dagster_command() -> str:
    beside = Path(sys.executable).with_name("dagster")
    return str(beside) if beside.exists() else "dagster"


def _retry_counts(job: str) -> Callable[[str], int | None]:
    """Each step's retry policy, read from the definitions when a first retry happens."""
    cache: dict[str, int | None] = {}

    def retries(step: str) -> int | None:
        if step not in cache:
            try:
                from dagster._core.definitions.dependency import NodeHandle

                from soulspot_pipeline.definitions import defs

                policy = defs.resolve_job_def(job).get_retry_policy_for_handle(NodeHandle(step, None))
                cache[step] = policy.max_retries if policy else None
            except Exception:  # only the "(2 of 3)" is lost: the line still says it retries
                cache[step] = None
        return cache[step]

    return retries
