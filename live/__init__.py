"""述法评议 Live: a real-time server for live-streamed 述法评议 meetings."""

__version__ = "0.1.0"
