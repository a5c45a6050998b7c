from soulspot_pipeline.domain.matching import TrackFacts, base_title, score_tracks, track_title_key


def test_edition_notes_are_not_part_of_an_album_title():
    assert base_title("Tank (Remastered)") == base_title("tank") == "tank"
    assert base_title("Discovery - 2021 Remaster") == "discovery"
    assert base_title("Abbey Road (Super Deluxe Edition)") == "abbey road"
    assert base_title("Alive (Live)") != base_title("Alive")


def test_featured_artists_do_not_change_a_track_title():
    assert track_title_key("Otra Vez (feat. J Balvin)") == track_title_key("Otra Vez")
    assert track_title_key("Otra Vez ft. J Balvin") == track_title_key("Otra Vez [with J Balvin]") == "otra vez"


def test_with_in_a_title_is_part_of_it():
    assert track_title_key("Stay With Me") == "stay with me" != track_title_key("Stay")
    assert track_title_key("Feat of Strength") == "feat of strength"


def test_the_same_recording_under_slightly_different_names_is_accepted():
    score = score_tracks(
        TrackFacts("Sexy Boy", "Moon Safari", 298_000),
        TrackFacts("Sexy Boy - 2018 Remaster", "Moon Safari (Remastered)", 299_500),
    )
    assert score.accepted and score.total >= 0.95


def test_a_live_take_of_the_same_title_on_another_album_is_refused():
    score = score_tracks(
        TrackFacts("Sexy Boy", "Moon Safari", 298_000), TrackFacts("Sexy Boy", "Live in Paris", 341_000)
    )
    assert not score.accepted and score.duration == 0.0


def test_a_different_song_is_refused_even_on_the_same_album():
    assert not score_tracks(
        TrackFacts("Kelly Watch the Stars", "Moon Safari", 225_000), TrackFacts("Sexy Boy", "Moon Safari", 225_000)
    ).accepted


def test_a_bare_title_with_nothing_else_known_is_not_enough():
    score = score_tracks(TrackFacts("Hello", None, None), TrackFacts("Hello", None, None))
    assert score.title == 1.0 and not score.accepted
