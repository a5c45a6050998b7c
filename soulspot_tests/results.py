"""Reading what a Dagster run and the library database say, the same way in every test."""

import dagster as dg


def metadata(result, key: str) -> dict:
    """The materialization metadata of asset ``key`` in ``result``, as plain values."""
    (event,) = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(key)]
    return {k: v.value for k, v in event.materialization.metadata.items()}


def failure_message(result) -> str:
    """The error text of the run's (first) failed step."""
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    return str(failure.event_specific_data.error)


def rows(library_db, sql: str, params=()) -> list[tuple]:
    with library_db.reader() as conn:
        return conn.execute(sql, list(params)).fetchall()


class _Shared:
    instance: dg.DagsterInstance | None = None
    runs = 0


def shared_instance() -> dg.DagsterInstance:
    """One in-memory Dagster instance for the runs of this test process.

    Creating an instance costs more than a small run; results are read from each run's own
    events, so runs need not each have their own. Renewed now and then so memory stays flat.
    """
    if _Shared.instance is None or _Shared.runs >= 100:
        if _Shared.instance is not None:
            _Shared.instance.dispose()
        _Shared.instance, _Shared.runs = dg.DagsterInstance.ephemeral(), 0
    _Shared.runs += 1
    return _Shared.instance


def materialize(assets, **kwargs) -> dg.ExecuteInProcessResult:
    """``dg.materialize`` on this process's shared instance unless the test brings its own."""
    if kwargs.get("instance") is None:
        kwargs["instance"] = shared_instance()
    return dg.materialize(assets, **kwargs)


def acoustid_off():
    """AcoustID without a key, as on most machines: identification by fingerprint is skipped."""
    import tempfile
    from pathlib import Path

    from soulspot_pipeline.resources.acoustid import AcoustIDResource

    return AcoustIDResource(throttle_path=str(Path(tempfile.gettempdir()) / "soulspot-tests-acoustid.lock"))
