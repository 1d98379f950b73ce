"""A sweep of 10,000 rows: our CPU per row and peak memory, with and without the answers kept.

    .venv/bin/python bench/sweep_scale.py [--rows 1000 10000] [--image-rows 100 400]
                                          [--concurrency 8]

A loopback server in a *separate* process (its own CPU and memory never count)
answers every chat request with the same short streamed answer (20 deltas, usage on
the last chunk). For each size, and for ``keep_results`` False (the default: each
run keeps its table row) and True (each run also keeps its ``ChatResult``), a fresh
interpreter warms up (imports, the pool: a 20-row sweep), then runs one
``groq_magic.sweep`` over that many distinct prompts with the progress bar on (text,
to a discarded stream, as in the notebook runner) and reports:

- CPU per row: ``time.process_time()`` of the whole call (preparing every row on the
  one road, running it, the progress bar, the DataFrame) divided by the rows; the
  preparation alone is timed too (``plan_sweep``);
- peak memory: the highest RSS during the call minus the RSS before it (``ru_maxrss``),
  and what the table retains afterwards;
- wall time and rows per second.

RSS moves in allocator arenas, so a third interpreter per size measures the same
sweep (``keep_results`` False) under ``tracemalloc`` (whose CPU figure is not
reported: tracing triples it): the peak of Python's own allocations during the
call, the returned table's, and the peak beyond the table per row. Last, sweeps of
``--image-rows`` rows (100 and 400) that each send the same 400x400 noise PNG (469 KB)
show what the rows' requests cost: traced peak and CPU (a prepared request holds its
image's data URL).

Memory is flat when the peak per row stays the same from 1,000 to 10,000 rows, and
an image sweep's peak does not grow with its rows.
Exits non-zero if a run did not complete.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import io
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

FAKE_KEY = "gsk_bench_" + "0" * 46
PIECES = [f"word{i} " for i in range(20)]


def serve() -> None:
    """Child mode: a loopback server answering every chat request with the same stream."""
    from scripted_server import ScriptedServer, chunk_events, sse_reply

    server = ScriptedServer().start()
    server.route("POST", "/v1/chat/completions", sse_reply(chunk_events(PIECES)))
    print(server.base_url, flush=True)
    for _ in sys.stdin:  # EOF stops it
        pass
    server.stop()


def rss_mb() -> float:
    """This process's resident set size in MB, after a full collection."""
    gc.collect()
    with open("/proc/self/statm") as statm:
        pages = int(statm.read().split()[1])
    return pages * os.sysconf("SC_PAGE_SIZE") / 1e6


def peak_mb() -> float:
    """The highest RSS this process has had, in MB (Linux reports KB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1e3


def noise_png() -> str:
    """A 400x400 PNG of noise (it does not compress: 469 KB), written once."""
    import numpy as np
    from PIL import Image

    path = ROOT / "build" / "bench" / "noise.png"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        pixels = np.random.default_rng(0).integers(0, 256, (400, 400, 3), dtype=np.uint8)
        Image.fromarray(pixels).save(path)
    return str(path)


def traced(rows: int, concurrency: int, image: bool) -> dict[str, Any]:
    """Child mode: one sweep under tracemalloc; its peak and what the table keeps."""
    import tracemalloc

    import groq_magic

    prompts = [f"Classify item {i}." for i in range(rows)]
    extra: dict[str, Any] = {"images": [noise_png()]} if image else {}
    with contextlib.redirect_stdout(io.StringIO()):
        groq_magic.sweep(prompts[:20], model="alpha", concurrency=concurrency, **extra)
    gc.collect()
    tracemalloc.start()
    cpu = time.process_time()
    with contextlib.redirect_stdout(io.StringIO()):
        table = groq_magic.sweep(
            prompts, model="alpha", concurrency=concurrency, progress=True, **extra
        )
    cpu = time.process_time() - cpu
    gc.collect()
    kept, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "rows": rows,
        "image": image,
        "complete": int((table.status == "complete").sum()),
        "traced_cpu_s": cpu,
        "traced_peak_mb": peak / 1e6,
        "table_mb": kept / 1e6,
        "beyond_table_per_row_b": (peak - kept) / rows,
    }


def measure(rows: int, keep: bool, concurrency: int) -> dict[str, Any]:
    """Child mode: one sweep of ``rows`` rows; its figures as a dict."""
    import groq_magic
    from groq_magic.sweeps.sweep import plan_sweep

    prompts = [f"Classify item {i}." for i in range(rows)]
    with contextlib.redirect_stdout(io.StringIO()):
        groq_magic.sweep(prompts[:20], model="alpha", concurrency=concurrency, progress=True)
    before = rss_mb()
    peak_before = peak_mb()
    cpu, wall = time.process_time(), time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        table = groq_magic.sweep(
            prompts, model="alpha", concurrency=concurrency, progress=True, keep_results=keep
        )
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    after = rss_mb()
    statuses = dict(table.status.value_counts())
    # Timed after the sweep, so the high-water mark above is the sweep's alone.
    started = time.process_time()
    plan_sweep(prompts, model="alpha")
    prepare_cpu = time.process_time() - started
    return {
        "rows": rows,
        "keep_results": keep,
        "complete": int(statuses.get("complete", 0)),
        "wall_s": wall,
        "cpu_s": cpu,
        "cpu_per_row_us": cpu / rows * 1e6,
        "prepare_per_row_us": prepare_cpu / rows * 1e6,
        "rows_per_s": rows / wall,
        "rss_before_mb": before,
        "peak_growth_mb": max(0.0, peak_mb() - max(before, peak_before)),
        "retained_mb": after - before,
    }


def child(env: dict[str, str], *flags: str) -> dict[str, Any]:
    """Run this script in a fresh interpreter with ``flags``; the JSON line it prints."""
    command = [sys.executable, __file__, *flags]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=True)
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def run_all(
    args: argparse.Namespace, env: dict[str, str]
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every measured sweep (RSS, then tracemalloc), each in its own interpreter."""
    concurrency = ["--concurrency", str(args.concurrency)]
    results = [
        child(env, "--measure", str(rows), *concurrency, *(["--keep"] if keep else []))
        for rows in args.rows
        for keep in (False, True)
    ]
    runs = [(rows, False) for rows in args.rows] + [(rows, True) for rows in args.image_rows]
    traces = [
        child(env, "--measure", str(rows), "--trace", *concurrency, *(["--image"] if image else []))
        for rows, image in runs
    ]
    return results, traces


def print_tables(results: list[dict[str, Any]], traces: list[dict[str, Any]]) -> None:
    """The RSS table, then the tracemalloc one."""
    print(
        f"{'rows':>7} {'keep':>5} {'wall s':>7} {'rows/s':>7} {'CPU µs/row':>11}"
        f" {'prepare µs/row':>15} {'peak +MB':>9} {'KB/row':>7} {'retained MB':>12}"
    )
    for r in results:
        print(
            f"{r['rows']:>7,} {r['keep_results']!s:>5} {r['wall_s']:>7.1f} {r['rows_per_s']:>7.0f}"
            f" {r['cpu_per_row_us']:>11.0f} {r['prepare_per_row_us']:>15.0f}"
            f" {r['peak_growth_mb']:>9.1f} {r['peak_growth_mb'] * 1e3 / r['rows']:>7.2f}"
            f" {r['retained_mb']:>12.1f}"
        )
    print(
        f"\ntracemalloc: {'rows':>7} {'image':>5} {'peak MB':>8} {'table MB':>9}"
        f" {'beyond table B/row':>19} {'CPU s (traced)':>15}"
    )
    for t in traces:
        print(
            f"{'':12} {t['rows']:>7,} {t['image']!s:>5} {t['traced_peak_mb']:>8.1f}"
            f" {t['table_mb']:>9.1f} {t['beyond_table_per_row_b']:>19,.0f}"
            f" {t['traced_cpu_s']:>15.2f}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--image-rows", type=int, nargs="+", default=[100, 400])
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--image", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.measure and args.trace:
        print(json.dumps(traced(args.measure, args.concurrency, args.image)))
        return 0
    if args.measure:
        print(json.dumps(measure(args.measure, args.keep, args.concurrency)))
        return 0

    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert server.stdout is not None
    env = dict(os.environ, GROQ_BASE_URL=server.stdout.readline().decode().strip())
    env["GROQ_API_KEY"] = FAKE_KEY
    try:
        results, traces = run_all(args, env)
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    print_tables(results, traces)
    out_dir = ROOT / "build" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    report = {"rss": results, "tracemalloc": traces}
    (out_dir / "sweep_scale.json").write_text(json.dumps(report, indent=2))
    failed = any(run["complete"] != run["rows"] for run in (*results, *traces))
    if failed:
        print("FAIL: a run did not complete")
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
