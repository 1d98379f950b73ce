"""A loopback web server of fixed files, for image-by-URL tests (no request leaves 127.0.0.1).

``serve(routes)`` yields the base URL of a server that answers ``GET``/``HEAD`` of each
path in ``routes`` (path -> (status, content type, bytes)) and 404 otherwise. A path
under ``/no-head`` refuses ``HEAD`` with 405 (some servers do) and serves the rest.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Routes = Mapping[str, tuple[int, str, bytes]]


@contextlib.contextmanager
def serve(routes: Routes) -> Iterator[str]:
    """Serve ``routes`` on 127.0.0.1 (a free port) until the block ends; yield the base URL."""

    class Handler(BaseHTTPRequestHandler):
        def do_HEAD(self) -> None:
            if self.path.startswith("/no-head"):
                self.send_error(405)
                return
            self.reply(body=False)

        def do_GET(self) -> None:
            self.reply(body=True)

        def reply(self, body: bool) -> None:
            path = self.path.replace("/no-head", "", 1)
            status, content_type, data = routes.get(path, (404, "text/plain", b"nope"))
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            if body:
                self.wfile.write(data)

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
