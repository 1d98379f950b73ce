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
from dataclasses import dataclass
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


@dataclass
class CellFigures:
    """What the cells phase measured (MB unless said otherwise)."""

    rss_before: float
    rss_after: float
    retained: float  # Python objects the cells left alive
    retained_ours: float  # ... without IPython's record of printed outputs
    retained_history: float  # ... and without its Out cache: the history
    peak: float
    history: float  # the history's growth, as JSON
    ipython_outputs: float
    turns: int
    requests: int
    connections: int


@dataclass
class SweepFigures:
    """What the sweeps phase measured: RSS per round, requests and connections."""

    rounds: list[float]
    requests: int
    new_connections: int  # in the measured rounds
    all_connections: int  # the warm-up round included


def measure_cells(shell: Any, remote: RemoteServer, cells: int) -> CellFigures:
    """Run ``cells`` cells after a warm-up; what they cost in memory and connections."""
    session = shell._groq_magics.session
    run_cells(shell, 5)  # warm-up: imports, the pool, first-use caches
    remote.stats()
    history_before = len(session.store.current.to_json())
    before = rss_mb()
    tracemalloc.start()
    traced_before = tracemalloc.get_traced_memory()[0]
    run_cells(shell, cells)
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
    stats = remote.stats()
    return CellFigures(
        rss_before=before,
        rss_after=after,
        retained=(traced_after - traced_before) / 1e6,
        retained_ours=(traced_ours - traced_before) / 1e6,
        retained_history=(traced_history - traced_before) / 1e6,
        peak=traced_peak / 1e6,
        history=(len(session.store.current.to_json()) - history_before) / 1e6,
        ipython_outputs=ipython_mb,
        turns=len(session.store.current),
        requests=stats["requests"],
        # Everything so far (warm-up and the measured cells) went through one pool.
        connections=stats["connections"],
    )


def measure_sweeps(remote: RemoteServer, concurrent: int, rounds: int) -> SweepFigures:
    """A warm-up sweep, then ``rounds`` measured ones of ``concurrent`` runs at once."""
    before = remote.stats()
    run_sweeps(concurrent, 1)  # warm-up: the background loop and async pool
    start = remote.stats()
    after_rounds = run_sweeps(concurrent, rounds)
    stats = remote.stats()
    return SweepFigures(
        rounds=after_rounds,
        requests=stats["requests"],
        new_connections=stats["connections"] - start["connections"],
        # All the sweep rounds together: at most one connection per run in flight at once.
        all_connections=stats["connections"] - before["connections"],
    )


def print_table(args: argparse.Namespace, cells: CellFigures, sweeps: SweepFigures) -> None:
    """The figures, one a line."""
    served = sweeps.requests + args.concurrent
    rows: list[tuple[str, str]] = [
        ("cells run", f"{args.cells}"),
        ("RSS before cells (MB)", f"{cells.rss_before:.1f}"),
        ("RSS after cells (MB)", f"{cells.rss_after:.1f}"),
        ("RSS growth (MB)", f"{cells.rss_after - cells.rss_before:.1f}"),
        ("Python objects retained (MB)", f"{cells.retained:.2f}"),
        ("  without IPython outputs (MB)", f"{cells.retained_ours:.2f}"),
        ("  without outputs and Out (MB)", f"{cells.retained_history:.2f}"),
        ("Python allocation peak (MB)", f"{cells.peak:.2f}"),
        ("history growth, JSON (MB)", f"{cells.history:.2f}"),
        ("IPython output history, text (MB)", f"{cells.ipython_outputs:.2f}"),
        ("turns in history", f"{cells.turns}"),
        ("requests served for cells", f"{cells.requests}"),
        ("connections opened, all cells", f"{cells.connections}"),
        ("concurrent runs per sweep", f"{args.concurrent}"),
        ("sweep rounds measured", f"{args.rounds}"),
        ("RSS after sweep round 1 (MB)", f"{sweeps.rounds[0]:.1f}"),
        ("RSS after last round (MB)", f"{sweeps.rounds[-1]:.1f}"),
        ("RSS growth over rounds (MB)", f"{sweeps.rounds[-1] - sweeps.rounds[0]:.1f}"),
        ("requests served for sweeps", f"{sweeps.requests}"),
        ("new connections in measured sweeps", f"{sweeps.new_connections}"),
        ("connections for all sweep runs", f"{sweeps.all_connections}"),
        ("sweep requests per connection", f"{served / max(sweeps.all_connections, 1):.1f}"),
    ]
    print(f"{'phase':<34}{'value':>14}")
    for label, value in rows:
        print(f"{label:<34}{value:>14}")


def failures(args: argparse.Namespace, cells: CellFigures, sweeps: SweepFigures) -> list[str]:
    """What missed its target, one line each."""
    found = []
    if cells.connections != 1:
        found.append(f"cells opened {cells.connections} connections, expected 1 (pool reuse)")
    # Reuse means about one connection per run in flight for all the rounds; idle ones
    # past httpx's 5 s keep-alive expiry (a slow round) are reopened, so allow some slack.
    if sweeps.all_connections > 1.5 * args.concurrent:
        found.append(
            f"{args.rounds + 1} sweep rounds opened {sweeps.all_connections} connections for"
            f" {args.concurrent} runs in flight (idle connections not reused)"
        )
    growth = cells.rss_after - cells.rss_before
    if growth - cells.history > args.max_growth_mb:
        found.append(f"RSS grew {growth:.1f} MB over {args.cells} cells")
    if sweeps.rounds[-1] - sweeps.rounds[0] > args.max_growth_mb:
        found.append(
            f"RSS grew {sweeps.rounds[-1] - sweeps.rounds[0]:.1f} MB over the sweep rounds"
        )
    return found


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
    try:
        cells = measure_cells(shell, remote, args.cells)
        sweeps = measure_sweeps(remote, args.concurrent, args.rounds)
    finally:
        shell.run_line_magic("unload_ext", "groq_magic")
        remote.close()
    print_table(args, cells, sweeps)
    found = failures(args, cells, sweeps)
    for failure in found:
        print("FAIL:", failure)
    return 1 if found else 0


if __name__ == "__main__":
    raise SystemExit(main())
