"""One module per phase of the work."""
