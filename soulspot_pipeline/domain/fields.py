"""The tag fields a local file contributes, as named in ``library.local_files``."""

TAG_FIELDS: tuple[str, ...] = (
    "artist",
    "albumartist",
    "album",
    "title",
    "track_number",
    "track_total",
    "disc_number",
    "disc_total",
    "date",
    "genre",
    "isrc",
    "recording_mbid",
    "release_mbid",
    "release_group_mbid",
    "artist_mbid",
    "albumartist_mbid",
)
