from soulspot_pipeline.domain.scan_plan import FileStat, KnownFile, plan_scan


def test_new_changed_unchanged_and_vanished_files_are_told_apart():
    known = {
        "/m/same.flac": KnownFile(10, 100),
        "/m/changed.flac": KnownFile(10, 100),
        "/m/gone.flac": KnownFile(10, 100),
        "/m/already-missing.flac": KnownFile(10, 100, missing=True),
    }
    seen = [FileStat("/m/same.flac", 10, 100), FileStat("/m/changed.flac", 10, 200), FileStat("/m/new.flac", 5, 1)]
    plan = plan_scan(seen, known)
    assert [s.path for s in plan.to_read] == ["/m/changed.flac", "/m/new.flac"]
    assert (plan.new, plan.changed, plan.unchanged) == (1, 1, 1)
    assert plan.vanished == ["/m/gone.flac"]  # the already-missing one is not vanished again
    assert plan.reappeared == []


def test_a_missing_file_that_comes_back_unchanged_is_not_reread():
    plan = plan_scan([FileStat("/m/a.mp3", 10, 100)], {"/m/a.mp3": KnownFile(10, 100, missing=True)})
    assert plan.to_read == []
    assert plan.reappeared == ["/m/a.mp3"]


def test_an_unreadable_file_is_not_reopened_until_it_changes():
    known = {"/m/bad.mp3": KnownFile(7, 1, unreadable=True), "/m/gone-bad.mp3": KnownFile(7, 1, unreadable=True)}
    plan = plan_scan([FileStat("/m/bad.mp3", 7, 1)], known)
    assert plan.to_read == [] and plan.unchanged_errors == 1
    assert plan.vanished_errors == ["/m/gone-bad.mp3"] and plan.vanished == []
    plan = plan_scan([FileStat("/m/bad.mp3", 8, 2)], known)
    assert [s.path for s in plan.to_read] == ["/m/bad.mp3"]


def test_files_below_a_folder_that_could_not_be_listed_are_not_vanished():
    known = {"/m/locked/a.flac": KnownFile(1, 1), "/m/locked-not/b.flac": KnownFile(1, 1)}
    plan = plan_scan([], known, unreachable_folders=["/m/locked"])
    assert plan.vanished == ["/m/locked-not/b.flac"]
