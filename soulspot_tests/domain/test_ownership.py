from soulspot_pipeline.domain.ownership import container_state, local_track_state


def test_a_file_on_disk_is_owned_and_downloaded():
    assert local_track_state(None, file_present=True, file_known=True, auto_queue=False) == ("owned", "downloaded")


def test_a_vanished_file_leaves_downloaded_and_queues_only_with_auto_queue():
    assert local_track_state("owned", file_present=False, file_known=True, auto_queue=False) == ("owned", "not_needed")
    assert local_track_state("owned", file_present=False, file_known=True, auto_queue=True) == ("owned", "pending")


def test_a_superseded_track_becomes_discovered():
    assert local_track_state("owned", file_present=False, file_known=False, auto_queue=True) == ("discovered", "not_needed")


def test_ignored_is_never_reowned():
    assert local_track_state("ignored", file_present=True, file_known=True, auto_queue=True)[0] == "ignored"
    assert container_state("ignored", ["owned"]) == "ignored"


def test_containers_are_owned_while_any_member_is():
    assert container_state(None, ["discovered", "owned"]) == "owned"
    assert container_state("owned", ["discovered"]) == "discovered"
    assert container_state(None, []) == "discovered"
