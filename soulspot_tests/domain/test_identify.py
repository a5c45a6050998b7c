from soulspot_pipeline.domain.identify import (
    ArtistCredit,
    NamedCandidate,
    RecordingCandidate,
    ReleaseRef,
    WantedTrack,
    identify_named,
    identify_track,
    score_recording,
    vote,
)

AIR = ArtistCredit("a-air", "Air")
MOON = ReleaseRef("r-moon", "Moon Safari", "rg-moon", "Album", "1998-01-16")
WANTED = WantedTrack("Sexy Boy", "Air", "Moon Safari", 298_000)


def recording(mbid, title="Sexy Boy", artist=AIR, length=298_500, score=100, isrcs=(), releases=(MOON,)):
    return RecordingCandidate(mbid, title, (artist,), length, score, tuple(isrcs), tuple(releases))


def test_the_right_recording_is_accepted_and_its_release_is_remembered():
    decision = identify_track(WANTED, [recording("rec-1")])
    assert (decision.status, decision.mbid) == ("accepted", "rec-1")
    assert decision.candidates[0].best_release == MOON and decision.candidates[0].total >= 0.95


def test_a_top_hit_with_the_right_title_but_another_artist_is_not_accepted():
    other = recording("rec-other", artist=ArtistCredit("a-x", "Sexy Boy Tribute Band"), score=100)
    decision = identify_track(WANTED, [other])
    assert decision.status == "none" and decision.mbid is None
    (scored,) = decision.candidates
    assert scored.decision == "rejected" and "another artist" in scored.reason and scored.title == 1.0


def test_the_top_hit_is_not_taken_blindly_when_a_lower_one_fits_better():
    cover = recording("rec-cover", artist=ArtistCredit("a-x", "Lounge Covers"), score=100)
    right = recording("rec-1", score=71)
    decision = identify_track(WANTED, [cover, right])
    assert decision.mbid == "rec-1" and [c.mbid for c in decision.candidates] == ["rec-1", "rec-cover"]


def test_a_length_far_from_the_files_vetoes_and_an_unsure_match_is_ambiguous_not_applied():
    assert identify_track(WANTED, [recording("rec-live", length=360_000)]).status == "none"
    unsure = identify_track(
        WantedTrack("Sexy Boy", "Air", "Premiers Symptômes", None), [recording("rec-1", title="Sexy Boys", releases=())]
    )
    assert unsure.status == "ambiguous" and unsure.mbid is None and "ambiguous" in unsure.reason


def test_an_isrc_is_strong_evidence_but_must_carry_a_plausible_song():
    wanted = WantedTrack("Sexy Boy", "Air", None, None, isrc="FRAB19800001")
    assert identify_track(wanted, [recording("rec-1", isrcs=["FRAB19800001"], releases=())]).status == "accepted"
    wrong = recording("rec-wrong", title="Completely Different", isrcs=["FRAB19800001"])
    scored = score_recording(wanted, wrong)
    assert scored.decision == "rejected" and scored.reason == "same ISRC but another song"


def test_artists_with_the_same_name_are_ambiguous_until_something_tells_them_apart():
    nirvanas = [
        NamedCandidate("n-us", "Nirvana", 100, "90s US grunge band"),
        NamedCandidate("n-uk", "Nirvana", 100, "60s band from the UK"),
    ]
    decision = identify_named("Nirvana", nirvanas)
    assert decision.status == "ambiguous" and "2 candidates share the name" in decision.reason
    assert (
        identify_named(
            "Air", [NamedCandidate("a-air", "Air", 100, "French duo"), NamedCandidate("a-x", "Airbag", 60)]
        ).mbid
        == "a-air"
    )


def test_release_groups_match_on_title_without_edition_notes_and_on_the_artist():
    groups = [
        NamedCandidate("rg-tank", "Tank", 100, artist="Asian Dub Foundation"),
        NamedCandidate("rg-other", "Tank", 100, artist="Tank Girl"),
    ]
    decision = identify_named("Tank (Remastered)", groups, wanted_artist="Asian Dub Foundation", edition_blind=True)
    assert (decision.status, decision.mbid) == ("accepted", "rg-tank")


def test_a_vote_names_the_majority():
    assert vote(["a", "b", "a", None]) == ("a", 2, 3)
    assert vote([]) == (None, 0, 0)
