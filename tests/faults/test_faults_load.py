"""Load, scaled down for the test command (``bench/load_memory.py`` has the full figures).

Many ``%%groq`` cells in a row go through one connection and keep memory flat (a loose
bound: memory is measured, not timed); two rounds of 50 concurrent compare runs
(``groq_magic.sweep``) reuse the first round's connections.
"""

from __future__ import annotations

import contextlib
import gc
import io
from typing import Any

import fault_server as faults
import psutil
from keys import FAKE_KEY
from scripted_server import ScriptedServer

import groq_magic
from groq_magic.background import background_loop
from groq_magic.client import AsyncGroq

CELLS = 100
CONCURRENT = 50
ROUNDS = 6
MAX_GROWTH_MB = 50


def _rss_mb() -> float:
    gc.collect()
    return float(psutil.Process().memory_info().rss) / 1e6


def test_sequential_cells_use_one_connection_and_flat_memory(
    shell: Any, server: ScriptedServer
) -> None:
    server.route("POST", "/v1/chat/completions", faults.answer(pieces=faults.PIECES * 20))
    sink = io.StringIO()

    def cells(count: int) -> None:
        for n in range(count):
            with contextlib.redirect_stdout(sink):
                result = shell.run_cell(f"%%groq\nQuestion {n}?")
            assert result.error_in_exec is None, sink.getvalue()[-500:]
            sink.seek(0)
            sink.truncate()

    cells(5)  # warm-up: imports and first-use caches
    before = _rss_mb()
    cells(CELLS)
    growth = _rss_mb() - before
    store = shell._groq_magics.session.store
    assert len(store.current) == CELLS + 5
    assert server.connections_opened == 1, "cells did not reuse the kernel's connection"
    assert len(server.requests) == CELLS + 5
    assert growth < MAX_GROWTH_MB, f"RSS grew {growth:.1f} MB over {CELLS} cells"


def test_concurrent_compare_runs_reuse_connections(server: ScriptedServer) -> None:
    server.route("POST", "/v1/chat/completions", faults.answer())
    client = AsyncGroq(api_key=FAKE_KEY, base_url=server.base_url)
    models = [f"model-{i}" for i in range(CONCURRENT)]
    try:
        first = groq_magic.sweep("Hi?", model=models, concurrency=CONCURRENT, client=client)
        opened = server.connections_opened
        before = _rss_mb()
        for _ in range(ROUNDS - 1):
            table = groq_magic.sweep("Hi?", model=models, concurrency=CONCURRENT, client=client)
            assert set(table["status"]) == {"complete"}
        growth = _rss_mb() - before
    finally:
        background_loop().submit(client.close()).result(timeout=10)
    assert set(first["status"]) == {"complete"}
    assert len(server.requests) == ROUNDS * CONCURRENT
    assert opened <= CONCURRENT
    # Idle connections are kept and reused, so all the rounds need about one connection per
    # run in flight (a few more if a slow round outlives httpx's 5 s keep-alive expiry).
    # With httpx's default of 20 idle connections every round reconnected the rest: 64 here.
    assert server.connections_opened <= CONCURRENT + 5, server.connections_opened
    assert growth < MAX_GROWTH_MB
