"""Runs whose process died (killed, machine rebooted) must not hold pool slots forever.

A run killed with SIGKILL never reports its end: it stays "started" and keeps its slot in
the `duckdb` pool, and every later run waits behind it. Before each refresh, and from a
sensor while the UI runs, such runs are marked failed and their slots freed. The rows
they had committed stay; every phase resumes idempotently on the next run.
"""

from __future__ import annotations

import os

import dagster as dg

_ENDED = [dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED]


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:
        with open(f"/proc/{pid}/stat", "rb") as stat:
            return stat.read().rsplit(b")", 1)[1].split()[0] != b"Z"  # a zombie is dead
    except OSError:
        return True  # no /proc: trust kill()


def _run_process(instance: dg.DagsterInstance, run_id: str) -> int | None:
    records = instance.get_records_for_run(run_id, of_type=dg.DagsterEventType.RUN_START, limit=1).records
    if not records or not records[0].event_log_entry.dagster_event:
        return None
    return records[0].event_log_entry.dagster_event.pid


def recover_abandoned_runs(instance: dg.DagsterInstance) -> list[str]:
    """Mark started runs whose process is gone as failed and free their pool slots."""
    recovered = []
    for record in instance.get_run_records(filters=dg.RunsFilter(statuses=[dg.DagsterRunStatus.STARTED])):
        run = record.dagster_run
        pid = _run_process(instance, run.run_id)
        if pid is None or _process_alive(pid):
            continue
        instance.report_run_failed(
            run,
            f"the run's process ({pid}) is gone (killed or the machine restarted); marked failed to free its pool slots",
        )
        recovered.append(run.run_id)
    if instance.event_log_storage.supports_global_concurrency_limits:
        holders = list(instance.event_log_storage.get_concurrency_run_ids())
        ended = instance.get_run_records(filters=dg.RunsFilter(run_ids=holders, statuses=_ENDED)) if holders else []
        for ended_record in ended:
            instance.event_log_storage.free_concurrency_slots_for_run(ended_record.dagster_run.run_id)
    return recovered
