"""Shared fixtures: a library database and a music folder in tmp_path, real data when present."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from soulspot_pipeline.store.database import LibraryDatabase

REALDATA = Path(__file__).resolve().parents[1].parent / "shared" / "realdata"


SLOW_FIRST = ("e2e", "scale", "subprocess")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """One worker more than cores (`-n auto`): many tests wait on a subprocess or a stand-in,
    and the extra worker keeps every core busy meanwhile."""
    return (os.cpu_count() or 1) + 1


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """The slow tests first, so that no worker starts a minute-long one when the rest is done."""
    items.sort(key=lambda item: not any(item.get_closest_marker(name) for name in SLOW_FIRST))


@pytest.fixture
def realdata() -> Path:
    if not REALDATA.is_dir():
        pytest.skip(
            f"real recorded data not present at {REALDATA} (it is only beside the project in CI and development)"
        )
    return REALDATA


@pytest.fixture
def music_dir(tmp_path: Path) -> Path:
    folder = tmp_path / "music"
    folder.mkdir()
    return folder


@pytest.fixture
def library_db(tmp_path: Path) -> LibraryDatabase:
    """The library database without the notebook snapshot: publishing one after every write
    is tested where notebooks are (``published_library_db``), and costs the rest time only."""
    return LibraryDatabase(database=str(tmp_path / "data" / "soulspot.duckdb"), lock_timeout_s=5)


@pytest.fixture
def published_library_db(tmp_path: Path) -> LibraryDatabase:
    """The library database as the pipeline runs it: every write publishes the notebook snapshot."""
    return LibraryDatabase(
        database=str(tmp_path / "data" / "soulspot.duckdb"),
        snapshot_path=str(tmp_path / "data" / "soulspot.snapshot.duckdb"),
        lock_timeout_s=5,
    )
