"""The console's account of a run: one line per phase, counts, reasons, unreadable files."""

from soulspot_pipeline.domain.run_summary import (
    PhaseOutcome,
    check_line,
    first_line,
    phase_lines,
    retry_line,
    without_class_prefix,
)


def test_a_skipped_phase_says_why_and_a_materialized_one_gives_its_counts():
    (skipped,) = phase_lines(PhaseOutcome("spotify_likes", "materialized", {"status": "skipped: not configured"}))
    assert skipped.split() == ["spotify_likes", "skipped:", "not", "configured"]
    (merged,) = phase_lines(
        PhaseOutcome(
            "library_entities",
            "materialized",
            {"artists": 2, "albums": 3, "tracks": 9, "owned_tracks": 8, "downloaded_tracks": 7},
        )
    )
    assert merged.endswith("2 artists, 3 albums, 9 tracks (8 owned, 7 on disk)")
    (unchanged,) = phase_lines(
        PhaseOutcome(
            "library_entities",
            "materialized",
            {"artists": 2, "albums": 3, "tracks": 9, "owned_tracks": 8, "downloaded_tracks": 7, "up_to_date": True},
        )
    )
    assert unchanged.endswith("(8 owned, 7 on disk); up to date, not merged again")
    (partial,) = phase_lines(
        PhaseOutcome(
            "deezer_favorites",
            "materialized",
            {"status": "partial: saved albums: 1 of 7 album track lists unavailable", "liked_tracks": 7},
        )
    )
    assert "7 liked tracks" in partial and "partial: saved albums: 1 of 7" in partial


def test_counts_read_from_json_metadata_leave_zeros_out():
    (line,) = phase_lines(
        PhaseOutcome(
            "downloads", "materialized", {"searched": 4, "requests": 9, "this_run": {"downloading": 3, "x": 0}}
        )
    )
    assert line.endswith("4 tracks searched (9 requests to slskd); downloading 3")


def test_unreadable_files_are_named_inside_the_music_folder_five_at_most_then_counted():
    files = [[f"/music/a/{n}.flac", f"corrupt or truncated: FLACNoHeaderError {n}\nmore"] for n in range(5)]
    metadata = {
        "music_dir": "/music",
        "seen": 9,
        "new": 9,
        "unreadable": 7,
        "unreadable_files": files,
    }
    lines = phase_lines(PhaseOutcome("local_scan", "materialized", metadata))
    assert lines[0].endswith("9 files seen: 9 new, 0 changed, 0 missing, 7 unreadable")
    assert [line.split("unreadable: ")[1].split(" (")[0] for line in lines[1:6]] == [f"a/{n}.flac" for n in range(5)]
    assert "more" not in lines[1]  # the reason's first line only
    assert lines[6].strip().startswith("and 2 more: SELECT path, error FROM library.scan_errors")
    assert len(lines) == 7


def test_a_failure_shows_the_first_line_of_its_error_and_later_phases_say_they_did_not_run():
    (failed,) = phase_lines(PhaseOutcome("downloads", "failed", error="\n\ncannot reach slskd\nTraceback ..."))
    assert failed.split(None, 1)[1] == "failed: cannot reach slskd"
    (later,) = phase_lines(PhaseOutcome("library_cleanup", "not run"))
    assert later.split(None, 1)[1] == "not run: an earlier phase failed"


def test_error_messages_lose_their_class_path_only():
    assert without_class_prefix("pkg.mod.MusicFolderError: is the drive mounted?", "MusicFolderError") == (
        "is the drive mounted?"
    )
    assert without_class_prefix("Failure: a: b", "Failure") == "a: b"
    assert without_class_prefix("OtherError: kept", "Failure") == "OtherError: kept"
    assert first_line("x" * 400).endswith("…") and len(first_line("x" * 400)) == 300


def test_retry_and_check_lines():
    assert retry_line("local_scan", 10, 2, 3, "locked\ntrace").endswith("retrying in 10 s (2 of 3): locked")
    assert retry_line("images", None, 2, None, "boom").endswith("retrying (attempt 2): boom")
    assert check_line("library_entities", "no_orphaned_tracks", "3 orphans").endswith(
        "check no_orphaned_tracks failed: 3 orphans"
    )


def test_the_decode_check_names_the_files_it_flagged():
    metadata = {
        "checked": 3,
        "ok": 1,
        "truncated": 1,
        "broken": 1,
        "left": 0,
        "flagged": [["a/cut.flac", "truncated: the audio ends at 18.2 s"], ["b/zeros.mp3", "broken: at 90.0 s"]],
        "flagged_total": 2,
    }
    lines = phase_lines(PhaseOutcome("audio_checks", "materialized", metadata))
    assert [line.split("flagged: ")[1] for line in lines[1:]] == [
        "a/cut.flac (truncated: the audio ends at 18.2 s)",
        "b/zeros.mp3 (broken: at 90.0 s)",
    ]
