"""An asyncio event loop running forever in a daemon thread, for any layer that needs one.

Inside ipykernel the main thread's loop is already running, so ``asyncio.run``
fails there, and a long-lived async resource (an ``httpx.AsyncClient``, an MCP
server's session) must stay on the loop that first used it. A
:class:`BackgroundLoop` keeps one persistent loop in a daemon thread, started on
first use; the caller only submits coroutines and waits. ``groq_magic.background`` keeps
one for compares and sweeps (:func:`groq_magic.background.background_loop`),
``groq_magic.mcp`` another for its servers, so neither waits on the other.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import threading
import time
from collections.abc import Coroutine
from typing import Any, TypeVar

__all__ = ["BackgroundLoop"]

T = TypeVar("T")


class BackgroundLoop:
    """An asyncio event loop running forever in a daemon thread."""

    def __init__(self, name: str = "groq-magic-loop") -> None:
        self._name = name
        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop (started on first use)."""
        with self._lock:
            if self._loop is None or self._thread is None or not self._thread.is_alive():
                self._start()
            assert self._loop is not None
            return self._loop

    def _start(self) -> None:
        loop = asyncio.new_event_loop()
        ready = threading.Event()

        def run() -> None:
            asyncio.set_event_loop(loop)
            loop.call_soon(ready.set)
            loop.run_forever()

        thread = threading.Thread(target=run, name=self._name, daemon=True)
        thread.start()
        ready.wait()
        self._loop, self._thread = loop, thread

    def submit(self, coro: Coroutine[Any, Any, T]) -> concurrent.futures.Future[T]:
        """Schedule ``coro`` on the loop; the returned future is safe to wait on from any thread."""
        return asyncio.run_coroutine_threadsafe(coro, self.loop)

    def call_soon(self, callback: Any, *args: Any) -> None:
        """Run ``callback(*args)`` on the loop's thread (thread-safe)."""
        self.loop.call_soon_threadsafe(callback, *args)

    def stop(self) -> None:
        """Stop the loop and wait for its thread (a later use starts a new one)."""
        with self._lock:
            loop, thread = self._loop, self._thread
            self._loop = self._thread = None
        if loop is not None and thread is not None:
            loop.call_soon_threadsafe(loop.stop)
            thread.join(timeout=5)
            if not thread.is_alive():
                loop.close()

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = None) -> T:
        """Run ``coro`` on the loop and wait for its result in this thread.

        The wait is a short poll, so the kernel's interrupt (Ctrl-C, the stop button)
        is seen at once; an interrupt, or ``timeout`` seconds passing (``TimeoutError``),
        cancels the coroutine on the loop before the exception is raised here.
        """
        future = self.submit(coro)
        return wait_for_future(future, timeout)


POLL_SECONDS = 0.05
"""How often a thread waiting on the loop wakes up (so an interrupt is seen at once)."""


def wait_for_future(future: concurrent.futures.Future[T], timeout: float | None = None) -> T:
    """``future.result()``, polled; an interrupt or ``timeout`` cancels the future first."""
    deadline = None if timeout is None else time.monotonic() + timeout
    try:
        while True:
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError
            step = POLL_SECONDS if left is None else min(POLL_SECONDS, left)
            try:
                return future.result(timeout=step)
            except concurrent.futures.TimeoutError:
                continue
    except BaseException:
        # KeyboardInterrupt or the deadline: the work on the loop stops too.
        future.cancel()
        raise
