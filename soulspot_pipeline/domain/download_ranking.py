"""Which Soulseek search result to download, and why.

Every candidate is judged in a fixed order and keeps the rule that decided it:

1. user filters: blocked users, blocked words, required words, blocked path patterns;
2. required conditions: the peer is not being skipped, the file is not locked, its format is
   allowed, a lossy file reaches the minimum bitrate (estimated from size and length when the
   peer does not say), its length agrees with the wanted duration, its name holds every
   significant title word and is not mostly other words, and it is not a version (live, remix,
   ...) the wanted title does not ask for;
3. preferences, summed into a score whose named parts are kept in ``breakdown``.

Preference weights (points) are ordered so quality dominates availability and the path only
breaks ties:

- ``quality``: lossless 100; lossy 40 (128 kbps) to 80 (320 kbps), 45 when unknown. The gap
  between lossless and 320 kbps (20+) exceeds all availability points together (16).
- ``bit_depth``, ``sample_rate`` (lossless only): 4 each inside the quality profile, 2 when
  unknown or allowed but not preferred, -8 beyond its cap (24/96 by default).
- ``free_slot`` 8, ``queue`` 5 falling with the queue length, ``speed`` 0-3 (logarithmic).
- ``path_match``: 2 for the artist, 2 for the album in the path.
- ``peer_history``: +1 per past success (up to 3), -4 per failure in the current streak.
- ``title_fit``: up to -30 when the file name carries words the wanted track does not
  explain ("Hello Goodbye" for "Hello").

Ties are broken by username, then filename, so the same inputs always give the same order.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from types import MappingProxyType

from soulspot_pipeline.domain.download_query import VERSION_WORDS, WantedTrack, drop_featuring, split_title
from soulspot_pipeline.domain.quality import Quality, is_strictly_better
from soulspot_pipeline.domain.text import normalize_name

AUDIO_EXTENSIONS: Mapping[str, str] = MappingProxyType(
    {
        "mp3": "mp3",
        "flac": "flac",
        "m4a": "m4a",
        "aac": "aac",
        "ogg": "ogg",
        "oga": "ogg",
        "opus": "opus",
        "wav": "wav",
        "aif": "aiff",
        "aiff": "aiff",
        "aifc": "aiff",
        "wv": "wv",
        "ape": "ape",
        "alac": "alac",
        "wma": "wma",
        "mpc": "mpc",
        "dsf": "dsf",
        "dff": "dff",
    }
)
LOSSLESS_CODECS = frozenset({"flac", "alac", "wav", "aiff", "wv", "ape", "dsf", "dff"})
DEFAULT_FORMATS = frozenset({"flac", "mp3", "m4a", "aac", "ogg", "opus", "alac", "wav", "aiff", "wv", "ape"})

# An m4a holds AAC or ALAC; above this bitrate it can only be ALAC.
_ALAC_MIN_KBPS = 500
_SPLIT_PATH = re.compile(r"[\\/]+")
_APOSTROPHES = re.compile(r"['’`´]")
_BRACKETED = re.compile(r"[\(\[\{][^\)\]\}]*[\)\]\}]")
_MAIN_ARTIST = re.compile(r"\s*(?:,|&|;|/|\band\b|\bx\b|\bvs\.?)\s*", re.IGNORECASE)
_STOPWORDS = frozenset({"a", "an", "the", "and", "of", "to", "in", "on", "at", "by", "for", "or", "vs", "x"})
# Words rippers add to file names that say nothing about which recording it is.
_NOISE = frozenset(
    {
        "feat", "ft", "featuring", "remaster", "remastered", "version", "edition", "deluxe", "bonus",
        "track", "explicit", "clean", "mono", "stereo", "original", "album", "single", "lp", "ep",
        "cd", "disc", "disk", "side", "vinyl", "web", "flac", "mp3", "aac", "m4a", "ogg", "opus",
        "wav", "alac", "kbps", "hq", "hd", "official", "audio", "digital", "vbr", "cbr", "v0", "v2",
    }
)  # fmt: skip
_NOISE_TOKEN = re.compile(r"^(?:\d+|(?:cd|disc|disk|side|track)\d+|[a-d]\d{1,2}|\d+(?:bit|khz|kbps|k))$")
_DISC_FOLDER = re.compile(r"^(?:cd|disc|disk)\s*\d+$")
# Scene releases end their underscore names with the group's tag: "01-artist-title-oma".
_SCENE_TAG = re.compile(r"^(\S*_\S*)-[A-Za-z0-9]{2,8}$")
_SPEED_FULL = 5_000_000  # bytes/s that earn the full speed points


@dataclass(frozen=True, slots=True)
class Candidate:
    """One file of one search response, flattened."""

    username: str
    filename: str
    size: int
    extension: str
    bitrate: int | None
    bit_depth: int | None
    sample_rate: int | None
    length_s: int | None
    locked: bool
    has_free_slot: bool
    queue_length: int
    upload_speed: int
    folder: str
    variable_bitrate: bool = False


@dataclass(frozen=True, slots=True)
class QualityProfile:
    preferred_bit_depths: tuple[int, ...] = (16, 24)
    preferred_sample_rates: tuple[int, ...] = (44100, 48000)
    max_bit_depth: int = 24
    max_sample_rate: int = 96000


@dataclass(frozen=True, slots=True)
class RankingPolicy:
    allowed_formats: frozenset[str] = DEFAULT_FORMATS
    min_lossy_bitrate: int = 192
    duration_tolerance_s: float = 5.0
    quality_profile: QualityProfile = QualityProfile()
    version_words: tuple[str, ...] = VERSION_WORDS
    blocked_users: frozenset[str] = frozenset()
    blocked_words: tuple[str, ...] = ()
    required_words: tuple[str, ...] = ()
    blocked_patterns: tuple[str, ...] = ()  # regular expressions searched in the full remote path

    def __post_init__(self) -> None:
        for pattern in self.blocked_patterns:
            re.compile(pattern)  # a bad pattern fails when the policy is made, not mid-ranking


@dataclass(frozen=True, slots=True)
class PeerRecord:
    """A peer's download history: successes, the current failure streak, and a skip."""

    successes: int = 0
    failures: int = 0
    skipped_until: datetime | None = None


NO_PEERS: Mapping[str, PeerRecord] = MappingProxyType({})
FAILURES_BEFORE_SKIP = 3
SKIP_FOR = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class RankedCandidate:
    candidate: Candidate
    accepted: bool
    rank: int
    score: float
    breakdown: dict[str, float]
    decided_by: str
    reason: str


@dataclass(frozen=True, slots=True)
class RankedFolder:
    """One remote folder judged as the source of a whole album."""

    username: str
    folder: str
    accepted: bool
    rank: int
    score: float
    breakdown: dict[str, float]
    decided_by: str
    reason: str
    format: str
    audio_file_count: int
    chosen: Mapping[str, RankedCandidate] = field(default_factory=dict)  # track_id -> file
    missing: tuple[str, ...] = ()  # track_ids without a matching file


def after_failure(
    record: PeerRecord, now: datetime, *, max_failures: int = FAILURES_BEFORE_SKIP, skip_for: timedelta = SKIP_FOR
) -> PeerRecord:
    """One more failed download; the peer is skipped for a while once the streak is long enough."""
    failures = record.failures + 1
    skipped_until = now + skip_for if failures >= max_failures else record.skipped_until
    return replace(record, failures=failures, skipped_until=skipped_until)


def after_success(record: PeerRecord) -> PeerRecord:
    """A finished download: counts for the peer and ends its failure streak."""
    return replace(record, successes=record.successes + 1, failures=0, skipped_until=None)


def parse_candidates(responses: Iterable[Mapping[str, object]]) -> list[Candidate]:
    """Audio files of slskd search responses; locked files are kept, marked ``locked``."""
    candidates: list[Candidate] = []
    seen: set[tuple[str, str]] = set()
    for response in responses:
        username = str(response.get("username") or "")
        free = bool(response.get("hasFreeUploadSlot"))
        queue = _int(response.get("queueLength")) or 0
        speed = _int(response.get("uploadSpeed")) or 0
        listed = [(f, False) for f in _list(response.get("files"))]
        listed += [(f, True) for f in _list(response.get("lockedFiles"))]
        for file, in_locked_list in listed:
            filename = str(file.get("filename") or "")
            extension = _extension(filename)
            if not username or extension not in AUDIO_EXTENSIONS or (username, filename) in seen:
                continue
            seen.add((username, filename))
            folder = filename[: max(filename.rfind("\\"), filename.rfind("/"), 0)]
            candidates.append(
                Candidate(
                    username=username,
                    filename=filename,
                    size=_int(file.get("size")) or 0,
                    extension=extension,
                    bitrate=_int(file.get("bitRate")),
                    bit_depth=_int(file.get("bitDepth")),
                    sample_rate=_int(file.get("sampleRate")),
                    length_s=_int(file.get("length")),
                    locked=in_locked_list or bool(file.get("isLocked")),
                    has_free_slot=free,
                    queue_length=queue,
                    upload_speed=speed,
                    folder=folder,
                    variable_bitrate=bool(file.get("isVariableBitRate")),
                )
            )
    return candidates


def rank_candidates(
    wanted: WantedTrack,
    candidates: Sequence[Candidate],
    policy: RankingPolicy = RankingPolicy(),
    peers: Mapping[str, PeerRecord] = NO_PEERS,
    now: datetime | None = None,
) -> list[RankedCandidate]:
    """Every candidate judged for ``wanted``, best first; rank 1 is the one to download.

    Without ``now`` every recorded skip counts as still running.
    """
    target = _Target.of(wanted, policy)
    judged = [_judge(target, c, policy, peers, now) for c in candidates]
    judged.sort(key=lambda j: (not j.accepted, -j.score, j.candidate.username, j.candidate.filename))
    accepted = [j for j in judged if j.accepted]
    ranked: list[RankedCandidate] = []
    for rank, j in enumerate(judged, start=1):
        if j.accepted:
            following = accepted[rank] if rank < len(accepted) else None
            decided_by, reason = _explain_accepted(rank, j.score, j.breakdown, following, j.description)
        else:
            decided_by, reason = j.rule, f"rejected: {j.why}"
        ranked.append(RankedCandidate(j.candidate, j.accepted, rank, j.score, j.breakdown, decided_by, reason))
    return ranked


def album_mode_applies(pending_in_album: int, album_track_count: int | None) -> bool:
    """Most of an album is pending: search for whole folders instead of single tracks."""
    if not album_track_count or pending_in_album < 3:
        return False
    return pending_in_album / album_track_count > 0.5


def rank_album_folders(
    wanted_tracks: Sequence[WantedTrack],
    candidates: Sequence[Candidate],
    policy: RankingPolicy = RankingPolicy(),
    peers: Mapping[str, PeerRecord] = NO_PEERS,
    now: datetime | None = None,
) -> list[RankedFolder]:
    """Remote folders that can supply every wanted track of one album, best first.

    A folder qualifies when, in one format, it holds an accepted file for each wanted track and
    (when the album's track count is known) exactly that many audio files of that format.
    """
    if not wanted_tracks:
        return []
    expected_count = max((t.album_track_count or 0 for t in wanted_tracks), default=0) or None
    folders: dict[tuple[str, str], list[Candidate]] = {}
    for candidate in candidates:
        folders.setdefault((candidate.username, candidate.folder), []).append(candidate)
    judged = [
        _judge_folder(key, files, wanted_tracks, expected_count, policy, peers, now) for key, files in folders.items()
    ]
    judged.sort(key=lambda f: (not f.accepted, -f.score, -len(f.chosen), f.username, f.folder))
    accepted = [f for f in judged if f.accepted]
    result: list[RankedFolder] = []
    for rank, folder in enumerate(judged, start=1):
        if folder.accepted:
            following = accepted[rank] if rank < len(accepted) else None
            decided_by, reason = _explain_accepted(rank, folder.score, folder.breakdown, following, folder.reason)
            folder = replace(folder, decided_by=decided_by, reason=reason)
        result.append(replace(folder, rank=rank))
    return result


# --- judging one file ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Target:
    """What a file name must and may say for one wanted track, as normalized words."""

    core: tuple[str, ...]
    significant: frozenset[str]
    explained: frozenset[str]
    artist_phrases: tuple[tuple[str, ...], ...]
    album_phrases: tuple[tuple[str, ...], ...]
    artist_words: tuple[frozenset[str], ...]
    album_words: frozenset[str]
    allowed_versions: frozenset[str]
    wanted_versions: frozenset[str]
    duration_s: float | None
    track_numbers: frozenset[int]

    @classmethod
    def of(cls, wanted: WantedTrack, policy: RankingPolicy) -> _Target:
        title = split_title(wanted.title)
        artist = split_title(wanted.artist)
        album = split_title(wanted.album)
        core = tuple(_words(title.core))
        significant = frozenset(w for w in core if w not in _STOPWORDS) or frozenset(core)
        notes = {w for note in title.notes for w in _words(note)}
        album_all = _words(wanted.album)
        featured = [tuple(_words(name)) for name in (*title.featured, *artist.featured)]
        main_artist = _MAIN_ARTIST.split(artist.core)[0] if artist.core else ""
        credited = tuple(p for p in (tuple(_words(artist.core)), tuple(_words(main_artist))) if p)
        artist_phrases = credited + tuple(p for p in featured if p)
        album_phrases = tuple(p for p in (tuple(_words(album.core)), tuple(album_all)) if p)
        joined = {"".join(p) for p in (*artist_phrases, *album_phrases)}
        explained = frozenset(set(core) | notes | set(album_all) | {w for p in artist_phrases for w in p} | joined)
        wanted_versions = frozenset(w for w in policy.version_words if w in notes)
        allowed_versions = wanted_versions | {w for w in policy.version_words if w in album_all}
        return cls(
            core=core,
            significant=significant,
            explained=explained,
            artist_phrases=artist_phrases,
            album_phrases=album_phrases,
            artist_words=tuple(frozenset(p) for p in credited),
            album_words=frozenset(_words(album.core)),
            allowed_versions=allowed_versions,
            wanted_versions=wanted_versions,
            duration_s=wanted.duration_ms / 1000 if wanted.duration_ms else None,
            track_numbers=_track_numbers(wanted),
        )


@dataclass(frozen=True, slots=True)
class _Path:
    """A remote path read as words: its file name, its folder, and all of it."""

    stem: str
    folder_names: tuple[str, ...]
    words: frozenset[str]
    sequence: tuple[str, ...]

    @classmethod
    def of(cls, filename: str) -> _Path:
        parts = [p for p in _SPLIT_PATH.split(filename) if p]
        if parts and parts[0].startswith("@@"):
            parts = parts[1:]
        basename = parts[-1] if parts else ""
        stem = basename.rsplit(".", 1)[0] if "." in basename else basename
        sequence = tuple(w for p in [*parts[:-1], stem] for w in _words(p))
        folders = parts[-2:-1]
        # A disc folder ("CD1") says nothing: the album folder above it does.
        if folders and _DISC_FOLDER.match(" ".join(_words(folders[0]))):
            folders = parts[-3:-1]
        return cls(stem, tuple(folders), _word_set(" ".join([*parts[:-1], stem])), sequence)


@dataclass(frozen=True, slots=True)
class _Audio:
    """What a file's format says about its quality."""

    codec: str
    lossless: bool
    kbps: int | None
    estimated: bool  # kbps worked out from size and length

    @classmethod
    def of(cls, c: Candidate) -> _Audio:
        if c.bitrate:
            kbps, estimated = c.bitrate, False
        elif c.size and c.length_s:
            kbps, estimated = round(c.size * 8 / c.length_s / 1000), True
        else:
            kbps, estimated = None, False
        codec = AUDIO_EXTENSIONS.get(c.extension, c.extension)
        if codec == "m4a":
            codec = "alac" if c.bit_depth or (kbps or 0) >= _ALAC_MIN_KBPS else "aac"
        return cls(codec, codec in LOSSLESS_CODECS, kbps, estimated)


@dataclass(frozen=True, slots=True)
class _Judged:
    candidate: Candidate
    accepted: bool
    score: float
    breakdown: dict[str, float]
    rule: str
    why: str
    description: str


def _judge(
    target: _Target, c: Candidate, policy: RankingPolicy, peers: Mapping[str, PeerRecord], now: datetime | None
) -> _Judged:
    path = _Path.of(c.filename)
    audio = _Audio.of(c)
    peer = peers.get(c.username, PeerRecord())
    leftovers = _leftover_words(target, path)
    breakdown, notes = _preferences(target, c, path, audio, peer, leftovers, policy)
    rule, why = _first_failure(target, c, path, audio, policy, peer, now, leftovers)
    score = round(sum(breakdown.values()), 3)
    return _Judged(c, rule is None, score, breakdown, rule or "", why, ", ".join(notes))


def _first_failure(
    target: _Target,
    c: Candidate,
    path: _Path,
    audio: _Audio,
    policy: RankingPolicy,
    peer: PeerRecord,
    now: datetime | None,
    leftovers: list[str],
) -> tuple[str | None, str]:
    """The first required condition the file fails, as (rule, explanation), or (None, "")."""
    if c.username in policy.blocked_users:
        return "user_filter:blocked_user", f"user {c.username} is blocked"
    for word in policy.blocked_words:
        if _has_phrase(path.sequence, _words(word)):
            return "user_filter:blocked_word", f"path contains blocked word '{word}'"
    for word in policy.required_words:
        if not _has_phrase(path.sequence, _words(word)):
            return "user_filter:required_word", f"path lacks required word '{word}'"
    for pattern in policy.blocked_patterns:
        if re.search(pattern, c.filename):
            return "user_filter:blocked_pattern", f"path matches blocked pattern {pattern!r}"
    if peer.skipped_until is not None and (now is None or peer.skipped_until > now):
        return (
            "peer_skipped",
            f"peer {c.username} is skipped until {peer.skipped_until.isoformat()} after repeated failures",
        )
    if c.locked:
        return "locked", "the file is locked (the peer does not share it with us)"
    if audio.codec not in policy.allowed_formats and c.extension not in policy.allowed_formats:
        return "format", f"format {audio.codec.upper()} is not allowed"
    if not audio.lossless and audio.kbps is not None and audio.kbps < policy.min_lossy_bitrate:
        kind = "an estimated " if audio.estimated else ""
        return "min_bitrate", f"{kind}{audio.kbps} kbps is below the minimum {policy.min_lossy_bitrate} kbps"
    if target.duration_s is not None and c.length_s:
        delta = abs(c.length_s - target.duration_s)
        if delta > policy.duration_tolerance_s:
            return "duration", (
                f"length {_clock(c.length_s)} is {delta:.0f}s off the wanted {_clock(target.duration_s)}"
                f" (tolerance {policy.duration_tolerance_s:g}s)"
            )
    missing = _missing_title_words(target, path)
    if missing:
        return "title_words", "the file name lacks the title word(s) " + ", ".join(f"'{w}'" for w in missing)
    for word in sorted(target.wanted_versions):
        if not {word, word + "s", word + "es"} & path.words:
            return "title_words", f"the path lacks '{word}', which the wanted title asks for"
    for word in policy.version_words:
        if word not in target.allowed_versions and _names_version(target, path, word):
            return f"version_word:{word}", f"{word} version (wanted title has no '{word}')"
    if target.core and len(leftovers) >= len(target.core):
        return "title_extra_words", "the file name is mostly other words: " + ", ".join(f"'{w}'" for w in leftovers)
    return None, ""


def _preferences(
    target: _Target,
    c: Candidate,
    path: _Path,
    audio: _Audio,
    peer: PeerRecord,
    leftovers: list[str],
    policy: RankingPolicy,
) -> tuple[dict[str, float], list[str]]:
    """The score's named parts and the readable notes that go with them."""
    profile = policy.quality_profile
    notes: list[str] = []
    codec, kbps = audio.codec.upper(), audio.kbps
    if audio.lossless:
        quality = 100.0
        bit_depth = _profile_points(c.bit_depth, profile.preferred_bit_depths, profile.max_bit_depth)
        sample_rate = _profile_points(c.sample_rate, profile.preferred_sample_rates, profile.max_sample_rate)
        spec = (
            f" {c.bit_depth or '?'}/{c.sample_rate / 1000:g}"
            if c.sample_rate
            else (f" {c.bit_depth}-bit" if c.bit_depth else "")
        )
        notes.append(f"lossless {codec}{spec}")
    else:
        bit_depth = sample_rate = 0.0
        if kbps is None:
            quality = 45.0
            notes.append(f"{codec} of unknown bitrate")
        else:
            quality = 40 + 40 * (min(max(kbps, 128), 320) - 128) / 192
            vbr = " VBR" if c.variable_bitrate else ""
            notes.append(f"{codec} {'~' if audio.estimated else ''}{kbps} kbps{vbr}")
    notes.append("free slot" if c.has_free_slot else f"no free slot, queue {c.queue_length}")
    artist_in_path = any(words and words <= path.words for words in target.artist_words)
    album_in_path = bool(target.album_words) and target.album_words <= path.words
    placed = [name for name, hit in (("artist", artist_in_path), ("album", album_in_path)) if hit]
    if placed:
        notes.append(" and ".join(placed) + " in path")
    history = min(peer.successes, 3) - 4 * peer.failures
    if peer.failures:
        notes.append(f"peer failed {peer.failures} time(s) in a row")
    elif peer.successes:
        notes.append(f"peer delivered {peer.successes} time(s) before")
    if leftovers:
        notes.append("extra words in name: " + ", ".join(leftovers))
    breakdown = {
        "quality": quality,
        "bit_depth": bit_depth,
        "sample_rate": sample_rate,
        "free_slot": 8.0 if c.has_free_slot else 0.0,
        "queue": 5 / (1 + max(c.queue_length, 0) / 10),
        "speed": 3 * min(1.0, math.log10(1 + max(c.upload_speed, 0) / 10_000) / math.log10(1 + _SPEED_FULL / 10_000)),
        "path_match": 2.0 * artist_in_path + 2.0 * album_in_path,
        "peer_history": float(history),
        "title_fit": -30 * min(1.0, len(leftovers) / max(len(target.core), 1)),
    }
    return {k: round(v, 3) for k, v in breakdown.items()}, notes


def _profile_points(value: int | None, preferred: tuple[int, ...], cap: int) -> float:
    if value is None:
        return 2.0
    if value in preferred:
        return 4.0
    if value > cap or value < min(preferred, default=0):
        return -8.0
    return 2.0


def _missing_title_words(target: _Target, path: _Path) -> list[str]:
    """Significant title words absent from the file name.

    A bare name ("01.flac", "Track 04.flac") is read with its folders, and inside the wanted
    album's folder its number stands for the title when it is the wanted track's number.
    """
    stem_words = _word_set(path.stem)
    bare = all(w in _STOPWORDS or w in _NOISE or _NOISE_TOKEN.match(w) for w in stem_words)
    if not bare:
        return sorted(target.significant - stem_words)
    numbers = {int(w) for w in stem_words if w.isdecimal()}
    if target.album_words and target.album_words <= path.words and numbers & target.track_numbers:
        return []
    return sorted(target.significant - path.words)


def _names_version(target: _Target, path: _Path, word: str) -> bool:
    """Whether the file name or its folder calls the file a ``word`` version.

    The wanted title, artist and album are taken out first, so "Live Forever", an artist called
    Live or an album "Live at Knebworth" do not count; "Alive" never matches "live".
    """
    known = (target.core, *target.artist_phrases, *target.album_phrases)
    forms = {word, word + "s", word + "es"}
    for part in (path.stem, *path.folder_names):
        remaining = _drop_phrases(_words(part), known)
        if forms & set(remaining):
            return True
    return False


def _leftover_words(target: _Target, path: _Path) -> list[str]:
    """Words outside brackets in the file name that neither the track nor rippers' habits explain."""
    stem, _ = drop_featuring(path.stem)
    scene = _SCENE_TAG.match(stem)
    words = _words(_BRACKETED.sub(" ", scene.group(1) if scene else stem))
    return [
        w
        for w in dict.fromkeys(words)
        if w not in target.explained and w not in _STOPWORDS and w not in _NOISE and not _NOISE_TOKEN.match(w)
    ]


# --- judging one folder -------------------------------------------------------------------


def _judge_folder(
    key: tuple[str, str],
    files: list[Candidate],
    wanted_tracks: Sequence[WantedTrack],
    expected_count: int | None,
    policy: RankingPolicy,
    peers: Mapping[str, PeerRecord],
    now: datetime | None,
) -> RankedFolder:
    username, folder = key
    by_format: dict[str, list[Candidate]] = {}
    for c in files:
        by_format.setdefault(c.extension, []).append(c)
    options = [(ext, _assign(wanted_tracks, group, policy, peers, now)) for ext, group in by_format.items()]
    # The format that supplies the most tracks, then the best mean score, then a stable name.
    ext, chosen = max(options, key=lambda o: (len(o[1]), _mean([r.score for r in o[1].values()]), o[0]))
    count = len(by_format[ext])
    missing = tuple(t.track_id for t in wanted_tracks if t.track_id not in chosen)
    scores = [r.score for r in chosen.values()]
    breakdown = {
        part: round(_mean([r.breakdown[part] for r in chosen.values()]), 3)
        for part in (next(iter(chosen.values())).breakdown if chosen else {})
    }
    judged = RankedFolder(
        username=username,
        folder=folder,
        accepted=False,
        rank=0,
        score=round(_mean(scores), 3),
        breakdown=breakdown,
        decided_by="",
        reason="",
        format=ext,
        audio_file_count=count,
        chosen=chosen,
        missing=missing,
    )
    if missing:
        rule = _shared_blocking_rule(files, wanted_tracks[0], policy, peers, now) or "missing_tracks"
        titles = {t.track_id: t.title for t in wanted_tracks}
        shown = ", ".join(f"'{titles[m]}'" for m in missing[:3]) + (", ..." if len(missing) > 3 else "")
        why = f"folder lacks {len(missing)} of {len(wanted_tracks)} wanted tracks ({shown})"
        if rule != "missing_tracks":
            why += f"; every file is rejected by {rule}"
        return replace(judged, decided_by=rule, reason=f"rejected: {why}")
    if expected_count is not None and count != expected_count:
        why = f"folder has {count} {ext.upper()} files but the album has {expected_count} tracks"
        return replace(judged, decided_by="track_count", reason=f"rejected: {why}")
    first = files[0]
    availability = "free slot" if first.has_free_slot else f"no free slot, queue {first.queue_length}"
    why = f"all {len(wanted_tracks)} wanted tracks among {count} {ext.upper()} files, {availability}"
    return replace(judged, accepted=True, decided_by="best_score", reason=why)


def _assign(
    wanted_tracks: Sequence[WantedTrack],
    files: list[Candidate],
    policy: RankingPolicy,
    peers: Mapping[str, PeerRecord],
    now: datetime | None,
) -> dict[str, RankedCandidate]:
    """Each wanted track's best accepted file, no file used twice; surest matches choose first."""
    options = {
        t.track_id: [r for r in rank_candidates(t, files, policy, peers, now) if r.accepted] for t in wanted_tracks
    }
    order = sorted(options, key=lambda tid: (-(options[tid][0].score if options[tid] else -math.inf), tid))
    taken: set[str] = set()
    chosen: dict[str, RankedCandidate] = {}
    for track_id in order:
        for ranked in options[track_id]:
            if ranked.candidate.filename not in taken:
                taken.add(ranked.candidate.filename)
                chosen[track_id] = ranked
                break
    return {t.track_id: chosen[t.track_id] for t in wanted_tracks if t.track_id in chosen}


def _shared_blocking_rule(
    files: list[Candidate],
    wanted: WantedTrack,
    policy: RankingPolicy,
    peers: Mapping[str, PeerRecord],
    now: datetime | None,
) -> str | None:
    """A user filter or peer skip that rejects every file of a folder, named as its reason."""
    rules = {r.decided_by for r in rank_candidates(wanted, files, policy, peers, now)}
    if len(rules) == 1:
        rule = rules.pop()
        if rule.startswith("user_filter:") or rule in ("peer_skipped", "locked", "format"):
            return rule
    return None


# --- shared helpers -----------------------------------------------------------------------


def _explain_accepted(
    rank: int, score: float, breakdown: Mapping[str, float], following: _Judged | RankedFolder | None, description: str
) -> tuple[str, str]:
    """(decided_by, reason) of an accepted result: the preference that puts it ahead of the next."""
    prefix = "chosen" if rank == 1 else f"accepted as #{rank}"
    if following is None:
        return "best_score", f"{prefix}: {description}"
    if score == following.score:
        decided_by = "tie_break"
    else:
        gains = {part: value - following.breakdown.get(part, 0.0) for part, value in breakdown.items()}
        part = max(sorted(gains), key=lambda p: gains[p])
        decided_by = part if gains[part] > 0 else "best_score"
    return decided_by, f"{prefix}: {description}; ahead of #{rank + 1} on {decided_by.replace('_', ' ')}"


def _words(text: str | None) -> list[str]:
    """Normalized words with apostrophes dropped ("Don't" -> "dont") and underscores as spaces."""
    return normalize_name(_APOSTROPHES.sub("", (text or "").replace("_", " "))).split()


def _word_set(text: str) -> frozenset[str]:
    """Words of a path under both readings of an apostrophe ("dont" and "don", "t")."""
    spaced = normalize_name(_APOSTROPHES.sub(" ", text.replace("_", " "))).split()
    return frozenset(_words(text)) | frozenset(spaced)


def _has_phrase(words: Sequence[str], phrase: Sequence[str]) -> bool:
    n = len(phrase)
    return n > 0 and any(tuple(words[i : i + n]) == tuple(phrase) for i in range(len(words) - n + 1))


def _drop_phrases(words: list[str], phrases: Iterable[Sequence[str]]) -> list[str]:
    """``words`` without any occurrence of the given phrases, longest phrases first."""
    for phrase in sorted((tuple(p) for p in phrases if p), key=len, reverse=True):
        n, i, kept = len(phrase), 0, []
        while i < len(words):
            if tuple(words[i : i + n]) == phrase:
                i += n
            else:
                kept.append(words[i])
                i += 1
        words = kept
    return words


def _track_numbers(wanted: WantedTrack) -> frozenset[int]:
    """How a bare file name may number the wanted track: 4, or 104 / 1004 on disc 1."""
    if not wanted.track_number:
        return frozenset()
    disc = wanted.disc_number or 1
    return frozenset({wanted.track_number, disc * 100 + wanted.track_number, disc * 1000 + wanted.track_number})


def _extension(filename: str) -> str:
    basename = _SPLIT_PATH.split(filename)[-1]
    return basename.rsplit(".", 1)[1].lower() if "." in basename else ""


def _int(value: object) -> int | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
        return None
    return int(value)


def _list(value: object) -> list[Mapping[str, object]]:
    return [v for v in value if isinstance(v, Mapping)] if isinstance(value, list) else []


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _clock(seconds: float) -> str:
    s = round(seconds)
    return f"{s // 60}:{s % 60:02d}"


# Remote extensions as the scanner names formats (quality is compared in its terms).
_SCANNER_FORMATS = {"ogg": "vorbis", "oga": "vorbis", "wv": "wavpack", "m4a": "aac", "aif": "aiff"}


def candidate_quality(candidate: Candidate) -> Quality:
    """What a candidate would be on disk, as far as the search response tells."""
    fmt = _SCANNER_FORMATS.get(candidate.extension, candidate.extension)
    if candidate.extension == "m4a" and candidate.bit_depth:
        fmt = "alac"  # lossless m4a files report a bit depth; AAC ones do not
    return Quality(fmt, candidate.bitrate, candidate.bit_depth, candidate.sample_rate)


def only_upgrades(ranked: Sequence[RankedCandidate], existing: Quality) -> list[RankedCandidate]:
    """For a file the library already has: accepted candidates not strictly better than it are
    rejected (``not_an_upgrade``), so an upgrade can never be a sidegrade, nor loop."""
    kept, refused = [], []
    for r in ranked:
        if r.accepted and not is_strictly_better(candidate_quality(r.candidate), existing):
            have = f"{existing.format} {existing.bitrate} kbps" if existing.bitrate else existing.format
            r = replace(
                r,
                accepted=False,
                decided_by="not_an_upgrade",
                reason=f"rejected: not better than the file you have ({have})",
            )
            refused.append(r)
        else:
            kept.append(r)
    accepted = [r for r in kept if r.accepted]
    rest = refused + [r for r in kept if not r.accepted]
    return [replace(r, rank=n) for n, r in enumerate(accepted + rest, start=1)]
