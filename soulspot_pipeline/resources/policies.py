"""The user's choices about what the library does on its own, as Dagster resources."""

import dagster as dg
from pydantic import Field

from soulspot_pipeline.domain.discography import DEFAULT_EXCLUDED_SECONDARY, DEFAULT_PRIMARY_TYPES, TypePolicy


class LibraryPolicy(dg.ConfigurableResource):
    """What the merge does with owned tracks."""

    auto_queue_downloads: bool = Field(
        default=False,
        description="Owned tracks without a file become `pending` (queued for download) instead of `not_needed`.",
    )


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
