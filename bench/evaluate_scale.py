"""An evaluation of 10,000 cases: our CPU per row and peak memory, judge and store included.

    .venv/bin/python bench/evaluate_scale.py [--rows 1000 10000] [--concurrency 8]

A loopback server in a *separate* process (its own CPU and memory never count)
answers every task request with a short streamed answer (20 deltas, usage on the
last chunk) and every judge request with a verdict (``{"reason", "score"}``).
For each size a fresh interpreter warms up (imports, the pool, the store: a
20-case evaluation), then runs one ``groq_magic.evaluate`` over that many distinct
cases with a check (``equals:expected``) and a judge, the progress bars on (text, to
a discarded stream, as in the notebook runner) and the exchange store on (a fresh
file: every request is written as an exchange, and the run with its rows), and
reports:

- CPU per row: ``time.process_time()`` of the whole call divided by the cases. A
  row is two requests (the answer and its grade), both prepared on the one road,
  paced, written to the store, plus the table and the stored run. Filling the
  template and planning the rows are timed apart (``fill + plan``);
- peak memory: the highest RSS during the call minus the RSS before it
  (``ru_maxrss``), per row, and what the run retains afterwards.

A second interpreter per size runs the same evaluation under ``tracemalloc`` (its
CPU is not reported: tracing triples it): the peak of Python's own allocations,
the table's size, and the peak beyond the table per row. Memory is flat when the
per-row figures stay the same from 1,000 to 10,000 cases.
Exits non-zero if a row or a grade did not complete.
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
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests"), str(ROOT / "tests" / "evals")]

from sweep_scale import peak_mb, rss_mb  # noqa: E402 - the same RSS readings as the sweep's

FAKE_KEY = "gsk_bench_" + "0" * 46
PIECES = [f"word{i} " for i in range(20)]
TEMPLATE = "Classify {item}. Answer with the class only."
VERDICT = json.dumps({"reason": "It names the expected thing.", "score": 0.8})


def serve() -> None:
    """Child mode: a loopback server answering tasks with a stream, judges with a verdict."""
    from eval_server import EvalServer

    answer = "".join(PIECES)
    server = EvalServer(answer=lambda body: answer, judge=lambda body: VERDICT, split_words=True)
    server.start()
    print(server.base_url, flush=True)
    for _ in sys.stdin:  # EOF stops it
        pass
    server.stop()


def cases(rows: int) -> list[dict[str, str]]:
    """``rows`` distinct cases."""
    return [{"item": f"item {i}", "expected": f"class {i % 7}"} for i in range(rows)]


def run_evaluation(rows: int, concurrency: int, store: str) -> Any:
    """One evaluation of ``rows`` cases (check + judge, store on), output discarded."""
    import groq_magic
    from groq_magic.backend import Backend
    from groq_magic.session import GroqSession
    from groq_magic.store import StoreSettings

    session = GroqSession(Backend(), store=lambda: StoreSettings(path=store))
    with contextlib.redirect_stdout(io.StringIO()):
        run = groq_magic.evaluate(
            TEMPLATE,
            cases(rows),
            model="alpha",
            checks=["equals:expected", groq_magic.judge("The answer is {expected}.")],
            client=session,
            concurrency=concurrency,
        )
    session.close()
    return run


def complete(run: Any) -> tuple[int, int]:
    """(rows answered, rows graded)."""
    table = run.table
    return int((table.status == "complete").sum()), int(table.judge.notna().sum())


def measure(rows: int, concurrency: int, trace: bool) -> dict[str, Any]:
    """Child mode: one evaluation of ``rows`` cases; its figures as a dict (the store files
    live in a temporary folder, removed afterwards)."""
    with tempfile.TemporaryDirectory(prefix="evaluate_scale_") as folder:
        return measure_in(folder, rows, concurrency, trace)


def measure_in(folder: str, rows: int, concurrency: int, trace: bool) -> dict[str, Any]:
    """:func:`measure`, with the store files in ``folder``."""
    import tracemalloc

    from groq_magic.evals.dataset import fill_template, load_dataset
    from groq_magic.sweeps.sweep import plan_sweep

    run_evaluation(20, concurrency, f"{folder}/warm.sqlite")
    store = f"{folder}/store.sqlite"
    before = rss_mb()
    peak_before = peak_mb()
    if trace:
        gc.collect()
        tracemalloc.start()
    cpu, wall = time.process_time(), time.perf_counter()
    run = run_evaluation(rows, concurrency, store)
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    answered, graded = complete(run)
    figures: dict[str, Any] = {"rows": rows, "answered": answered, "graded": graded}
    if trace:
        gc.collect()
        kept, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        figures.update(
            traced_peak_mb=peak / 1e6,
            table_mb=kept / 1e6,
            beyond_table_per_row_b=(peak - kept) / rows,
        )
        return figures
    after = rss_mb()
    started = time.process_time()  # after the run, so the high-water mark above is its own
    prompts = fill_template(TEMPLATE, load_dataset(cases(rows)))
    plan_sweep(prompts, model="alpha")
    prepare = time.process_time() - started
    figures.update(
        wall_s=wall,
        cpu_s=cpu,
        cpu_per_row_us=cpu / rows * 1e6,
        prepare_per_row_us=prepare / rows * 1e6,
        rows_per_s=rows / wall,
        peak_growth_mb=max(0.0, peak_mb() - max(before, peak_before)),
        retained_mb=after - before,
        store_mb=Path(store).stat().st_size / 1e6,
    )
    return figures


def child(rows: int, concurrency: int, trace: bool, env: dict[str, str]) -> dict[str, Any]:
    command = [sys.executable, __file__, "--measure", str(rows), "--concurrency", str(concurrency)]
    out = subprocess.run(
        [*command, *(["--trace"] if trace else [])],
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    result: dict[str, Any] = json.loads(out.stdout.strip().splitlines()[-1])
    return result


def report(results: list[dict[str, Any]], traces: list[dict[str, Any]]) -> bool:
    """Print the tables; True when every row was answered and graded."""
    print(
        f"{'rows':>7} {'wall s':>7} {'rows/s':>7} {'CPU µs/row':>11} {'fill+plan µs/row':>17}"
        f" {'peak +MB':>9} {'KB/row':>7} {'retained MB':>12} {'store MB':>9}"
    )
    ok = True
    for r in results:
        print(
            f"{r['rows']:>7,} {r['wall_s']:>7.1f} {r['rows_per_s']:>7.0f}"
            f" {r['cpu_per_row_us']:>11.0f} {r['prepare_per_row_us']:>17.0f}"
            f" {r['peak_growth_mb']:>9.1f} {r['peak_growth_mb'] * 1e3 / r['rows']:>7.2f}"
            f" {r['retained_mb']:>12.1f} {r['store_mb']:>9.1f}"
        )
        ok = ok and r["answered"] == r["graded"] == r["rows"]
    print(f"\ntracemalloc: {'rows':>7} {'peak MB':>8} {'table MB':>9} {'beyond table B/row':>19}")
    for t in traces:
        print(
            f"{'':12} {t['rows']:>7,} {t['traced_peak_mb']:>8.1f} {t['table_mb']:>9.1f}"
            f" {t['beyond_table_per_row_b']:>19,.0f}"
        )
        ok = ok and t["answered"] == t["graded"] == t["rows"]
    return ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--measure", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve()
        return 0
    if args.measure:
        print(json.dumps(measure(args.measure, args.concurrency, args.trace)))
        return 0
    server = subprocess.Popen(
        [sys.executable, __file__, "--serve"], stdin=subprocess.PIPE, stdout=subprocess.PIPE
    )
    assert server.stdout is not None
    env = dict(os.environ, GROQ_BASE_URL=server.stdout.readline().decode().strip())
    env["GROQ_API_KEY"] = FAKE_KEY
    try:
        results = [child(rows, args.concurrency, False, env) for rows in args.rows]
        traces = [child(rows, args.concurrency, True, env) for rows in args.rows]
    finally:
        assert server.stdin is not None
        server.stdin.close()
        server.wait(timeout=10)
    ok = report(results, traces)
    out_dir = ROOT / "build" / "bench"
    out_dir.mkdir(parents=True, exist_ok=True)
    report_json = {"rss": results, "tracemalloc": traces}
    (out_dir / "evaluate_scale.json").write_text(json.dumps(report_json, indent=2))
    if not ok:
        print("FAIL: a row was not answered or not graded")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
