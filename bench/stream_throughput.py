"""Streaming throughput: client CPU per chunk for our client, the groq SDK and an httpx floor.

Run: ``.venv/bin/python bench/stream_throughput.py [--chunks 5000 50000] [--repeat 3]``

A loopback server in a separate process (so its work never lands on the client's
CPU clock) pre-renders a realistic Groq SSE body per chunk count and writes it with
large ``sendall`` calls. Each contender streams the same body; we time only the
consuming loop with ``time.process_time()`` (CPU of this process) and
``time.perf_counter()`` (wall), repeat, keep the run with the least CPU, and check
that every contender got every content chunk and the same text, so a broken
contender cannot win. The contenders:

- ``groq_magic sync``: ``Groq().chat.completions.create(stream=True)``, iterated.
- ``groq_magic async``: ``AsyncGroq`` with ``async for``.
- ``groq SDK sync``: the official ``groq`` package, iterated the same way.
- ``httpx floor``: ``httpx.Client().stream()`` + ``iter_lines()`` + ``json.loads`` of
  each ``data:`` line, the least a Python client can do with the same transport.
- ``httpx floor async`` (informative): the same with ``AsyncClient``/``aiter_lines``,
  to show what asyncio itself costs; it is not part of the verdicts.

Targets (ratios from the same run, every chunk count): our client (sync and async)
within 1.5x of the floor's CPU per chunk, and at least 5x cheaper than the SDK.
Results also go to ``build/bench/stream_throughput.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Iterable
from pathlib import Path
from typing import Any

API_KEY = "gsk_bench_not_a_real_key"
MODEL = "llama-3.3-70b-versatile"
TOKENS = (" word", " the", " stream", ",", " of", " tokens", ".")
CHUNKS_HEADER = "x-bench-chunks"
WARMUP = 100  # chunks in the untimed first call of each contender
FLOOR_TARGET = 1.5  # our CPU per chunk <= 1.5x the floor's
SDK_TARGET = 5.0  # the SDK's CPU per chunk >= 5x ours
ROOT = Path(__file__).resolve().parent.parent
JSON_OUT = ROOT / "build" / "bench" / "stream_throughput.json"


# --- the server (runs in its own process) -------------------------------------------


def expected_text(n: int) -> str:
    """The text a contender must reassemble from ``n`` content chunks."""
    return "".join(TOKENS[i % len(TOKENS)] for i in range(n))


def render_body(n: int) -> bytes:
    """A Groq-shaped SSE body: a role chunk, ``n`` content chunks, a final chunk, [DONE]."""
    created = 1732240000
    head = {
        "id": "chatcmpl-bench0000000000000000000000",
        "object": "chat.completion.chunk",
        "created": created,
        "model": MODEL,
        "system_fingerprint": "fp_bench0000",
    }

    def chunk(delta: dict[str, Any], finish: str | None, x_groq: dict[str, Any] | None) -> str:
        body: dict[str, Any] = {
            **head,
            "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}],
        }
        if x_groq is not None:
            body["x_groq"] = x_groq
        return "data: " + json.dumps(body, separators=(",", ":")) + "\n\n"

    parts = [chunk({"role": "assistant", "content": ""}, None, {"id": "req_bench0000"})]
    # Content chunks differ only in their token, so render each distinct one once.
    rendered = [chunk({"content": t}, None, None) for t in TOKENS]
    parts.extend(rendered[i % len(TOKENS)] for i in range(n))
    usage = {
        "queue_time": 0.01,
        "prompt_tokens": 12,
        "prompt_time": 0.002,
        "completion_tokens": n,
        "completion_time": n / 300,
        "total_tokens": n + 12,
        "total_time": n / 300 + 0.002,
    }
    parts.append(chunk({}, "stop", {"id": "req_bench0000", "usage": usage}))
    parts.append("data: [DONE]\n\n")
    return "".join(parts).encode()


def _read_request(conn: socket.socket, buf: bytes) -> tuple[dict[str, str], bytes] | None:
    """Read one request's head and body; return (headers, leftover bytes) or None at EOF."""
    while b"\r\n\r\n" not in buf:
        data = conn.recv(65536)
        if not data:
            return None
        buf += data
    head, _, rest = buf.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {"_request_line": lines[0]}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    length = int(headers.get("content-length", "0"))
    while len(rest) < length:
        data = conn.recv(65536)
        if not data:
            return None
        rest += data
    return headers, rest[length:]


def _serve_connection(conn: socket.socket, bodies: dict[int, bytes]) -> None:
    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    buf = b""
    with conn:
        while True:
            got = _read_request(conn, buf)
            if got is None:
                return
            headers, buf = got
            method, path = headers["_request_line"].split(" ")[:2]
            n = int(headers.get(CHUNKS_HEADER, "0"))
            if method != "POST" or not path.endswith("/chat/completions") or n not in bodies:
                msg = b'{"error":{"message":"bench server: unknown request","type":"bench"}}'
                conn.sendall(
                    b"HTTP/1.1 404 Not Found\r\ncontent-type: application/json\r\n"
                    b"content-length: %d\r\n\r\n%s" % (len(msg), msg)
                )
                continue
            body = bodies[n]
            conn.sendall(
                b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\n"
                b"cache-control: no-cache\r\nx-request-id: req_bench0000\r\n"
                b"x-ratelimit-limit-requests: 14400\r\nx-ratelimit-remaining-requests: 14399\r\n"
                b"x-ratelimit-reset-requests: 6s\r\ncontent-length: %d\r\n\r\n" % len(body)
            )
            view = memoryview(body)
            step = 1 << 20
            for start in range(0, len(body), step):
                conn.sendall(view[start : start + step])


def serve(counts: Iterable[int]) -> None:
    """Pre-render every body, print the port, serve until stdin closes."""
    bodies = {n: render_body(n) for n in counts}
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)

    def accept_loop() -> None:
        while True:
            conn, _ = listener.accept()
            threading.Thread(target=_serve_connection, args=(conn, bodies), daemon=True).start()

    threading.Thread(target=accept_loop, daemon=True).start()
    print(listener.getsockname()[1], flush=True)
    sys.stdin.read()  # the parent closes our stdin (or dies) to stop us


class ServerProcess:
    """The loopback server as a child process, started and stopped by ``with``."""

    def __init__(self, counts: list[int]) -> None:
        self.counts = counts
        self.port = 0
        self._proc: subprocess.Popen[str] | None = None

    def __enter__(self) -> ServerProcess:
        cmd = [sys.executable, __file__, "--serve", *map(str, self.counts)]
        self._proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
        assert self._proc.stdout is not None
        line = self._proc.stdout.readline()
        if not line.strip().isdigit():
            self._proc.kill()
            raise RuntimeError(f"bench server failed to start (said {line!r})")
        self.port = int(line)
        return self

    def __exit__(self, *exc: object) -> None:
        assert self._proc is not None
        assert self._proc.stdin is not None
        self._proc.stdin.close()
        try:
            self._proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self._proc.kill()
            self._proc.wait()


# --- the contenders ---------------------------------------------------------------
# Each is set up once (client built, connection warmed) and returns a "run" that
# streams n chunks and gives back (cpu seconds, wall seconds, content chunks, text).
# Only the consuming loop is inside the clocks: the request and response head are not.

Result = tuple[float, float, int, str]
MESSAGES = [{"role": "user", "content": "Say many words."}]


def _headers(n: int) -> dict[str, str]:
    return {CHUNKS_HEADER: str(n)}


def ours_sync(port: int) -> Callable[[int], Result]:
    """Our ``Groq`` client, iterated as a user would."""
    from groq_magic.client import Groq

    client = Groq(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0)

    def run(n: int) -> Result:
        stream = client.chat.completions.create(
            messages=MESSAGES, model=MODEL, stream=True, extra_headers=_headers(n)
        )
        parts: list[str] = []
        c0, w0 = time.process_time(), time.perf_counter()
        for chunk in stream:
            content = chunk.choices[0].delta.content
            if content:
                parts.append(content)
        c1, w1 = time.process_time(), time.perf_counter()
        if not stream.completed:
            raise AssertionError("groq_magic sync: stream not completed")
        return c1 - c0, w1 - w0, len(parts), "".join(parts)

    return run


def ours_async(port: int) -> Callable[[int], Awaitable[Result]]:
    """Our ``AsyncGroq`` client with ``async for``."""
    from groq_magic.client import AsyncGroq

    client = AsyncGroq(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0)

    async def run(n: int) -> Result:
        stream = await client.chat.completions.create(
            messages=MESSAGES, model=MODEL, stream=True, extra_headers=_headers(n)
        )
        parts: list[str] = []
        c0, w0 = time.process_time(), time.perf_counter()
        async for chunk in stream:
            content = chunk.choices[0].delta.content
            if content:
                parts.append(content)
        c1, w1 = time.process_time(), time.perf_counter()
        if not stream.completed:
            raise AssertionError("groq_magic async: stream not completed")
        return c1 - c0, w1 - w0, len(parts), "".join(parts)

    return run


def sdk_sync(port: int) -> Callable[[int], Result]:
    """The official ``groq`` SDK; it appends ``/openai/v1`` to a bare host itself."""
    import groq

    client = groq.Groq(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=0)

    def run(n: int) -> Result:
        # Any: the SDK's overloads want its TypedDict messages; a plain dict is what users pass.
        stream: Any = client.chat.completions.create(
            messages=MESSAGES,  # type: ignore[arg-type]
            model=MODEL,
            stream=True,
            extra_headers=_headers(n),
        )
        parts: list[str] = []
        c0, w0 = time.process_time(), time.perf_counter()
        for chunk in stream:
            content = chunk.choices[0].delta.content
            if content:
                parts.append(content)
        c1, w1 = time.process_time(), time.perf_counter()
        return c1 - c0, w1 - w0, len(parts), "".join(parts)

    return run


def _floor_payload() -> dict[str, Any]:
    return {"model": MODEL, "messages": MESSAGES, "stream": True}


def floor_sync(port: int) -> Callable[[int], Result]:
    """httpx ``iter_lines()`` + ``json.loads``: no models, no accounting, no checks."""
    import httpx

    client = httpx.Client()
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    auth = {"Authorization": f"Bearer {API_KEY}", "Accept": "text/event-stream"}

    def run(n: int) -> Result:
        with client.stream(
            "POST", url, json=_floor_payload(), headers={**auth, **_headers(n)}
        ) as r:
            r.raise_for_status()
            parts: list[str] = []
            c0, w0 = time.process_time(), time.perf_counter()
            for line in r.iter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data != "[DONE]":
                        content = json.loads(data)["choices"][0]["delta"].get("content")
                        if content:
                            parts.append(content)
            c1, w1 = time.process_time(), time.perf_counter()
        return c1 - c0, w1 - w0, len(parts), "".join(parts)

    return run


def floor_async(port: int) -> Callable[[int], Awaitable[Result]]:
    """The floor over ``httpx.AsyncClient`` and ``aiter_lines()`` (informative only)."""
    import httpx

    client = httpx.AsyncClient()
    url = f"http://127.0.0.1:{port}/v1/chat/completions"
    auth = {"Authorization": f"Bearer {API_KEY}", "Accept": "text/event-stream"}

    async def run(n: int) -> Result:
        async with client.stream(
            "POST", url, json=_floor_payload(), headers={**auth, **_headers(n)}
        ) as r:
            r.raise_for_status()
            parts: list[str] = []
            c0, w0 = time.process_time(), time.perf_counter()
            async for line in r.aiter_lines():
                if line.startswith("data: "):
                    data = line[6:]
                    if data != "[DONE]":
                        content = json.loads(data)["choices"][0]["delta"].get("content")
                        if content:
                            parts.append(content)
            c1, w1 = time.process_time(), time.perf_counter()
        return c1 - c0, w1 - w0, len(parts), "".join(parts)

    return run


OURS_SYNC, OURS_ASYNC = "groq_magic sync", "groq_magic async"
SDK, FLOOR, FLOOR_ASYNC = "groq SDK sync", "httpx floor", "httpx floor async"
CONTENDERS: list[tuple[str, Callable[[int], Any], bool]] = [
    (FLOOR, floor_sync, False),
    (OURS_SYNC, ours_sync, False),
    (OURS_ASYNC, ours_async, True),
    (SDK, sdk_sync, False),
    (FLOOR_ASYNC, floor_async, True),
]


# --- measuring ----------------------------------------------------------------------


def _check(name: str, n: int, result: Result, text: str) -> None:
    # Raised, not asserted, so that ``python -O`` cannot let a broken contender win.
    _, _, count, got = result
    if count != n:
        raise AssertionError(f"{name}: {count} content chunks for {n} sent")
    if got != text:
        raise AssertionError(f"{name}: text differs from what was sent ({len(got)} vs {len(text)})")


def measure(port: int, counts: list[int], repeat: int) -> dict[str, dict[int, list[Result]]]:
    """Every contender, every count, ``repeat`` rounds, after one untimed warm-up each.

    Rounds interleave the contenders, so a slow spell of this (shared, virtual)
    machine lands on all of them rather than on whichever ran then.
    """
    loop = asyncio.new_event_loop()
    try:
        runners: dict[str, Callable[[int], Result]] = {}
        for name, factory, is_async in CONTENDERS:
            run = factory(port)
            if is_async:
                # Bind the coroutine function now: the loop runs it, the clocks stay inside.
                def run_async(n: int, arun: Callable[[int], Any] = run) -> Result:
                    result: Result = loop.run_until_complete(arun(n))
                    return result

                run = run_async
            _check(name, WARMUP, run(WARMUP), expected_text(WARMUP))
            runners[name] = run
        runs: dict[str, dict[int, list[Result]]] = {
            name: {n: [] for n in counts} for name in runners
        }
        texts = {n: expected_text(n) for n in counts}
        for round_no in range(repeat):
            for n in counts:
                for name, run in runners.items():
                    gc.collect()
                    result = run(n)
                    _check(name, n, result, texts[n])
                    runs[name][n].append(result)
            print(f"  round {round_no + 1}/{repeat} done", file=sys.stderr, flush=True)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
    return runs


def summarize(runs: dict[str, dict[int, list[Result]]], counts: list[int]) -> list[dict[str, Any]]:
    """One row per contender and count, from the run with the least CPU."""
    best = {
        (name, n): min(results, key=lambda r: r[0])
        for name, by_n in runs.items()
        for n, results in by_n.items()
    }
    rows = []
    for n in counts:
        floor_us = best[FLOOR, n][0] / n * 1e6
        sdk_us = best[SDK, n][0] / n * 1e6
        for name, _, _ in CONTENDERS:
            cpu, wall, _, _ = best[name, n]
            us = cpu / n * 1e6
            rows.append(
                {
                    "contender": name,
                    "chunks": n,
                    "chunks_per_s": n / wall if wall else float("inf"),
                    "cpu_us_per_chunk": us,
                    "wall_s": wall,
                    "cpu_s": cpu,
                    "vs_floor": us / floor_us,
                    "sdk_over_this": sdk_us / us,
                    "all_runs_cpu_s": [r[0] for r in runs[name][n]],
                    "all_runs_wall_s": [r[1] for r in runs[name][n]],
                }
            )
    return rows


def verdicts(rows: list[dict[str, Any]]) -> list[tuple[str, bool]]:
    """The two target lines, over both of our contenders and every chunk count."""
    ours = [r for r in rows if r["contender"] in (OURS_SYNC, OURS_ASYNC)]

    def detail(key: str) -> str:
        return ", ".join(f"{r['contender']} @{r['chunks']}: {r[key]:.2f}x" for r in ours)

    floor_ok = all(r["vs_floor"] <= FLOOR_TARGET for r in ours)
    sdk_ok = all(r["sdk_over_this"] >= SDK_TARGET for r in ours)
    return [
        (f"within {FLOOR_TARGET}x of the floor's CPU/chunk ({detail('vs_floor')})", floor_ok),
        (f">= {SDK_TARGET:g}x cheaper than the SDK ({detail('sdk_over_this')})", sdk_ok),
    ]


def print_table(rows: list[dict[str, Any]]) -> None:
    """The results as a plain-text table."""
    header = f"{'contender':<18} {'chunks':>7} {'chunks/s':>10} {'CPU µs/chunk':>13} "
    header += f"{'x floor':>8} {'SDK/this':>9}"
    print(header)
    print("-" * len(header))
    for r in rows:
        print(
            f"{r['contender']:<18} {r['chunks']:>7} {r['chunks_per_s']:>10,.0f} "
            f"{r['cpu_us_per_chunk']:>13.2f} {r['vs_floor']:>7.2f}x {r['sdk_over_this']:>8.2f}x"
        )


def main(argv: list[str] | None = None) -> int:
    """Parse arguments, run the server and the contenders, print and save the results."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--chunks", type=int, nargs="+", default=[5000, 50000])
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", type=Path, default=JSON_OUT, help="where to write results")
    parser.add_argument("--serve", type=int, nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.serve:
        serve(args.serve)
        return 0
    import groq
    import httpx
    import pydantic

    counts = sorted(set(args.chunks))
    with ServerProcess(sorted({*counts, WARMUP})) as server:
        runs = measure(server.port, counts, max(1, args.repeat))
    rows = summarize(runs, counts)
    print_table(rows)
    lines = verdicts(rows)
    for text, ok in lines:
        print(f"{'PASS' if ok else 'FAIL'}: {text}")
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(
        json.dumps(
            {
                "command": " ".join([Path(sys.executable).name, *sys.argv]),
                "repeat": args.repeat,
                "python": sys.version.split()[0],
                "versions": {
                    "groq": groq.__version__,
                    "httpx": httpx.__version__,
                    "pydantic": pydantic.VERSION,
                },
                "cpus": os.cpu_count(),
                # Other work on the machine shows up as noise: keep the load with the numbers.
                "load_average": os.getloadavg(),
                "rows": rows,
                "verdicts": [{"target": t, "pass": ok} for t, ok in lines],
            },
            indent=2,
        )
        + "\n"
    )
    print(f"results: {args.json}")
    return 0 if all(ok for _, ok in lines) else 1


if __name__ == "__main__":
    sys.exit(main())
