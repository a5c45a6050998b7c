from datetime import datetime, timedelta

from soulspot_pipeline.domain.ownership import Decision, Reason, container_state, effective_decision, track_state

T0 = datetime(2026, 1, 1)
LATER = T0 + timedelta(days=1)


def state(reasons=(), decision=None, file_present=False, requested_at=None, auto_queue=False):
    ownership, download, _ = track_state(
        list(reasons), decision, file_present=file_present, requested_at=requested_at, auto_queue=auto_queue
    )
    return ownership, download


def test_a_file_on_disk_is_owned_and_downloaded():
    assert state([Reason("local", T0)], file_present=True) == ("owned", "downloaded")


def test_a_vanished_file_still_owns_and_queues_only_with_auto_queue():
    assert state([Reason("local", T0)]) == ("owned", "not_needed")
    assert state([Reason("local", T0)], auto_queue=True) == ("owned", "pending")


def test_without_any_reason_a_track_is_discovered():
    assert state([], auto_queue=True) == ("discovered", "not_needed")


def test_a_request_owns_and_queues_even_without_auto_queue():
    assert state([], requested_at=T0) == ("owned", "pending")


def test_removal_drops_older_reasons_only():
    removed = Decision("removed", LATER)
    assert state([Reason("spotify", T0)], removed) == ("discovered", "not_needed")
    assert state([Reason("spotify", LATER + timedelta(hours=1))], removed) == ("owned", "not_needed")
    assert state([], removed, requested_at=T0) == ("discovered", "not_needed")
    assert state([Reason("local", T0)], removed, file_present=True) == ("discovered", "downloaded")


def test_ignored_is_never_reowned():
    ignored = Decision("ignored", T0)
    assert state([Reason("spotify", LATER)], ignored, requested_at=LATER, auto_queue=True) == ("ignored", "not_needed")
    assert container_state([Reason("spotify", LATER)], ignored, ["owned"])[0] == "ignored"


def test_ignore_anywhere_up_the_chain_wins_and_otherwise_the_latest_removal_applies():
    removed_early, removed_late, ignored = Decision("removed", T0), Decision("removed", LATER), Decision("ignored", T0)
    assert effective_decision(None, removed_early, removed_late) == removed_late
    assert effective_decision(removed_late, None, ignored) == ignored
    assert effective_decision(None, None) is None


def test_containers_are_owned_by_their_own_reasons_or_any_owned_member():
    assert container_state([], None, ["discovered", "owned"])[0] == "owned"
    assert container_state([], None, ["discovered"])[0] == "discovered"
    assert container_state([Reason("spotify", T0)], None, [])[0] == "owned"
    assert container_state([Reason("spotify", T0)], Decision("removed", LATER), [])[0] == "discovered"


def test_a_pending_track_shows_its_downloads_progress_and_failure_but_a_file_wins():
    from datetime import UTC, datetime

    from soulspot_pipeline.domain.ownership import Reason, track_state

    liked = [Reason("spotify", datetime(2026, 1, 1, tzinfo=UTC))]
    for transfer, expected in (
        (None, "pending"),
        ("not_found", "pending"),
        ("downloading", "downloading"),
        ("failed", "failed"),
    ):
        assert (
            track_state(liked, None, file_present=False, requested_at=None, auto_queue=True, transfer=transfer)[1]
            == expected
        )
    assert (
        track_state(liked, None, file_present=True, requested_at=None, auto_queue=True, transfer="downloading")[1]
        == "downloaded"
    )
    # Requested again after the download failed (or was given up): pending anew; not before.
    failed_at, asked = datetime(2026, 2, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)
    for given_up in ("failed", "abandoned"):
        assert (
            track_state(
                liked,
                None,
                file_present=False,
                requested_at=asked,
                auto_queue=False,
                transfer=given_up,
                transfer_at=failed_at,
            )[1]
            == "pending"
        )
        assert (
            track_state(
                liked,
                None,
                file_present=False,
                requested_at=failed_at,
                auto_queue=False,
                transfer=given_up,
                transfer_at=asked,
            )[1]
            != "pending"
        )
    # Not wanted (not queued): a stale transfer state does not make it downloading.
    assert (
        track_state(liked, None, file_present=False, requested_at=None, auto_queue=False, transfer="downloading")[1]
        == "not_needed"
    )


def test_a_broken_file_queues_its_owned_track_whatever_auto_queue_says():
    for auto_queue in (False, True):
        ownership, download, _ = track_state(
            [Reason("local", T0)], None, file_present=False, requested_at=None, auto_queue=auto_queue, file_broken=True
        )
        assert (ownership, download) == ("owned", "pending")
    # Not owned any more (removed after the file was first seen): nothing to fetch.
    assert track_state(
        [Reason("local", T0)],
        Decision("removed", LATER),
        file_present=False,
        requested_at=None,
        auto_queue=False,
        file_broken=True,
    )[:2] == ("discovered", "not_needed")
