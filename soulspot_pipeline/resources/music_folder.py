"""The music folder on disk, as a Dagster resource."""

import os
from collections.abc import Callable

import dagster as dg
import duckdb
from pydantic import Field

from soulspot_pipeline.domain.naming import DEFAULT_TEMPLATE
from soulspot_pipeline.scan.scanner import ScanSummary, scan_music_folder
from soulspot_pipeline.scan.walk import FolderFingerprint, folder_fingerprint


class MusicFolder(dg.ConfigurableResource):
    """The folder of audio files the library is built from, and how files are named in it."""

    music_dir: str = Field(description="Absolute path of the music library folder.")
    scan_workers: int = Field(default=os.cpu_count() or 1, description="Processes that read files in parallel.")
    must_exist: bool = Field(
        default=False,
        description="The folder was named by the user: its absence is an unmounted drive, not an empty library.",
    )
    naming_template: str = Field(
        default=DEFAULT_TEMPLATE,
        description="Where imports and organize_library put files, relative to the folder (SOULSPOT_NAMING_TEMPLATE).",
    )

    def scan(
        self,
        conn: duckdb.DuckDBPyConnection,
        *,
        allow_empty: bool = False,
        progress: Callable[[str], None] | None = None,
    ) -> ScanSummary:
        return scan_music_folder(
            conn,
            self.music_dir,
            workers=self.scan_workers,
            allow_empty=allow_empty,
            must_exist=self.must_exist,
            progress=progress,
        )

    def exists(self) -> bool:
        return os.path.isdir(self.music_dir)

    def fingerprint(self) -> FolderFingerprint:
        return folder_fingerprint(self.music_dir)
