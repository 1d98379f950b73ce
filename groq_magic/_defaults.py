"""The request defaults every layer shares (the official SDK's): standard library only.

The client uses them when none is given, and the extension's ``%config`` traits and a
session made without ``%load_ext`` start from them, so the three cannot drift apart.
"""

from __future__ import annotations

__all__ = ["DEFAULT_MAX_RETRIES", "DEFAULT_TIMEOUT"]

DEFAULT_TIMEOUT = 60.0
"""Seconds to wait for the server."""

DEFAULT_MAX_RETRIES = 2
"""Retries for rate limits and server errors."""
