"""Importing downloaded files into the music folder: verify, tag, stage, place."""
