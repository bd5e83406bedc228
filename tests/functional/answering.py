"""A loopback HTTP server that answers every request, whatever its method and path, 200 with
one body the test sets: a stand-in for a proxy's or a login page, or any foreign document."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class Answering:
    """Serves `body` (settable) until `stop()`; `address` is host:port, `url` its origin."""

    def __init__(self) -> None:
        self.body = b""
        answering = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, format: str, *args: object) -> None:
                pass

            def _answer(self) -> None:
                self.rfile.read(int(self.headers.get("Content-Length") or 0))
                self.send_response(200)
                self.send_header("Content-Length", str(len(answering.body)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(answering.body)

            do_GET = do_HEAD = do_POST = do_PATCH = do_PUT = do_DELETE = _answer

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.address = f"127.0.0.1:{self.server.server_address[1]}"
        self.url = f"http://{self.address}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@contextmanager
def answering() -> Iterator[Answering]:
    server = Answering()
    try:
        yield server
    finally:
        server.stop()
