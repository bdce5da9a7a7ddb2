"""The loopback feed servers of tests/intel/feedserver.py, as fixtures here."""

from .feedserver import feed_server, other_server

__all__ = ["feed_server", "other_server"]
