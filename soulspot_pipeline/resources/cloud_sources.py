"""The registry of cloud providers: each one's name, asset and resource.

Adding a provider (Tidal, Apple Music) is a module in ``resources/`` implementing
``domain.cloud.CloudSource`` plus one ``CloudSourceSpec`` below. The asset factory
(``assets/cloud.py``), the source orders of the merge and the resources of the code
location all read this tuple, so none of them changes.
"""

from collections.abc import Callable
from dataclasses import dataclass

import dagster as dg

from soulspot_pipeline.resources.deezer import DeezerResource
from soulspot_pipeline.resources.spotify import SpotifyResource
from soulspot_pipeline.settings import Settings


@dataclass(frozen=True)
class CloudSourceSpec:
    name: str  # the source's name in every table (`source` columns, `{name}_id` columns)
    asset_name: str
    description: str
    build_resource: Callable[[Settings], dg.ConfigurableResource]

    @property
    def resource_key(self) -> str:
        return self.name

    @property
    def pool(self) -> str:
        return f"{self.name}_api"


CLOUD_SOURCES: tuple[CloudSourceSpec, ...] = (
    CloudSourceSpec(
        name="spotify",
        asset_name="spotify_likes",
        description="The user's Spotify library: saved tracks and albums, followed artists, playlists.",
        build_resource=lambda s: SpotifyResource(
            client_id=s.spotify_client_id,
            redirect_uri=s.spotify_redirect_uri,
            api_url=s.spotify_api_url,
            accounts_url=s.spotify_accounts_url,
            token_path=str(s.spotify_token_path),
        ),
    ),
    CloudSourceSpec(
        name="deezer",
        asset_name="deezer_favorites",
        description="The user's Deezer favorites: tracks, albums, artists and playlists.",
        build_resource=lambda s: DeezerResource(user_id=s.deezer_user_id, api_url=s.deezer_api_url),
    ),
)
