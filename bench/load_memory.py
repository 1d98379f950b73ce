"""Load: many cells and many concurrent compare runs keep memory flat and reuse connections.

    .venv/bin/python bench/load_memory.py [--cells 200] [--concurrent 50] [--rounds 10]

What it does, in one process with a real ``InteractiveShell`` and ``%load_ext groq_magic``,
against a loopback server running in a *separate* process (so the server's own memory and
its record of requests do not count):

1. ``--cells`` ``%%groq`` cells in a row (streamed answers of about 1 kB, plain-text sink),
   after a short warm-up; RSS is measured before and after (after ``gc.collect()``), and the
   history's own size (its JSON) is reported, since history is the one thing meant to grow.
2. ``--rounds`` rounds of ``groq_magic.sweep`` with ``--concurrent`` runs at once
   (``concurrency`` equal to the number of runs: 50 requests in flight together), RSS after
   the first round and after the last.
3. TCP connections the server accepted during each phase: one for all the cells (the
   kernel's one pool), and about ``--concurrent`` for all the rounds of sweeps together (a
   few more when a slow round outlives httpx's 5 s keep-alive expiry).

RSS is the allocator's high-water mark, so it also rises with the largest request body
(each request carries the whole history); ``tracemalloc`` reports what Python objects the
cells actually retained: in all, then without IPython 9's own record of every cell's
printed output (``history_manager.outputs``), then also without IPython's ``Out`` cache,
which holds every cell's ChatResult, each with its request (the whole message window, so
that part grows with the square of the number of cells). What is left is the history.

Prints a small table and exits non-zero if a connection was not reused or RSS grew by more
than ``--max-growth-mb`` beyond the history's size. Memory is measured, not timed.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import subprocess
import sys
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

FAKE_KEY = "gsk_bench_" + "0" * 46
PIECES = [f"token{i} " for i in range(120)]  # about 1 kB of answer per cell


def serve() -> None:
    """Child mode: a loopback server answering every chat request with the same stream.

    Reads commands on stdin: ``stats`` prints ``{"connections": n, "requests": m}`` and
    forgets the recorded requests (so the server's memory stays flat too); EOF stops it.
    """
    from scripted_server import ScriptedServer, chunk_events, sse_reply

    server = ScriptedServer().start()
    server.route("POST", "/v1/chat/completions", sse_reply(chunk_events(PIECES)))
    print(server.base_url, flush=True)
    for line in sys.stdin:
        if line.strip() == "stats":
            with server._lock:
                count = len(server.requests)
                server.requests.clear()
            print(
                json.dumps({"connections": server.connections_opened, "requests": count}),
                flush=True,
            )
    server.stop()


class RemoteServer:
    """The child process running :func:`serve`."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, __file__, "--serve"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        assert self.process.stdout is not None
        self.base_url = self.process.stdout.readline().strip()

    def stats(self) -> dict[str, int]:
        """Connections accepted so far and requests since the last call."""
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        self.process.stdin.write("stats\n")
        self.process.stdin.flush()
        stats: dict[str, int] = json.loads(self.process.stdout.readline())
        return stats

    def close(self) -> None:
        """Stop the child."""
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=10)


def rss_mb() -> float:
    """This process's resident set size in MB, after a full collection."""
    import psutil

    gc.collect()
    return psutil.Process().memory_info().rss / 1e6


def run_cells(shell: Any, count: int) -> None:
    """Run ``count`` ``%%groq`` cells with their output swallowed."""
    sink = io.StringIO()
    for n in range(count):
        with contextlib.redirect_stdout(sink):
            result = shell.run_cell(f"%%groq\nQuestion number {n}?", store_history=True)
        if result.error_in_exec is not None:
            raise SystemExit(f"cell {n} failed: {result.error_in_exec}")
        sink.seek(0)
        sink.truncate()


def ipython_output_history_mb(shell: Any) -> float:
    """What IPython itself keeps of every cell's output (``history_manager.outputs``:
    IPython 9 records each cell's printed text and result reprs, for ``%history -y``)."""
    outputs = getattr(shell.history_manager, "outputs", {})
    total = 0
    for entries in outputs.values():
        for entry in entries:
            for value in entry.bundle.values():
                total += sum(len(v) for v in value) if isinstance(value, list) else len(value)
    return total / 1e6


def run_sweeps(concurrent: int, rounds: int) -> list[float]:
    """``rounds`` sweeps of ``concurrent`` runs at once; RSS after each round."""
    import groq_magic

    models = [f"model-{i}" for i in range(concurrent)]
    after: list[float] = []
    for _ in range(rounds):
        table = groq_magic.sweep("Say something.", model=models, concurrency=concurrent)
        statuses = (
            set(table["status"]) if hasattr(table, "columns") else {r["status"] for r in table}
        )
        if statuses != {"complete"}:
            raise SystemExit(f"a sweep run failed: {statuses}")
        del table
        after.append(rss_mb())
    return after


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cells", type=int, default=200)
    parser.add_argument("--concurrent", type=int, default=50)
    parser.add_argument("--rounds", type=int, default=10)
    parser.add_argument("--max-growth-mb", type=float, default=50.0)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0

    remote = RemoteServer()
    os.environ["GROQ_BASE_URL"] = remote.base_url
    os.environ["GROQ_API_KEY"] = FAKE_KEY
    from IPython.core.interactiveshell import InteractiveShell

    shell: Any = InteractiveShell.instance()
    shell.run_line_magic("load_ext", "groq_magic")
    session = shell._groq_magics.session
    failures: list[str] = []
    try:
        run_cells(shell, 5)  # warm-up: imports, the pool, first-use caches
        remote.stats()
        history_before = len(session.store.current.to_json())
        before = rss_mb()
        tracemalloc.start()
        traced_before = tracemalloc.get_traced_memory()[0]
        run_cells(shell, args.cells)
        gc.collect()
        traced_after, traced_peak = tracemalloc.get_traced_memory()
        after = rss_mb()
        ipython_mb = ipython_output_history_mb(shell)
        # Without IPython's own record of every printed write...
        shell.history_manager.outputs.clear()
        gc.collect()
        traced_ours = tracemalloc.get_traced_memory()[0]
        # ...and without its Out cache, which holds every cell's ChatResult (each with its
        # request: the whole message window, so this part grows with the square of the
        # number of cells), what is left is the conversation history.
        shell.user_ns["Out"].clear()
        shell.displayhook.flush()
        gc.collect()
        traced_history = tracemalloc.get_traced_memory()[0]
        tracemalloc.stop()
        cells_stats = remote.stats()
        history_mb = (len(session.store.current.to_json()) - history_before) / 1e6
        turns = len(session.store.current)

        before_sweeps = remote.stats()
        run_sweeps(args.concurrent, 1)  # warm-up: the background loop and async pool
        sweep_start = remote.stats()
        rounds = run_sweeps(args.concurrent, args.rounds)
        sweep_stats = remote.stats()
    finally:
        shell.run_line_magic("unload_ext", "groq_magic")
        remote.close()

    # Everything so far (warm-up and the measured cells) went through one pool.
    cell_conns = cells_stats["connections"]
    sweep_conns = sweep_stats["connections"] - sweep_start["connections"]
    # All the sweep rounds together: at most one connection per run in flight at once.
    sweep_total = sweep_stats["connections"] - before_sweeps["connections"]
    retained = (traced_after - traced_before) / 1e6
    retained_ours = (traced_ours - traced_before) / 1e6
    retained_history = (traced_history - traced_before) / 1e6
    growth = after - before
    print(f"{'phase':<34}{'value':>14}")
    print(f"{'cells run':<34}{args.cells:>14}")
    print(f"{'RSS before cells (MB)':<34}{before:>14.1f}")
    print(f"{'RSS after cells (MB)':<34}{after:>14.1f}")
    print(f"{'RSS growth (MB)':<34}{growth:>14.1f}")
    print(f"{'Python objects retained (MB)':<34}{retained:>14.2f}")
    print(f"{'  without IPython outputs (MB)':<34}{retained_ours:>14.2f}")
    print(f"{'  without outputs and Out (MB)':<34}{retained_history:>14.2f}")
    print(f"{'Python allocation peak (MB)':<34}{traced_peak / 1e6:>14.2f}")
    print(f"{'history growth, JSON (MB)':<34}{history_mb:>14.2f}")
    print(f"{'IPython output history, text (MB)':<34}{ipython_mb:>14.2f}")
    print(f"{'turns in history':<34}{turns:>14}")
    print(f"{'requests served for cells':<34}{cells_stats['requests']:>14}")
    print(f"{'connections opened, all cells':<34}{cell_conns:>14}")
    print(f"{'concurrent runs per sweep':<34}{args.concurrent:>14}")
    print(f"{'sweep rounds measured':<34}{args.rounds:>14}")
    print(f"{'RSS after sweep round 1 (MB)':<34}{rounds[0]:>14.1f}")
    print(f"{'RSS after last round (MB)':<34}{rounds[-1]:>14.1f}")
    print(f"{'RSS growth over rounds (MB)':<34}{rounds[-1] - rounds[0]:>14.1f}")
    print(f"{'requests served for sweeps':<34}{sweep_stats['requests']:>14}")
    print(f"{'new connections in measured sweeps':<34}{sweep_conns:>14}")
    print(f"{'connections for all sweep runs':<34}{sweep_total:>14}")
    served = sweep_stats["requests"] + args.concurrent
    print(f"{'sweep requests per connection':<34}{served / max(sweep_total, 1):>14.1f}")
    if cell_conns != 1:
        failures.append(f"cells opened {cell_conns} connections, expected 1 (pool reuse)")
    # Reuse means about one connection per run in flight for all the rounds; idle ones
    # past httpx's 5 s keep-alive expiry (a slow round) are reopened, so allow some slack.
    if sweep_total > 1.5 * args.concurrent:
        failures.append(
            f"{args.rounds + 1} sweep rounds opened {sweep_total} connections for"
            f" {args.concurrent} runs in flight (idle connections not reused)"
        )
    if growth - history_mb > args.max_growth_mb:
        failures.append(f"RSS grew {growth:.1f} MB over {args.cells} cells")
    if rounds[-1] - rounds[0] > args.max_growth_mb:
        failures.append(f"RSS grew {rounds[-1] - rounds[0]:.1f} MB over the sweep rounds")
    for failure in failures:
        print("FAIL:", failure)
    return 1 if failures else 0


if __name__ == "__main__":
    raise SystemExit(main())
