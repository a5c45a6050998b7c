from soulspot_pipeline.domain.download_query import SearchQuery, WantedTrack, search_queries, split_title


def queries(artist: str, title: str, album: str | None = None) -> list[tuple[str, str]]:
    return [(q.tier, q.text) for q in search_queries(WantedTrack("t1", artist, title, album))]


def test_three_tiers_from_most_to_least_specific():
    assert search_queries(WantedTrack("t1", "Daft Punk", "One More Time", "Discovery")) == [
        SearchQuery("artist_title", "daft punk one more time"),
        SearchQuery("title_album", "one more time discovery"),
        SearchQuery("title", "one more time"),
    ]


def test_a_tier_without_its_parts_is_left_out():
    assert queries("Daft Punk", "One More Time") == [
        ("artist_title", "daft punk one more time"),
        ("title", "one more time"),
    ]
    assert queries("", "One More Time", "Discovery") == [
        ("title_album", "one more time discovery"),
        ("title", "one more time"),
    ]


def test_featured_artists_are_dropped_from_titles_and_artists():
    expected = ("artist_title", "mark ronson uptown funk")
    credits = (
        "(feat. Bruno Mars)",
        "[ft. Bruno Mars]",
        "feat. Bruno Mars",
        "featuring Bruno Mars",
        "(with Bruno Mars)",
    )
    for title in (f"Uptown Funk {credit}" for credit in credits):
        assert queries("Mark Ronson", title)[0] == expected, title
    assert queries("Mark Ronson feat. Bruno Mars", "Uptown Funk")[0] == expected


def test_with_inside_a_title_is_part_of_the_title():
    assert queries("Sam Smith", "Stay With Me")[0] == ("artist_title", "sam smith stay with me")


def test_edition_notes_are_dropped():
    for title in ("Tank! (Remastered 2011)", "Tank! [Explicit]", "Tank! - 2011 Remaster", "Tank! - Remastered Version"):
        assert queries("Seatbelts", title)[0] == ("artist_title", "seatbelts tank"), title


def test_version_words_stay_because_they_name_another_recording():
    assert queries("Queen", "Bohemian Rhapsody (Live at Wembley '86)")[0] == (
        "artist_title",
        "queen bohemian rhapsody live",
    )
    assert queries("Radiohead", "Creep - Acoustic")[0] == ("artist_title", "radiohead creep acoustic")
    assert queries("Daft Punk", "One More Time (Romanthony Remix)")[0] == (
        "artist_title",
        "daft punk one more time remix",
    )
    assert queries("Oasis", "Live Forever")[0] == ("artist_title", "oasis live forever")


def test_punctuation_becomes_spaces_and_every_script_is_kept():
    assert queries("AC/DC", "Back In Black")[0] == ("artist_title", "ac dc back in black")
    assert queries("Guns N' Roses", "Sweet Child O' Mine")[0] == ("artist_title", "guns n roses sweet child o mine")
    assert queries("Björk", "Jóga")[0] == ("artist_title", "björk jóga")
    assert queries("宇多田ヒカル", "First Love")[0] == ("artist_title", "宇多田ヒカル first love")
    assert queries("Kishore Kumar", "मेरे सपनों की रानी")[-1] == ("title", "मेरे सपनों की रानी")
    assert queries("Simon & Garfunkel", "The Boxer")[0] == ("artist_title", "simon garfunkel the boxer")


def test_duplicates_are_dropped():
    # Album named after the song: "first love first love" adds nothing, and the title tier repeats it.
    assert queries("宇多田ヒカル", "First Love", "First Love") == [
        ("artist_title", "宇多田ヒカル first love"),
        ("title_album", "first love"),
    ]


def test_too_short_queries_are_dropped():
    assert queries("U2", "X") == [("artist_title", "u2 x")]
    assert queries("", "X", None) == []
    assert queries("", "!!", "") == []
    assert queries("Prince", "7")[-1] == ("artist_title", "prince 7")


def test_a_title_made_only_of_brackets_is_its_own_title():
    assert split_title("(Untitled)").core == "Untitled"
    assert queries("Sigur Rós", "(Untitled #1)")[-1] == ("title", "untitled 1")


def test_split_title_keeps_what_it_removed():
    parts = split_title("One More Time (feat. Romanthony) - Radio Edit")
    assert (parts.core, parts.notes, parts.featured) == ("One More Time", ("Radio Edit",), ("Romanthony",))
