from __future__ import annotations

from dataclasses import replace

from soulspot_pipeline.domain.album_match import (
    ACCEPTED,
    NONE,
    PARTIAL,
    REJECTED,
    AlbumCluster,
    ReleaseCandidate,
    TrackResult,
    cluster_tracks,
)
from soulspot_pipeline.domain.identify import ArtistCredit, RecordingCandidate, ReleaseRef
from soulspot_pipeline.domain.identify_albums import choose_edition, identify_album, identify_albums, track_results
from soulspot_pipeline.domain.identify_run import TrackTodo, identify_library
from soulspot_tests.domain.test_album_match import ARTIST, BONUS, ORIGINAL, OTHER, local, release


class CountingSource:
    """Search hits and lookups from memory, counting every request."""

    def __init__(self, hits: list[ReleaseCandidate], releases: list[ReleaseCandidate]) -> None:
        self.hits = hits
        self.releases = {r.mbid: r for r in releases}
        self.searches: list[tuple[str, str, int, int | None]] = []
        self.lookups: list[str] = []

    def search_releases(
        self, album: str, artist: str, track_count: int, year: int | None
    ) -> tuple[str, list[ReleaseCandidate]]:
        self.searches.append((album, artist, track_count, year))
        return f'release:"{album}" AND artist:"{artist}"', list(self.hits)

    def release(self, mbid: str) -> ReleaseCandidate | None:
        self.lookups.append(mbid)
        return self.releases.get(mbid)


def hit_of(full: ReleaseCandidate, score: int = 90) -> ReleaseCandidate:
    """What a search says of a release: no tracklist, just a track count."""
    return replace(full, tracks=(), mb_score=score)


def one_cluster(songs, **kwargs) -> AlbumCluster:
    [cluster] = cluster_tracks([local(n, name, seconds, **kwargs) for n, (name, seconds) in enumerate(songs, 1)])
    return cluster


ORIGINAL_RELEASE = release("orig", ORIGINAL)
DELUXE_RELEASE = release("deluxe", ORIGINAL + BONUS, title="OK Computer (Deluxe Edition)")


def test_files_carrying_recording_mbids_need_no_request():
    files = [
        local(n, name, seconds, recording=f"rec-{n}", release="rel-1") for n, (name, seconds) in enumerate(ORIGINAL, 1)
    ]
    source = CountingSource([], [])
    [decision] = identify_albums(cluster_tracks(files), source)
    assert (source.searches, source.lookups) == ([], [])
    assert decision.rule == "tags" and decision.status == ACCEPTED
    results = track_results(decision)
    assert len(results) == 10
    assert {r.recording_mbid for r in results} == {f"rec-{n}" for n in range(1, 11)}
    assert {r.release_mbid for r in results} == {"rel-1"}


def test_a_release_tag_costs_one_lookup_and_no_search():
    files = [local(n, name, seconds, release="orig") for n, (name, seconds) in enumerate(ORIGINAL, 1)]
    source = CountingSource([hit_of(DELUXE_RELEASE)], [ORIGINAL_RELEASE, DELUXE_RELEASE])
    [decision] = identify_albums(cluster_tracks(files), source)
    assert source.lookups == ["orig"]
    assert source.searches == []
    assert (decision.rule, decision.query, decision.status) == ("release_tag", "release:orig", ACCEPTED)
    assert decision.tag_conflicts == ()
    results = track_results(decision)
    assert [r.recording_mbid for r in results] == [f"orig-rec-{n}" for n in range(1, 11)]
    assert {(r.release_mbid, r.release_group_mbid) for r in results} == {("orig", "rg-okc")}


def test_recording_tags_that_disagree_with_the_release_are_reported():
    files = [local(n, name, seconds, release="orig") for n, (name, seconds) in enumerate(ORIGINAL, 1)]
    files[0] = replace(files[0], recording_mbid="orig-rec-1")  # agrees
    files[1] = replace(files[1], recording_mbid="elsewhere")  # names another recording
    source = CountingSource([], [ORIGINAL_RELEASE])
    [decision] = identify_albums(cluster_tracks(files), source)
    assert decision.tag_conflicts == (files[1].track_id,)
    assert "1 file(s) tagged with another recording" in decision.reason


def test_a_tagged_release_musicbrainz_no_longer_has_falls_back_to_search():
    files = [local(n, name, seconds, release="deleted") for n, (name, seconds) in enumerate(ORIGINAL, 1)]
    source = CountingSource([hit_of(ORIGINAL_RELEASE)], [ORIGINAL_RELEASE])
    [decision] = identify_albums(cluster_tracks(files), source)
    assert source.lookups == ["deleted", "orig"]
    assert len(source.searches) == 1
    assert decision.rule == "album_search" and decision.status == ACCEPTED


def test_album_search_looks_up_only_the_closest_hits_and_picks_the_edition_that_fits():
    other_artist = release("theirs", ORIGINAL, artists=(OTHER,))
    single = release("single", [ORIGINAL[5]], title="Karma Police")
    live = release("live", [(name, seconds + 40) for name, seconds in ORIGINAL], title="OK Computer Live")
    hits = [hit_of(r) for r in (other_artist, single, live, DELUXE_RELEASE, ORIGINAL_RELEASE)]
    source = CountingSource(hits, [other_artist, single, live, DELUXE_RELEASE, ORIGINAL_RELEASE])
    cluster = one_cluster(ORIGINAL, year=1997)

    decision = identify_album(cluster, source, lookups_per_cluster=3)

    assert decision is not None
    assert source.searches == [("OK Computer", "Radiohead", 10, 1997)]
    # The closest hit fits every file clearly: no other release is looked up.
    assert source.lookups == ["orig"]
    assert decision.rule == "album_search" and decision.query == 'release:"OK Computer" AND artist:"Radiohead"'
    assert decision.status == ACCEPTED
    assert decision.chosen is not None and decision.chosen.release.mbid == "orig"
    assert [m.release.mbid for m in decision.matches] == ["orig"]
    assert all(m.parts for m in decision.matches)


def test_when_the_closest_hit_does_not_fit_clearly_the_next_ones_are_looked_up():
    other_artist = release("theirs", ORIGINAL, artists=(OTHER,))
    single = release("single", [ORIGINAL[5]], title="Karma Police")
    live = release("live", [(name, seconds + 40) for name, seconds in ORIGINAL], title="OK Computer Live")
    hits = [hit_of(r) for r in (other_artist, single, live, DELUXE_RELEASE, ORIGINAL_RELEASE)]
    source = CountingSource(hits, [other_artist, single, live, DELUXE_RELEASE, ORIGINAL_RELEASE])
    cluster = one_cluster([(name, seconds + 40) for name, seconds in ORIGINAL], year=1997)

    decision = identify_album(cluster, source, lookups_per_cluster=3)

    assert decision is not None
    # The original, closest by title, is 40 s off on every track: the next hit is looked up, fits
    # clearly, and ends the lookups. Another artist's album and the single are never looked up.
    assert source.lookups == ["orig", "live"]
    assert [m.release.mbid for m in decision.matches] == ["live", "orig"]
    assert decision.chosen is not None and decision.chosen.release.mbid == "live"


def test_twelve_files_find_the_deluxe_through_search():
    source = CountingSource([hit_of(ORIGINAL_RELEASE), hit_of(DELUXE_RELEASE)], [ORIGINAL_RELEASE, DELUXE_RELEASE])
    decision = identify_album(one_cluster(ORIGINAL + BONUS), source)
    assert decision is not None and decision.chosen is not None
    assert decision.chosen.release.mbid == "deluxe"
    assert len(track_results(decision)) == 12


def test_a_lookup_without_artist_credits_keeps_the_search_hits_artist():
    bare = replace(ORIGINAL_RELEASE, artists=(), release_group_mbid=None)
    source = CountingSource([hit_of(ORIGINAL_RELEASE)], [bare])
    decision = identify_album(one_cluster(ORIGINAL), source)
    assert decision is not None and decision.chosen is not None
    assert decision.chosen.parts["artist"] == 0.0
    assert {r.release_group_mbid for r in track_results(decision)} == {"rg-okc"}


def test_partial_decision_gives_results_only_for_the_fitting_files():
    files = [*ORIGINAL[:8], ("Creep", 238), ("Fake Plastic Trees", 290)]
    source = CountingSource([hit_of(ORIGINAL_RELEASE)], [ORIGINAL_RELEASE])
    decision = identify_album(one_cluster(files), source)
    assert decision is not None and decision.status == PARTIAL
    results = track_results(decision)
    assert len(results) == 8
    assert all(isinstance(r, TrackResult) and r.distance <= 0.3 for r in results)


def test_singletons_are_left_to_track_search():
    loose = [local(1, "Loose", 200, album=None, track_id="x1")]
    source = CountingSource([hit_of(ORIGINAL_RELEASE)], [ORIGINAL_RELEASE])
    assert identify_albums(cluster_tracks(loose), source) == []
    assert (source.searches, source.lookups) == ([], [])


def test_nothing_found_or_only_other_artists():
    cluster = one_cluster(ORIGINAL)
    empty = CountingSource([], [])
    decision = identify_album(cluster, empty)
    assert decision is not None
    assert (decision.status, decision.chosen, empty.lookups) == (NONE, None, [])
    assert track_results(decision) == []

    theirs = release("theirs", ORIGINAL, artists=(ArtistCredit("a-9", "Somebody Else"),))
    others = CountingSource([hit_of(theirs)], [theirs])
    decision = identify_album(cluster, others)
    assert decision is not None and decision.status == NONE
    assert "another artist" in decision.reason
    assert others.lookups == []


def test_a_rejected_album_gives_no_track_results():
    wrong = release("wrong", [("Something", 100), ("Else", 500)], title="OK Computer", artists=(ARTIST,))
    source = CountingSource([hit_of(wrong)], [wrong])
    decision = identify_album(one_cluster(ORIGINAL), source)
    assert decision is not None and decision.status == REJECTED
    assert decision.chosen is None and len(decision.matches) == 1
    assert track_results(decision) == []


def test_a_release_tag_that_does_not_fit_is_rejected_without_a_search():
    wrong = release("wrong", [("Something", 100), ("Else", 500)])
    files = [local(n, name, seconds, release="wrong") for n, (name, seconds) in enumerate(ORIGINAL, 1)]
    source = CountingSource([hit_of(ORIGINAL_RELEASE)], [wrong, ORIGINAL_RELEASE])
    [decision] = identify_albums(cluster_tracks(files), source)
    assert (decision.rule, decision.status) == ("release_tag", REJECTED)
    assert (source.lookups, source.searches) == (["wrong"], [])


# -- files found by ISRC: which release of their recordings they are -------------------------------

REMASTER_RELEASE = release(
    "remaster", [(name, seconds + 4) for name, seconds in ORIGINAL], title="OK Computer (Remastered)", date="2009-03-24"
)


def ref(full: ReleaseCandidate) -> ReleaseRef:
    return ReleaseRef(full.mbid, full.title, full.release_group_mbid, full.release_group_type, full.date)


def test_the_lengths_tell_a_remaster_from_its_original_when_both_hold_the_recordings():
    source = CountingSource([], [ORIGINAL_RELEASE, REMASTER_RELEASE])
    remastered_files = one_cluster([(name, seconds + 4) for name, seconds in ORIGINAL])
    decision = choose_edition(remastered_files, [ref(ORIGINAL_RELEASE), ref(REMASTER_RELEASE)], source)
    assert decision is not None and decision.chosen is not None
    assert decision.chosen.release.mbid == "remaster" and decision.rule == "recording_releases"
    # The original, closest by title, is looked up first; 4 s off on every track, it is no clear fit.
    assert source.lookups == ["orig", "remaster"]


def test_files_of_the_original_cost_one_lookup_when_it_fits_clearly():
    source = CountingSource([], [ORIGINAL_RELEASE, REMASTER_RELEASE])
    decision = choose_edition(one_cluster(ORIGINAL), [ref(REMASTER_RELEASE), ref(ORIGINAL_RELEASE)], source)
    assert decision is not None and decision.chosen is not None and decision.chosen.release.mbid == "orig"
    assert source.lookups == ["orig"]


def test_there_is_no_choice_to_make_with_one_release_or_too_few_files():
    source = CountingSource([], [ORIGINAL_RELEASE, REMASTER_RELEASE])
    assert choose_edition(one_cluster(ORIGINAL), [ref(ORIGINAL_RELEASE)], source) is None
    two_files = one_cluster(ORIGINAL[:2])
    assert choose_edition(two_files, [ref(ORIGINAL_RELEASE), ref(REMASTER_RELEASE)], source) is None
    assert source.lookups == []


class IsrcLibrary(CountingSource):
    """MusicBrainz as identify_library sees it: ISRCs answered from recordings on two releases."""

    def __init__(self, recordings: dict[str, RecordingCandidate], releases: list[ReleaseCandidate]) -> None:
        super().__init__([], releases)
        self.recordings = recordings

    def recordings_by_isrc(self, isrcs: list[str]) -> dict[str, list[RecordingCandidate]]:
        return {isrc: [self.recordings[isrc]] for isrc in isrcs}

    def search_recordings(self, title, artist):
        raise AssertionError("no recording search expected: every track has its ISRC")

    def search_artists(self, name):
        return "", []

    def search_release_groups(self, title, artist):
        return "", []


def test_files_found_by_isrc_take_the_edition_their_lengths_fit():

    # The remaster holds the original's recordings (as on MusicBrainz): the ISRCs cannot tell them apart.
    remaster = replace(
        REMASTER_RELEASE,
        tracks=tuple(replace(t, recording_mbid=f"orig-rec-{t.position}") for t in REMASTER_RELEASE.tracks),
    )
    on_both = (ref(ORIGINAL_RELEASE), ref(remaster))
    recordings = {
        f"ISRC{n:02d}": RecordingCandidate(
            f"orig-rec-{n}", name, (ARTIST,), int(seconds * 1000), isrcs=(f"ISRC{n:02d}",), releases=on_both
        )
        for n, (name, seconds) in enumerate(ORIGINAL, 1)
    }
    files = [local(n, name, seconds + 4) for n, (name, seconds) in enumerate(ORIGINAL, 1)]
    todo = [
        TrackTodo(
            f.track_id, f.title, "artist-1", "Radiohead", "album-1", "OK Computer", f.duration_ms, f"ISRC{n:02d}", "h"
        )
        for n, f in enumerate(files, 1)
    ]
    source = IsrcLibrary(recordings, [ORIGINAL_RELEASE, remaster])
    run = identify_library(todo, [], [], source, local={f.track_id: f for f in files}, release_source=source)
    assert {o.rule for o in run.outcomes} == {"isrc"}
    [edition] = run.albums
    assert edition.rule == "recording_releases" and edition.chosen is not None
    assert edition.chosen.release.mbid == "remaster" and source.lookups == ["orig", "remaster"]
    assert edition.cluster_key in run.clusters
