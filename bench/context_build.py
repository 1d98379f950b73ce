"""``--context df``: building a DataFrame's block must not take longer as the rows grow.

Run: ``.venv/bin/python bench/context_build.py [--rows 10000 100000 1000000 10000000]
[--repeat 9]``

For each size, a DataFrame of that many rows with the dtypes people load: an int64 id,
float64 prices with NaN, text with None (``str`` in pandas 3, ``object`` before), a
datetime, a categorical, nullable ``Int64`` and ``string`` columns and a boolean. We
time :func:`groq_magic.chat.context.build_context` for it (describing the frame,
estimating tokens, fitting the limit, the key check: everything a cell does before
its request) ``--repeat`` times and print the median, fastest and slowest, and the
block's size. Then the same for a frame with only numeric columns (no sampling ever
needed) and for a wide one (500 columns). Null counts of text columns are exact up to
:data:`groq_magic.chat.describe.NULL_SCAN_BUDGET`; past it they are estimated from rows
drawn at random, which is what keeps the time flat: the output says which.

Target: the median for the 1,000,000-row frame under 50 ms. Exit status 1 on a FAIL.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time

import numpy as np
import pandas as pd

from groq_magic.chat.context import build_context

TARGET_MS = 50.0
TARGET_ROWS = 1_000_000


def mixed_frame(rows: int) -> pd.DataFrame:
    """The dtypes of a typical loaded table, with missing values where they can be."""
    rng = np.random.default_rng(0)
    prices = rng.random(rows) * 100
    prices[rng.random(rows) < 0.05] = np.nan
    return pd.DataFrame(
        {
            "id": np.arange(rows),
            "price": prices,
            "city": rng.choice(np.array(["Oslo", "Rome", "Lima", None], dtype=object), rows),
            "when": pd.date_range("2024-01-01", periods=rows, freq="s"),
            "kind": pd.Categorical(rng.choice(["a", "b", "c"], rows)),
            "count": pd.array(np.where(rng.random(rows) < 0.1, None, 7), dtype="Int64"),
            "note": pd.array(rng.choice(["ok", "late", None], rows), dtype="string"),
            "paid": rng.random(rows) < 0.5,
        }
    )


def numeric_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(1)
    return pd.DataFrame({f"x{i}": rng.random(rows) for i in range(8)})


def wide_frame(rows: int) -> pd.DataFrame:
    rng = np.random.default_rng(2)
    return pd.DataFrame(rng.random((rows, 500)), columns=[f"c{i}" for i in range(500)])


def measure(frame: pd.DataFrame, repeat: int) -> tuple[list[float], str, int]:
    """Milliseconds per build, the block's text and its estimated tokens."""
    namespace = {"df": frame}
    context = build_context(["df"], namespace)  # warm-up: imports, first-use caches
    times = []
    for _ in range(repeat):
        started = time.perf_counter()
        context = build_context(["df"], namespace)
        times.append((time.perf_counter() - started) * 1000)
    [block] = context.blocks
    return times, block.text, block.tokens


def row(label: str, rows: int, times: list[float], text: str, tokens: int) -> str:
    sampled = "sampled" if "drawn at random" in text else "exact"
    return (
        f"{label:<8} {rows:>11,} rows  median {statistics.median(times):7.2f} ms"
        f"  (min {min(times):6.2f}, max {max(times):6.2f})  {tokens:>5} tokens  nulls {sampled}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--repeat", type=int, default=9)
    args = parser.parse_args()
    print(f"pandas {pd.__version__}, numpy {np.__version__}, Python {sys.version.split()[0]}")
    medians: dict[int, float] = {}
    for rows in args.rows:
        frame = mixed_frame(rows)
        times, text, tokens = measure(frame, args.repeat)
        medians[rows] = statistics.median(times)
        print(row("mixed", rows, times, text, tokens), flush=True)
        for label, build in (("numeric", numeric_frame), ("wide", wide_frame)):
            if label == "wide" and rows > 1_000_000:
                continue  # 500 float columns of 10M rows is 40 GB
            print(row(label, rows, *measure(build(rows), args.repeat)), flush=True)
        del frame
    if TARGET_ROWS not in medians:
        print(f"(no {TARGET_ROWS:,}-row run: no verdict)")
        return 0
    smallest = min(medians)
    print(
        f"1,000,000 rows / {smallest:,} rows: {medians[TARGET_ROWS] / medians[smallest]:.1f}x the"
        f" time for {TARGET_ROWS // smallest:,}x the rows"
    )
    ok = medians[TARGET_ROWS] < TARGET_MS
    print(f"{'PASS' if ok else 'FAIL'}: {medians[TARGET_ROWS]:.1f} ms (target {TARGET_MS:.0f} ms)")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
