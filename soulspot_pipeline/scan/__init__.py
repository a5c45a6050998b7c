"""Reading the music folder: walking it, reading audio files, recording what was found."""
