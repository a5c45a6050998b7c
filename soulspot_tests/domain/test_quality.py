import itertools

import pytest

from soulspot_pipeline.domain.quality import Quality, is_strictly_better, upgrade_candidate

FLAC_16 = Quality("flac", 900, 16, 44100)
FLAC_24 = Quality("flac", 2100, 24, 44100)
FLAC_24_96 = Quality("flac", 4000, 24, 96000)


@pytest.mark.parametrize(
    ("new", "old", "better"),
    [
        (FLAC_16, Quality("mp3", 320), True),
        (Quality("alac", None, 16, 44100), Quality("aac", 256), True),
        (Quality("wav"), Quality("opus", 160), True),  # lossless of unknown depth still beats lossy
        (Quality("mp3", 320), FLAC_16, False),
        (Quality("mp3", 160), Quality("mp3", 128), True),
        (Quality("mp3", 320), Quality("mp3", 256), True),
        (Quality("mp3", 320), Quality("vorbis", 192), True),
        (Quality("mp3", 256), Quality("mp3", 245), False),  # V0 against CBR 256: VBR jitter
        (Quality("mp3", 245), Quality("mp3", 256), False),
        (Quality("mp3", 150), Quality("mp3", 128), False),  # less than 32 kbps more
        (Quality("opus", 560), Quality("opus", 512), False),  # over 32 kbps more, but under 10%
        (Quality("mp3", 320), Quality("mp3", 320), False),
        (Quality("mp3", None), Quality("mp3", 128), False),
        (Quality("mp3", 320), Quality("mp3", None), False),
        (FLAC_24, FLAC_16, True),
        (FLAC_16, FLAC_24, False),
        (FLAC_24_96, FLAC_24, True),
        (FLAC_24, FLAC_24_96, False),
        (Quality("flac", None, 24, 44100), Quality("flac", None, 16, 96000), True),  # depth first
        (Quality("flac", None, 24, None), FLAC_16, True),
        (Quality("flac", None, 24, None), FLAC_24, False),
        (Quality("flac", None, None, 96000), FLAC_16, False),
        (Quality("wav", 1411, 16, 44100), FLAC_16, False),  # another lossless container is no upgrade
        (FLAC_16, FLAC_16, False),
        (Quality("m4a", 256), Quality("mp3", 128), False),  # MP4 of unknown codec: unknown quality
        (FLAC_16, Quality("m4a", 128), False),
        (Quality("FLAC", None, 16, 44100), Quality("MP3", 128), True),
    ],
)
def test_is_strictly_better(new, old, better):
    assert is_strictly_better(new, old) is better


GRID = [
    Quality(fmt, bitrate, depth, rate)
    for fmt in ("flac", "alac", "wav", "mp3", "aac", "opus", "m4a", "midi")
    for bitrate in (None, 96, 128, 160, 192, 245, 256, 320, 1000)
    for depth in (None, 16, 24)
    for rate in (None, 44100, 48000, 96000)
]


def test_is_strictly_better_is_a_strict_partial_order_so_upgrades_never_loop():
    better = {q: {other for other in GRID if is_strictly_better(q, other)} for q in GRID}
    assert sum(map(len, better.values())) > len(GRID)  # the grid does exercise the relation
    for q, worse in better.items():
        assert q not in worse  # irreflexive
        for other in worse:
            assert q not in better[other]  # asymmetric: no two are each better than the other
            assert better[other] <= worse  # transitive


def test_no_chain_of_upgrades_returns_to_where_it_started():
    better = {q: [other for other in GRID if is_strictly_better(other, q)] for q in GRID}
    for start in itertools.islice(GRID, 0, None, 7):
        seen, frontier = set(), [start]
        while frontier:
            q = frontier.pop()
            for nxt in better[q]:
                assert nxt != start
                if nxt not in seen:
                    seen.add(nxt)
                    frontier.append(nxt)


@pytest.mark.parametrize(
    ("quality", "candidate"),
    [
        (Quality("mp3", 128), True),
        (Quality("aac", 191), True),
        (Quality("mp3", 192), False),
        (Quality("opus", 320), False),
        (Quality("mp3", None), False),  # unknown bitrate: not known to be below
        (FLAC_16, False),
        (Quality("flac", 300, 16, 44100), False),  # lossless is never a candidate, whatever its bitrate
        (Quality("m4a", 96), False),
    ],
)
def test_upgrade_candidate(quality, candidate):
    assert upgrade_candidate(quality, min_lossy_bitrate=192) is candidate
