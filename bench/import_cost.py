"""How long ``%load_ext groq_magic`` takes, and which imports it pays for.

Target: under 150 ms on the project's machines, IPython's own import excluded. Each run is
a fresh interpreter that imports IPython and makes its shell first, then times
``import groq_magic; groq_magic.load_ipython_extension(shell)`` alone. One more run with
``python -X importtime`` lists the modules that step imported, slowest first, and the
cost of the packages the design says should wait for first use (httpx, pydantic, the
protocol client, widgets, pandas, llama_cpp).

    .venv/bin/python bench/import_cost.py            # 9 runs, top 25 modules
    .venv/bin/python bench/import_cost.py --runs 15 --top 40 --check   # exit 1 if over

Run it on an idle machine: a busy one inflates every figure.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET_MS = 150.0
MARK = "=====groq_magic load_ext starts====="

# Timed step only: IPython and its shell exist before the clock starts.
_TIMED = """
import sys, time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
sys.stderr.write(%r + "\\n")
sys.stderr.flush()
start = time.perf_counter()
import groq_magic
groq_magic.load_ipython_extension(shell)
elapsed = time.perf_counter() - start
heavy = %r
print(elapsed * 1000.0)
print(",".join(name for name in heavy if name in sys.modules))
"""

HEAVY = (
    "httpx",
    "pydantic",
    "pydantic_core",
    "groq_magic.client",
    "groq_magic.chat",
    "ipywidgets",
    "pandas",
    "groq_magic.ui",
    "llama_cpp",
)

# Each heavy package imported alone after IPython, to say what "heavy" means in ms.
_ALONE = """
import time
from IPython.core.interactiveshell import InteractiveShell
InteractiveShell.instance()
start = time.perf_counter()
import %s
print((time.perf_counter() - start) * 1000.0)
"""


def _env() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("GROQ_", "OPENAI_"))}
    env["PYTHONPATH"] = str(ROOT)
    return env


def _python(args: list[str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *args], capture_output=True, text=True, cwd=ROOT, env=_env(), check=True
    )


def timed_runs(runs: int) -> tuple[list[float], list[str]]:
    """Milliseconds of load_ext per fresh process, and the heavy modules it imported."""
    times: list[float] = []
    loaded: list[str] = []
    for _ in range(runs):
        out = _python(["-c", _TIMED % (MARK, HEAVY)]).stdout.splitlines()
        times.append(float(out[-2]))
        loaded = [name for name in out[-1].split(",") if name]
    return times, loaded


def importtime_rows() -> list[tuple[int, int, str]]:
    """``(self_us, cumulative_us, name)`` for each module imported after the mark."""
    done = _python(["-X", "importtime", "-c", _TIMED % (MARK, HEAVY)])
    rows: list[tuple[int, int, str]] = []
    seen = False
    for line in done.stderr.splitlines():
        if line.strip() == MARK:
            seen = True
            continue
        if not seen or not line.startswith("import time:") or "|" not in line:
            continue
        fields = line.removeprefix("import time:").split("|")
        try:
            rows.append((int(fields[0]), int(fields[1]), fields[2].rstrip()))
        except ValueError:
            continue  # the header line
    return rows


def alone_ms(module: str, runs: int = 3) -> float | None:
    """Min ms to import ``module`` by itself after IPython, or None if not installed."""
    times = []
    for _ in range(runs):
        try:
            out = _python(["-c", _ALONE % module]).stdout.split()
        except subprocess.CalledProcessError:
            return None
        times.append(float(out[-1]))
    return min(times)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=9, help="fresh processes to time")
    parser.add_argument("--top", type=int, default=25, help="modules to list")
    parser.add_argument("--check", action="store_true", help="exit 1 when over budget")
    args = parser.parse_args()

    times, loaded = timed_runs(args.runs)
    best, median = min(times), statistics.median(times)
    print(f"%load_ext groq_magic, IPython already imported ({args.runs} fresh processes)")
    print(f"  min {best:.1f} ms   median {median:.1f} ms   max {max(times):.1f} ms")
    verdict = "within" if median <= BUDGET_MS else "OVER"
    print(f"  budget {BUDGET_MS:.0f} ms: median is {verdict} budget")
    print(f"  heavy modules imported by load_ext: {', '.join(loaded) or 'none'}")

    rows = importtime_rows()
    total_us = sum(row[0] for row in rows)
    print(f"\n-X importtime: {len(rows)} modules imported by load_ext,", end=" ")
    print(f"{total_us / 1000:.1f} ms self (importtime itself inflates this)")
    print(f"  {'self ms':>8} {'cumul ms':>9}  module")
    for self_us, cumulative_us, name in sorted(rows, key=lambda r: r[0], reverse=True)[: args.top]:
        print(f"  {self_us / 1000:8.1f} {cumulative_us / 1000:9.1f}  {name}")

    by_top: dict[str, int] = {}
    for self_us, _, name in rows:
        top = name.strip().split(".")[0]
        if top == "groq_magic":
            top = ".".join(name.strip().split(".")[:2])
        by_top[top] = by_top.get(top, 0) + self_us
    print("\n  self time by package (ms):")
    for top, us in sorted(by_top.items(), key=lambda kv: kv[1], reverse=True)[: args.top]:
        print(f"  {us / 1000:8.1f}  {top}")

    print("\nEach heavy package imported alone after IPython (min of 3, ms):")
    for module in (
        "httpx",
        "pydantic",
        "groq_magic.client",
        "groq_magic.chat",
        "ipywidgets",
        "pandas",
    ):
        cost = alone_ms(module)
        print(f"  {module:20} {'not installed' if cost is None else f'{cost:.1f}'}")
    return 1 if args.check and median > BUDGET_MS else 0


if __name__ == "__main__":
    sys.exit(main())
