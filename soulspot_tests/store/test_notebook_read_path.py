import threading

import pytest

from soulspot_pipeline import connect


def test_connect_explains_a_missing_snapshot_and_where_it_looked(tmp_path, monkeypatch):
    with pytest.raises(FileNotFoundError, match=r"run.py refresh.*connect\(data_dir="):
        connect(tmp_path / "nothing.duckdb")
    with pytest.raises(FileNotFoundError, match=f"looked in data folder {tmp_path / 'elsewhere'}\\)"):
        connect(data_dir=tmp_path / "elsewhere")
    monkeypatch.setenv("SOULSPOT_DATA_DIR", str(tmp_path / "from-env"))
    with pytest.raises(
        FileNotFoundError, match=f"looked in data folder {tmp_path / 'from-env'} \\(SOULSPOT_DATA_DIR\\)"
    ):
        connect()


def test_connect_reads_the_snapshot_of_the_data_folder_it_is_given(published_library_db, tmp_path):
    with published_library_db.writer():
        pass  # a write publishes the snapshot
    assert connect(data_dir=tmp_path / "data").execute("SELECT count(*) FROM library.tracks").fetchall() == [(0,)]


def test_writes_publish_a_snapshot_and_an_open_notebook_never_blocks_them(published_library_db):
    library_db = published_library_db
    with library_db.writer() as conn:
        conn.execute(
            "INSERT INTO library.artists (artist_id, name, ownership_state, primary_source, created_at, updated_at) "
            "VALUES ('a1', 'Air', 'owned', 'local', now(), now())"
        )
    notebook = connect(library_db.snapshot_path)
    assert notebook.execute("SELECT name FROM library.artists").fetchall() == [("Air",)]

    # The notebook stays open while many writes happen, from another thread too.
    def write(n):
        with library_db.writer() as conn:
            conn.execute(
                "INSERT INTO library.artists (artist_id, name, ownership_state, primary_source, created_at, updated_at) "
                "VALUES (?, ?, 'owned', 'local', now(), now())",
                [f"a{n + 2}", f"Artist {n}"],
            )

    for n in range(3):
        thread = threading.Thread(target=write, args=(n,))
        thread.start()
        assert notebook.execute("SELECT count(*) FROM library.artists").fetchall()[0][0] >= 1
        thread.join()
    assert notebook.execute("SELECT count(*) FROM library.artists").fetchall() == [(1,)]  # its own snapshot
    fresh = connect(library_db.snapshot_path)
    assert fresh.execute("SELECT count(*) FROM library.artists").fetchall() == [(4,)]
    notebook.close()
    fresh.close()


@pytest.mark.subprocess  # a notebook in another process holds the file
def test_a_notebook_on_the_main_file_is_named_in_the_lock_error(library_db, tmp_path):
    import subprocess
    import sys

    with library_db.writer():
        pass
    # A second process holding the main file read-only blocks writers; the error says what to do.
    holder = subprocess.Popen(
        [
            sys.executable,
            "-c",
            "import duckdb,sys,time; c=duckdb.connect(sys.argv[1], read_only=True); print('ok', flush=True); time.sleep(30)",
            library_db.database,
        ],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert holder.stdout.readline().strip() == "ok"
        impatient = library_db.model_copy(update={"lock_timeout_s": 0.5})
        with pytest.raises(Exception, match=r"soulspot_pipeline\.connect"), impatient.writer():
            pass
    finally:
        holder.kill()
        holder.wait()
