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
