"""The verdict on a decode, and which files need one: plain data in, plain data out."""

import pytest

from soulspot_pipeline.domain.audio_health import (
    BROKEN,
    OK,
    TRUNCATED,
    Decoded,
    FileToCheck,
    judge,
    plan_checks,
    stated_length,
    tolerance_s,
)

SONG = FileToCheck("/music/a.flac", size=30_000_000, mtime_ns=1, scanned_s=180.0)


def decoded(**facts) -> Decoded:
    return Decoded(**{"opened": True, "codec": "flac", "header_s": 180.0, "decoded_s": 180.0, **facts})


def test_a_whole_decode_is_ok():
    verdict = judge(SONG, decoded())
    assert (verdict.status, verdict.reason, verdict.error_at_s, verdict.header_s) == (OK, None, None, 180.0)


def test_a_file_that_cannot_be_opened_is_broken_at_the_start():
    verdict = judge(SONG, Decoded.unopened("cannot be opened: mov,mp4,m4a,3gp,3g2,mj2: moov atom not found"))
    assert verdict.status == BROKEN
    assert verdict.reason == "cannot be opened: mov,mp4,m4a,3gp,3g2,mj2: moov atom not found"
    assert verdict.error_at_s == 0.0


def test_a_decoder_error_in_the_middle_is_broken_with_where():
    verdict = judge(
        SONG,
        decoded(
            decoded_s=179.7,
            error="mp3float: Header missing",
            error_at_s=90.02,
            error_at_byte=1_440_518,
            after_error_s=89.7,
            problems=1,
        ),
    )
    assert verdict.status == BROKEN
    assert verdict.reason == "mp3float: Header missing at 90.0 s"
    assert verdict.error_at_s == 90.02


def test_audio_that_ends_early_without_an_error_is_truncated():
    verdict = judge(SONG, decoded(decoded_s=108.0))
    assert verdict.status == TRUNCATED
    assert verdict.reason == "the audio ends at 108.0 s of the 180.0 s its header states"
    assert verdict.error_at_s == 108.0


def test_a_cut_off_last_frame_makes_a_truncation_not_a_breakage():
    cut = decoded(
        decoded_s=35.94,
        error="flac: invalid residual",
        error_at_s=35.94,
        error_at_byte=SONG.size - 12_000,
        after_error_s=0.0,
        problems=1,
    )
    verdict = judge(SONG, cut)
    assert verdict.status == TRUNCATED
    assert verdict.reason == "the audio ends at 35.9 s of the 180.0 s its header states (flac: invalid residual)"


def test_an_error_where_everything_after_is_lost_but_the_file_goes_on_is_broken():
    # Nothing decodes after the error, but it lies in the middle of the file's bytes.
    verdict = judge(
        SONG,
        decoded(decoded_s=90.0, error="wavpack: Packed samples not found", error_at_s=90.0, error_at_byte=15_000_000),
    )
    assert (verdict.status, verdict.error_at_s) == (BROKEN, 90.0)


def test_junk_after_all_the_audio_is_ok_and_noted():
    junk = decoded(
        error="Invalid data found when processing input",
        error_at_s=180.04,
        error_at_byte=SONG.size - 1000,
        after_error_s=0.0,
    )
    verdict = judge(SONG, junk)
    assert verdict.status == OK
    assert verdict.reason == "data after the audio ignored: Invalid data found when processing input at 180.0 s"


def test_a_file_with_a_header_and_no_audio_is_broken_and_says_so():
    verdict = judge(SONG, decoded(decoded_s=0.0))
    assert verdict.status == BROKEN
    assert verdict.reason == "no audio: not one frame decodes; its header states 180.0 s"


def test_gaps_are_broken_at_where_the_audio_jumps():
    gap = decoded(
        decoded_s=151.4,
        error="corrupt data skipped: the audio jumps from 90.17 s to 118.80 s",
        error_at_s=90.17,
        error_at_byte=17_002,
        after_error_s=61.2,
    )
    verdict = judge(SONG, gap)
    assert verdict.status == BROKEN
    assert verdict.reason == "corrupt data skipped: the audio jumps from 90.17 s to 118.80 s at 90.2 s"


@pytest.mark.parametrize(
    ("header", "decoded_s", "status"),
    [
        (60.0, 58.1, OK),  # within 2 s
        (60.0, 57.9, TRUNCATED),
        (180.0, 176.5, OK),  # within 2 % (3.6 s)
        (180.0, 176.3, TRUNCATED),
        (3600.0, 3530.0, OK),  # an hour-long mix: 72 s
        (3600.0, 3520.0, TRUNCATED),
    ],
)
def test_the_tolerance_is_two_seconds_or_two_percent(header, decoded_s, status):
    file = FileToCheck("/music/mix.flac", size=1, mtime_ns=1)
    assert judge(file, decoded(header_s=header, decoded_s=decoded_s)).status == status
    assert tolerance_s(header) == max(2.0, header / 50)


def test_the_longer_stated_length_counts_and_none_when_the_container_states_none():
    # A WAV cut short: FFmpeg takes the length from the file's size, mutagen from the chunk's.
    wav = decoded(codec="pcm_s16le", header_s=108.0, decoded_s=108.0)
    assert stated_length(wav, 180.0) == 180.0
    assert judge(FileToCheck("/music/a.wav", 1, 1, scanned_s=180.0), wav).status == TRUNCATED
    # An MP3 without a Xing frame: both lengths are guesses from the bitrate.
    vbr = decoded(codec="mp3float", header_s=None, decoded_s=150.0)
    assert stated_length(vbr, 600.0) is None
    assert judge(FileToCheck("/music/a.mp3", 1, 1, scanned_s=600.0), vbr).status == OK


def test_the_plan_decodes_new_and_changed_files_only():
    present = [
        FileToCheck("/m/new.flac", 10, 1),
        FileToCheck("/m/same.flac", 10, 1),
        FileToCheck("/m/bigger.flac", 11, 1),
        FileToCheck("/m/touched.flac", 10, 2),
    ]
    checked = {"/m/same.flac": (10, 1), "/m/bigger.flac": (10, 1), "/m/touched.flac": (10, 1), "/m/gone.flac": (5, 5)}
    plan = plan_checks(present, checked)
    assert [f.path for f in plan.to_check] == ["/m/new.flac", "/m/bigger.flac", "/m/touched.flac"]
    assert (plan.new, plan.changed, plan.unchanged) == (1, 2, 1)


def test_a_second_plan_after_every_check_is_written_is_empty():
    present = [FileToCheck(f"/m/{n}.flac", n, n) for n in range(5)]
    first = plan_checks(present, {})
    done = {f.path: (f.size, f.mtime_ns) for f in first.to_check}
    assert plan_checks(present, done).to_check == []
