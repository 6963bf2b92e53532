"""Developer tools run as ``python -m live.tools.<name>``."""
