"""Upgrades: only a strictly better copy may replace a file the library has."""

from soulspot_pipeline.domain.download_query import WantedTrack
from soulspot_pipeline.domain.download_ranking import Candidate, candidate_quality, only_upgrades, rank_candidates
from soulspot_pipeline.domain.quality import Quality


def candidate(name, ext, bitrate=None, bit_depth=None, user="p"):
    return Candidate(
        user,
        f"@@s\\Air\\Moon Safari\\{name}.{ext}",
        1000,
        ext,
        bitrate,
        bit_depth,
        None,
        298,
        False,
        True,
        0,
        1_000_000,
        "@@s\\Air\\Moon Safari",
    )


def test_candidate_formats_read_as_the_scanner_names_them():
    assert candidate_quality(candidate("a", "ogg", 320)).format == "vorbis"
    assert candidate_quality(candidate("a", "m4a", 256)).format == "aac"
    assert candidate_quality(candidate("a", "m4a", None, 16)).format == "alac"
    assert candidate_quality(candidate("a", "flac")).lossless


def test_only_strictly_better_copies_stay_accepted_and_the_rest_say_why():
    wanted = WantedTrack("t", "Air", "Sexy Boy", "Moon Safari", 298_000)
    ranked = rank_candidates(
        wanted,
        [
            candidate("Sexy Boy", "mp3", 192, user="same"),
            candidate("Sexy Boy", "mp3", 320, user="better"),
            candidate("Sexy Boy", "flac", user="lossless"),
        ],
    )
    upgraded = only_upgrades(ranked, Quality("mp3", 192))
    assert [(r.candidate.username, r.accepted, r.rank) for r in upgraded] == [
        ("lossless", True, 1),
        ("better", True, 2),
        ("same", False, 3),
    ]
    assert upgraded[2].decided_by == "not_an_upgrade" and "mp3 192 kbps" in upgraded[2].reason
    # Nothing beats a lossless file of the same depth: no upgrade, so it can never loop.
    assert not any(r.accepted for r in only_upgrades(ranked, Quality("flac", None, 16, 44100)))
