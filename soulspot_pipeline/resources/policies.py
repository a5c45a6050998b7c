"""The user's choices about what the library does on its own, as Dagster resources."""

import dagster as dg
from pydantic import Field

from soulspot_pipeline.domain.discography import DEFAULT_EXCLUDED_SECONDARY, DEFAULT_PRIMARY_TYPES, TypePolicy
from soulspot_pipeline.domain.download_ranking import DEFAULT_FORMATS, RankingPolicy
from soulspot_pipeline.resources.clock import Clock


class LibraryPolicy(dg.ConfigurableResource):
    """What the merge does with owned tracks."""

    auto_queue_downloads: bool = Field(
        default=False,
        description="Owned tracks without a file become `pending` (queued for download) instead of `not_needed`.",
    )


class VerifyPolicy(dg.ConfigurableResource):
    """How long one run of the decode check may go on starting files; the next run goes on."""

    minutes: float = Field(
        default=20.0,
        description="No file is started after this many minutes (SOULSPOT_VERIFY_MINUTES); those started finish.",
    )
    # Dagster's types want a ResourceDependency for the default, but the field holds the Clock itself.
    clock: dg.ResourceDependency[Clock] = Field(default_factory=Clock, description="Time, for the budget.")  # type: ignore[arg-type]


class DiscographyPolicy(dg.ConfigurableResource):
    """Which releases count in a discography, how often it is looked at, what is requested."""

    primary_types: list[str] = Field(
        default=list(DEFAULT_PRIMARY_TYPES), description="Release types collected (SOULSPOT_GAP_TYPES)."
    )
    excluded_secondary_types: list[str] = Field(
        default=list(DEFAULT_EXCLUDED_SECONDARY),
        description="Secondary types left out (SOULSPOT_GAP_EXCLUDED_TYPES): compilations, live, remixes, ...",
    )
    ttl_hours: float = Field(default=24.0, description="How long a browsed discography is trusted before asking again.")
    request_gaps: bool = Field(default=False, description="Request the tracks of every missing album for download.")
    request_new_releases: bool = Field(default=False, description="Request the tracks of new releases for download.")

    def types(self) -> TypePolicy:
        return TypePolicy.of(self.primary_types, self.excluded_secondary_types)


class ImagePolicy(dg.ConfigurableResource):
    """Where images are stored and when a failed one is tried again."""

    images_dir: str = Field(description="Folder of the stored images ($SOULSPOT_DATA_DIR/images).")
    retry_hours: float = Field(default=24.0, description="Wait before trying a failed or missing image again.")
    write_cover_jpg: bool = Field(
        default=False, description="Also write cover.jpg into each album's folder (never over an existing one)."
    )


class DownloadPolicy(dg.ConfigurableResource):
    """What a downloaded file must be, whom to avoid, and how much one run takes on."""

    embed_lyrics: bool = Field(
        default=False,
        description="An imported file gets its track's lyrics in its tags when they are known (SOULSPOT_LYRICS_TAGS).",
    )
    allowed_formats: list[str] = Field(
        default=sorted(DEFAULT_FORMATS), description="File formats accepted (SOULSPOT_DOWNLOAD_FORMATS)."
    )
    min_lossy_bitrate: int = Field(
        default=192, description="Lowest bitrate (kbps) of a lossy file (SOULSPOT_DOWNLOAD_MIN_BITRATE)."
    )
    duration_tolerance_s: float = Field(
        default=5.0, description="Largest length difference accepted, when both are known."
    )
    blocked_users: list[str] = Field(default=[], description="Peers never downloaded from (SOULSPOT_BLOCKED_USERS).")
    blocked_words: list[str] = Field(
        default=[], description="Words a file's path must not hold (SOULSPOT_BLOCKED_WORDS)."
    )
    required_words: list[str] = Field(
        default=[], description="Words a file's path must hold (SOULSPOT_REQUIRED_WORDS)."
    )
    blocked_patterns: list[str] = Field(
        default=[], description="Regular expressions a path must not match (SOULSPOT_BLOCKED_PATTERNS)."
    )
    tracks_per_run: int = Field(
        default=25, description="Pending tracks one run searches for (SOULSPOT_DOWNLOADS_PER_RUN)."
    )
    search_again_hours: float = Field(
        default=24.0, description="Wait before searching again for a track nothing was found for."
    )
    upgrade_below_bitrate: int = Field(
        default=256,
        description="Owned lossy files below this bitrate (kbps) are upgrade candidates (SOULSPOT_UPGRADE_BELOW_BITRATE).",
    )
    request_upgrades: bool = Field(
        default=False, description="Search for better copies of them (SOULSPOT_REQUEST_UPGRADES)."
    )
    paused: bool = Field(
        default=False,
        description="No new search or enqueue; transfers in flight still finish (SOULSPOT_DOWNLOADS_PAUSED).",
    )
    stall_minutes: float = Field(
        default=15.0, description="A transfer that does not move for this long is cancelled and the next file tried."
    )
    queued_minutes: float = Field(
        default=120.0, description="A transfer queued at the peer this long is cancelled and the next file tried."
    )

    def ranking(self) -> RankingPolicy:
        return RankingPolicy(
            allowed_formats=frozenset(f.lower() for f in self.allowed_formats),
            min_lossy_bitrate=self.min_lossy_bitrate,
            duration_tolerance_s=self.duration_tolerance_s,
            blocked_users=frozenset(self.blocked_users),
            blocked_words=tuple(self.blocked_words),
            required_words=tuple(self.required_words),
            blocked_patterns=tuple(self.blocked_patterns),
        )
