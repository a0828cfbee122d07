"""A tiny real HTTP server on 127.0.0.1 that records webhook POSTs (and can fail on purpose)."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Receiver:
    """What the server received; `fail_first` requests answer `fail_status` before succeeding."""

    url: str = ""
    fail_first: int = 0
    fail_status: int = 500
    requests: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def bodies(self) -> list[Any]:
        with self.lock:
            return [r["json"] for r in self.requests]


@contextmanager
def webhook_receiver(fail_first: int = 0, fail_status: int = 500) -> Iterator[Receiver]:
    """Serve on a free loopback port; yields the `Receiver` (its `.url` ends in /hook)."""
    receiver = Receiver(fail_first=fail_first, fail_status=fail_status)

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            with receiver.lock:
                receiver.requests.append({"path": self.path, "headers": dict(self.headers),
                                          "json": json.loads(raw or b"null")})
                failing = len(receiver.requests) <= receiver.fail_first
            status = receiver.fail_status if failing else 200
            self.send_response(status)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            self.wfile.write(b"nope" if failing else b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
