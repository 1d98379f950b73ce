"""One asyncio loop per kernel, in a background thread, for compares and sweeps.

Inside ipykernel the main thread's loop is already running, so ``asyncio.run``
fails there; and an ``httpx.AsyncClient`` must stay on the loop that first used
it. This module keeps one persistent loop (a :class:`~groq_magic._loop.BackgroundLoop`)
in a daemon thread, started on first use: the async client's connection pool then
lives as long as the kernel and is reused by every compare. The main thread only
submits coroutines and waits; all display work stays in the main thread (see
:mod:`groq_magic.ui.compare`).
"""

from __future__ import annotations

from groq_magic._loop import BackgroundLoop

__all__ = ["BackgroundLoop", "background_loop"]

_SHARED = BackgroundLoop()


def background_loop() -> BackgroundLoop:
    """The process's one background loop."""
    return _SHARED
