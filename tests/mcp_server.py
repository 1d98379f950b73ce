"""A real MCP server for the tests, written with the official SDK (FastMCP).

    python tests/mcp_server.py                      # stdio
    python tests/mcp_server.py --http PORT          # streamable HTTP on 127.0.0.1:PORT/mcp
    python tests/mcp_server.py --mode exit          # exits at once, a line on stderr
    python tests/mcp_server.py --mode hang          # never answers initialize
    python tests/mcp_server.py --pid-file F         # writes its pid to F first

Its tools cover what a server can send back: text (``echo``, ``add``), JSON
(``weather``: structured content), an image (``pixel``), an error (``fail``), a crash
mid-call (``crash``), a call that takes its time (``slow``), and what it was started
with (``env_value``: one variable of its environment), and a side effect (``note``
writes a file).
"""

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

from mcp.server.fastmcp import FastMCP
from mcp.server.fastmcp.utilities.types import Image

# A 1x1 red PNG.
PIXEL = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010802000000907753de"
    "0000000c4944415408d763f8cfc000000301010018dd8db00000000049454e44ae426082"
)


def build(name: str) -> FastMCP:
    """The server and its tools."""
    server = FastMCP(name, log_level="WARNING")

    @server.tool()
    def echo(text: str) -> str:
        """Say the text back."""
        return f"echo: {text}"

    @server.tool()
    def add(a: int, b: int) -> int:
        """Add two whole numbers.

        Both must be given.
        """
        return a + b

    @server.tool()
    def weather(city: str) -> dict[str, Any]:
        """The weather in a city, as JSON."""
        return {"city": city, "celsius": 12, "sky": "rain"}

    @server.tool()
    def pixel() -> Image:
        """A one-pixel red image."""
        return Image(data=PIXEL, format="png")

    @server.tool()
    def fail(message: str) -> str:
        """Always fails with the message."""
        raise ValueError(message)

    @server.tool()
    def crash() -> str:
        """Ends the server's process in the middle of the call."""
        print("crash: going down now", file=sys.stderr, flush=True)
        os._exit(3)

    @server.tool()
    def slow(seconds: float) -> str:
        """Waits, then answers."""
        time.sleep(seconds)
        return f"slept {seconds}"

    @server.tool()
    def note(path: str, text: str) -> str:
        """Writes the text to a file (so a test sees whether the call ran)."""
        Path(path).write_text(text)
        return f"wrote {len(text)} characters"

    @server.tool()
    def env_value(name: str) -> str:
        """One variable of the server's environment (empty when unset)."""
        return os.environ.get(name, "")

    return server


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--name", default="test")
    parser.add_argument("--http", type=int)
    parser.add_argument("--mode", choices=["serve", "exit", "hang"], default="serve")
    parser.add_argument("--pid-file")
    parser.add_argument("--api-key", help="accepted and unused (a test shows it is never shown)")
    args = parser.parse_args()
    if args.pid_file:
        Path(args.pid_file).write_text(str(os.getpid()))
    if args.mode == "exit":
        print("test server: refusing to start (--mode exit)", file=sys.stderr, flush=True)
        sys.exit(2)
    if args.mode == "hang":
        print("test server: hanging before initialize", file=sys.stderr, flush=True)
        while True:
            time.sleep(1)
    server = build(args.name)
    if args.http:
        server.settings.port = args.http
        server.run("streamable-http")
    else:
        server.run("stdio")


if __name__ == "__main__":
    main()
