"""Keep-alive connections spread evenly over `mloop serve`'s worker processes.

The workers share one listening socket and the kernel hands each new connection to whichever
worker wakes first; a worker that wakes accepts every pending connection at once. Eight clients
that connect together therefore land 5/3, 6/2 or 7/1 on two workers (measured: never 4/4 in five
tries), and with keep-alive they stay there: one worker queues six clients' requests while the
other idles, so p99 follows the busy worker. SageMaker's and KServe's clients keep connections
open for the life of the process, so this is the normal case, not a benchmark artefact.

Each worker counts its open connections in a slot of a small shared file that `mloop serve`
creates. A worker holding at least two connections more than the least loaded live worker answers
one request with `Connection: close` (at most one per `MIN_GAP_S`); the client reconnects, and the
new connection is accepted by a less busy worker more often than not, so the split converges to
4/4 within a few hundred requests. HTTP clients reconnect on `Connection: close` by design
(RFC 9112 section 9.6), so no request is lost or repeated.
"""

from __future__ import annotations

import asyncio
import fcntl
import mmap
import os
import struct
import time
from pathlib import Path

from mloop.serving.server.timeouts import ReadTimeoutProtocol
from mloop.store.leases import pid_alive

SLOT = struct.Struct("<qq")  # (pid, open connections) per worker
MIN_GAP_S = 0.05  # one forced reconnect per worker per 50 ms at most: no reconnect storms
ENV = "_MLOOP_SERVE_BALANCE"


def create(directory: Path, workers: int) -> Path:
    """The shared slot file for `workers` processes (zeroed), made by the server before they start."""
    path = directory / "connections"
    path.write_bytes(bytes(SLOT.size * workers))
    return path


def overloaded(mine: int, others: list[int]) -> bool:
    """Whether moving one of this worker's connections elsewhere evens the split."""
    return bool(others) and mine - min(others) >= 2


class Slots:
    """This worker's view of the shared file: its own slot, and the others' counts."""

    def __init__(self, path: Path) -> None:
        self.path = path
        with path.open("r+b") as handle:
            self._map = mmap.mmap(handle.fileno(), 0)
        self.size = len(self._map) // SLOT.size
        self.pid = os.getpid()
        self.index = self._claim()
        self._last_close = 0.0

    def _claim(self) -> int:
        """A slot that is free or whose process is gone (uvicorn restarts dead workers)."""
        pid = self.pid
        with self.path.open("r+b") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            for index in range(self.size):
                owner = self.owner(index)
                if owner in (0, pid) or not pid_alive(owner):
                    SLOT.pack_into(self._map, index * SLOT.size, pid, 0)
                    return index
        return -1  # more processes than slots (should not happen): this one does not balance

    def owner(self, index: int) -> int:
        """The pid holding slot `index` (0: never claimed)."""
        return int(SLOT.unpack_from(self._map, index * SLOT.size)[0])

    def count(self, index: int) -> int:
        return int(SLOT.unpack_from(self._map, index * SLOT.size)[1])

    def add(self, delta: int) -> None:
        """Count a connection opened (+1) or closed (-1); only this process writes its slot."""
        if self.index >= 0:
            SLOT.pack_into(self._map, self.index * SLOT.size, self.pid, self.count(self.index) + delta)

    def should_close(self) -> bool:
        """Whether to send this response with `Connection: close` (rate-limited, live peers only)."""
        if self.index < 0:
            return False
        occupied = [(self.count(i), i) for i in range(self.size) if i != self.index and self.owner(i)]
        if not overloaded(self.count(self.index), [n for n, _ in occupied]):
            return False
        now = time.monotonic()
        if now - self._last_close < MIN_GAP_S:
            return False
        self._last_close = now
        _, least = min(occupied)
        return pid_alive(self.owner(least))  # a dead peer's stale count


_slots: Slots | None = None


def slots() -> Slots | None:
    """This process's slots when `mloop serve` runs several workers, else None (attached once)."""
    global _slots
    path = os.environ.get(ENV)
    if _slots is None and path:
        _slots = Slots(Path(path))
    return _slots


class BalancedProtocol(ReadTimeoutProtocol):
    """`ReadTimeoutProtocol` that counts its connections and hands one back when its worker has too many."""

    _counted = False

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        shared = _slots  # claimed when uvicorn imported this module in the worker (below)
        if shared is not None:
            shared.add(1)
            self._counted = True

    def on_headers_complete(self) -> None:
        super().on_headers_complete()
        shared = _slots
        if self._counted and shared is not None and self.cycle.keep_alive and shared.should_close():
            self.cycle.keep_alive = False  # uvicorn sends `connection: close` and closes after the answer
            shared.add(-1)  # counted as gone now, so the next decision sees the move
            self._counted = False

    def connection_lost(self, exc: Exception | None) -> None:
        if self._counted and _slots is not None:
            _slots.add(-1)
            self._counted = False
        super().connection_lost(exc)


# uvicorn imports this module by name in each worker process as it starts: claim the worker's slot
# then, so that a worker without connections yet already counts as the least loaded one.
slots()
