"""Read timeouts for every mloop HTTP server: a client that is slow to send closes, not stalls.

uvicorn times out idle keep-alive connections but not a client that sends its headers or body
one byte at a time (slowloris): 50 such connections were held for 70 s. `ReadTimeoutProtocol`
(uvicorn's httptools protocol plus one timer) gives every request `read_timeout_s` seconds from
the connection (or the request's first byte) until its last body byte; past that the connection
is closed. Once the request is read the timer stops: a slow model answer is not a slow client.
"""

from __future__ import annotations

import asyncio
import logging
import os
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

log = logging.getLogger("mloop.server")

DEFAULT_READ_TIMEOUT_S = 30.0


class ReadTimeoutProtocol(HttpToolsProtocol):
    """httptools HTTP/1.1 with a deadline on reading each request's headers and body.

    `read_timeout` is a class attribute so that uvicorn worker processes (which import this class
    by name) can be configured by their app factory; `with_read_timeout` makes a subclass for
    servers in this process.
    """

    # `mloop serve` sets the variable before starting its workers (whatever their app factory)
    read_timeout: float = float(os.environ.get("_MLOOP_READ_TIMEOUT_S") or DEFAULT_READ_TIMEOUT_S)
    _read_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        self._arm()  # a connection that never sends a byte is a slow client too

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._arm()

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        if self._read_timer is None:
            self._read_timer = self.loop.call_later(self.read_timeout, self._timed_out)

    def _disarm(self) -> None:
        if self._read_timer is not None:
            self._read_timer.cancel()
            self._read_timer = None

    def _timed_out(self) -> None:
        self._read_timer = None
        if self.transport is not None and not self.transport.is_closing():
            log.info("closing a connection from %s: request not received within %.1f s",
                     self.client, self.read_timeout)
            self.transport.close()


def with_read_timeout(seconds: float) -> type[ReadTimeoutProtocol]:
    """A protocol class for `uvicorn.Config(http=...)` whose requests must arrive within `seconds`."""
    return type("ReadTimeoutProtocol", (ReadTimeoutProtocol,), {"read_timeout": float(seconds)})


def uvicorn_options(read_timeout_s: float) -> dict[str, Any]:
    """The uvicorn settings every mloop server shares (single process: a configured class)."""
    return {"http": with_read_timeout(read_timeout_s), "timeout_keep_alive": min(5.0, read_timeout_s)}
