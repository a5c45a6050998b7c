"""Made-up damage to real audio bytes, as disks and bad copies do it."""


def flac_audio_start(data: bytes) -> int:
    """Where a FLAC file's first frame begins: after "fLaC" and its metadata blocks."""
    assert data[:4] == b"fLaC"
    position = 4
    while True:
        last, length = data[position] & 0x80, int.from_bytes(data[position + 1 : position + 4], "big")
        position += 4 + length
        if last:
            return position


def zeroed(data: bytes, at: int) -> bytes:
    """``data`` with 4 KiB of zeros written over it from ``at``."""
    return data[:at] + bytes(4096) + data[at + 4096 :]
