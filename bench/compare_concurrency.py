"""Compare concurrency: N combinations finish in about T, not N x T.

Run: ``.venv/bin/python bench/compare_concurrency.py [--runs 8] [--delay 1.0]``

A loopback server in a separate thread answers every chat request after
``--delay`` seconds (T), then streams a short Groq-shaped answer. The same N
combinations (N temperatures of one model) run twice:

- **one after another**: ``run_turn`` with the sync client, each run timed;
  the slowest of these is "the slowest single run";
- **as a compare**: :func:`groq_magic.ui.compare.run_compare`, the function
  ``%%groq -t 0,0.1,...`` calls (background loop, semaphore, panes printed as
  plain text to a discarded buffer, summary table built).

Target: the compare's wall time within 1.3x of the slowest single run. Prints
both wall times, the slowest single run, the ratio and PASS/FAIL (exit status 1
on FAIL). The server runs each request in its own thread, so it is not the
bottleneck; the compare's concurrency is the default (8), so ``--runs`` above 8
measures the semaphore's batching, not this target.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

API_KEY = "gsk_bench_not_a_real_key"
MODEL = "bench-model"
TARGET = 1.3
WORDS = ["One", " two", " three", " four", " five."]
PROMPT = "Count to five."


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    delay = 1.0


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        """Quiet."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers.get("content-length", "0"))))
        time.sleep(self.server.delay)  # "the model thinks for T seconds"
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("transfer-encoding", "chunked")
        self.end_headers()
        for i, word in enumerate([*WORDS, None]):
            delta: dict[str, Any] = {"content": word} if word else {}
            chunk: dict[str, Any] = {
                "id": f"chatcmpl-{i}",
                "object": "chat.completion.chunk",
                "created": 0,
                "model": body.get("model", MODEL),
                "choices": [
                    {"index": 0, "delta": delta, "finish_reason": None if word else "stop"}
                ],
            }
            if word is None:
                chunk["x_groq"] = {"usage": {"prompt_tokens": 9, "completion_tokens": 5}}
            self._frame(f"data: {json.dumps(chunk)}\n\n".encode())
        self._frame(b"data: [DONE]\n\n")
        self._frame(b"")

    def _frame(self, data: bytes) -> None:
        self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
        self.wfile.flush()


def _serve(delay: float) -> tuple[_Server, str]:
    server = _Server(("127.0.0.1", 0), _Handler)
    server.delay = delay
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}/v1"


def one_after_another(url: str, temperatures: list[float]) -> tuple[float, list[float]]:
    """Each run on its own with ``run_turn``, after a warm-up: wall time, and each run's."""
    from groq_magic.chat import ChatOptions, Conversation
    from groq_magic.chat.engine import run_turn
    from groq_magic.chat.prepare import prepare_turn
    from groq_magic.chat.sink import NullSink
    from groq_magic.client import Groq

    def prepared(temperature: float | None = None) -> Any:
        options = ChatOptions(model=MODEL, temperature=temperature)
        return prepare_turn(options, PROMPT, None, Conversation())

    with Groq(api_key=API_KEY, base_url=url) as client:
        run_turn(prepared(), client, NullSink())  # warm-up: imports and the pool
        singles = []
        start = time.perf_counter()
        for t in temperatures:
            began = time.perf_counter()
            result = run_turn(prepared(t), client, NullSink())
            singles.append(time.perf_counter() - began)
            assert result.text == "".join(WORDS), result.text
        return time.perf_counter() - start, singles


def as_a_compare(url: str, temperatures: list[float]) -> tuple[float, Any]:
    """The same runs as one compare, after a warm-up compare: wall time and the table."""
    from groq_magic.backend import Backend
    from groq_magic.chat import ChatOptions
    from groq_magic.session import GroqSession
    from groq_magic.ui.compare import run_compare

    session = GroqSession(Backend(base_url=lambda: url, notice=lambda _: None))
    options = ChatOptions(model=MODEL)
    grid = {"temperature": temperatures}
    with contextlib.redirect_stdout(io.StringIO()):
        # Warm-up: the background loop, and the pacer sees an answer.
        run_compare(session, options, {"temperature": [0.0]}, PROMPT, {}, repeat=1, shell=None)
        start = time.perf_counter()
        table = run_compare(session, options, grid, PROMPT, {}, repeat=1, shell=None)
        return time.perf_counter() - start, table


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=8, help="combinations (N)")
    parser.add_argument("--delay", type=float, default=1.0, help="server think time (T), seconds")
    args = parser.parse_args()

    server, url = _serve(args.delay)
    os.environ["GROQ_API_KEY"] = API_KEY
    temperatures = [round(2 * i / max(1, args.runs - 1), 3) for i in range(args.runs)]
    sequential, singles = one_after_another(url, temperatures)
    compare, table = as_a_compare(url, temperatures)
    server.shutdown()

    rows = table.to_dict("records") if hasattr(table, "to_dict") else table
    if len(rows) != args.runs or any(r["status"] != "complete" for r in rows):
        raise SystemExit(f"the compare did not complete every run: {rows}")
    slowest = max(singles)
    ratio = compare / slowest
    verdict = "PASS" if ratio <= TARGET else "FAIL"
    print(f"compare concurrency: N={args.runs} combinations, server think time T={args.delay:g} s")
    print(f"  one after another : {sequential:7.3f} s wall")
    print(f"  slowest single run: {slowest:7.3f} s")
    print(f"  as a compare      : {compare:7.3f} s wall")
    print(f"  compare / slowest : {ratio:7.3f}x  (target <= {TARGET}x)  {verdict}")
    print(f"  speed-up over one after another: {sequential / compare:.1f}x")
    return 0 if verdict == "PASS" else 1


if __name__ == "__main__":
    sys.exit(main())
