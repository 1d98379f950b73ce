"""The overhead of one MCP tool call over calling the same function directly (issue 20).

The same function, ``add(a, b)``, three ways, each through ``ToolBox.run`` as a tool
round runs it in a cell (arguments parsed and checked, the result made into content):

- ``direct``: a notebook function (no transport);
- ``stdio``: the tool of a real MCP server (``tests/mcp_server.py``, the official SDK's
  FastMCP) in a child process, over its stdin/stdout, through ``groq_magic.mcp``;
- ``http``: the same server over streamable HTTP on 127.0.0.1.

For the split of the overhead, the stdio server's calls are also timed on the MCP
loop itself (``ClientSession.call_tool`` awaited there: the SDK and the pipe alone,
without our thread hop to that loop and back).

Each call is timed in wall time (the transport is a round trip: CPU of this process
alone would miss the server's side); the figures are the median and the 90th
percentile of ``--calls`` calls after ``--warmup`` calls, and the overhead is the
median minus the direct median. Start-up (process, SDK import, initialize, tool
listing) is timed once per server, apart.

    .venv/bin/python bench/mcp_overhead.py                # 300 calls each
    .venv/bin/python bench/mcp_overhead.py --calls 1000 --no-http
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from groq_magic.chat.tools import ToolBox, ToolCall  # noqa: E402
from groq_magic.chat.tools.remote import add_remote_tools  # noqa: E402
from groq_magic.mcp import MCPServers, MCPSettings  # noqa: E402

SERVER = ROOT / "tests" / "mcp_server.py"


def add(a: int, b: int) -> int:
    """Add two whole numbers."""
    return a + b


def timed_calls(box: ToolBox, calls: int, warmup: int) -> list[float]:
    """Seconds per call of ``add`` through ``box``, after ``warmup`` untimed calls."""
    seconds: list[float] = []
    for n in range(warmup + calls):
        call = ToolCall(f"c{n}", "add", json.dumps({"a": n, "b": 1}))
        start = time.perf_counter()
        [outcome] = box.run([call])
        elapsed = time.perf_counter() - start
        if outcome.error is not None or outcome.result != n + 1:
            raise SystemExit(f"call {n} went wrong: {outcome.error or outcome.result!r}")
        if n >= warmup:
            seconds.append(elapsed)
    return seconds


def sdk_alone(servers: MCPServers, name: str, calls: int, warmup: int) -> list[float]:
    """Seconds per ``call_tool`` awaited on the MCP loop (no thread hop, no ToolBox)."""
    connection = servers._connections[name]  # a benchmark may look inside

    async def run() -> list[float]:
        seconds = []
        for n in range(warmup + calls):
            start = time.perf_counter()
            await connection.call("add", {"a": n, "b": 1})
            if n >= warmup:
                seconds.append(time.perf_counter() - start)
        return seconds

    return servers._loop.run(run())


def served_box(name: str, entry: dict[str, Any]) -> tuple[ToolBox, float, MCPServers]:
    """A ToolBox with the server's tools, the server's start-up seconds, and the servers."""
    servers = MCPServers(lambda: MCPSettings({name: entry}, None, 60.0))
    start = time.perf_counter()
    toolset = servers.toolset([name])
    started = time.perf_counter() - start
    box = ToolBox()
    add_remote_tools(box, toolset.tools)
    return box, started, servers


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def http_server() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, str(SERVER), "--http", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return process, f"http://127.0.0.1:{port}/mcp"
        time.sleep(0.1)
    process.kill()
    raise SystemExit("the HTTP test server did not start")


def summary(seconds: list[float]) -> dict[str, float]:
    ordered = sorted(seconds)
    return {
        "median_ms": statistics.median(ordered) * 1000,
        "p90_ms": ordered[int(len(ordered) * 0.9) - 1] * 1000,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=20)
    parser.add_argument("--no-http", action="store_true", help="skip the streamable-HTTP server")
    args = parser.parse_args()

    results: dict[str, dict[str, float]] = {}
    results["direct"] = summary(timed_calls(ToolBox([add]), args.calls, args.warmup))
    stdio_box, stdio_start, stdio = served_box(
        "bench", {"command": sys.executable, "args": [str(SERVER)]}
    )
    try:
        results["stdio"] = summary(timed_calls(stdio_box, args.calls, args.warmup))
        results["stdio"]["start_s"] = stdio_start
        results["stdio SDK"] = summary(sdk_alone(stdio, "bench", args.calls, args.warmup))
    finally:
        stdio.stop()
    if not args.no_http:
        process, url = http_server()
        try:
            http_box, http_start, http = served_box("web", {"url": url})
            try:
                results["http"] = summary(timed_calls(http_box, args.calls, args.warmup))
                results["http"]["start_s"] = http_start
            finally:
                http.stop()
        finally:
            process.terminate()
            process.wait(10)

    direct = results["direct"]["median_ms"]
    print(f"one call of add(a, b) through ToolBox.run, {args.calls} calls each (wall time):")
    for name, figures in results.items():
        extra = f", start-up {figures['start_s']:.2f} s" if "start_s" in figures else ""
        over = f", overhead {figures['median_ms'] - direct:.3f} ms" if name != "direct" else ""
        print(
            f"  {name:9s} median {figures['median_ms']:.3f} ms, p90 {figures['p90_ms']:.3f} ms"
            f"{over}{extra}"
        )
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"  (load average {load:.2f}; {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
