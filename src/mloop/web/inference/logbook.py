"""Interaction logging with group commit: every request waits for its own durable write, and
concurrent requests share one write, so logging costs latency of one flush, not throughput.

A request's records go into a pending list; one writer task takes everything pending, writes
it with one `put_records` call (in a thread), then acknowledges every request in that batch.
While it writes, the next batch accumulates. Nothing is acknowledged before `put_records`
returned (durable), so an acknowledged record survives a kill -9; a failed write fails every
request of its batch (503), so nothing is half-logged from the client's point of view.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

from mloop.errors import MloopError, StoreUnavailable

Rows = list[dict[str, Any]]


class LogUnavailable(StoreUnavailable):
    """The interaction log could not be written; the request is answered 503, not half-done."""

    code = "log_unavailable"
    http_status = 503


class GroupCommitWriter:
    """Batches concurrent `put(records)` calls into single `write(rows)` calls."""

    def __init__(self, write: Callable[[Rows], None], *, name: str, max_batch: int = 2000) -> None:
        self._write = write
        self.name = name
        self.max_batch = max_batch
        self._pending: list[tuple[Rows, asyncio.Future[None]]] = []
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self.batches = 0
        self.rows = 0

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name=f"log:{self.name}")

    async def put(self, records: Rows) -> None:
        """Return once `records` are durable; raise LogUnavailable when the write failed."""
        if self._task is None or self._task.done():
            raise LogUnavailable(f"the {self.name} log is not running")
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._pending.append((records, future))
        self._wake.set()
        await asyncio.shield(future)  # a disconnecting client must not cancel the shared write

    async def close(self) -> None:
        """Write what is pending, then stop."""
        if self._task is None:
            return
        while self._pending:
            await self._flush()
        self._task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._task
        self._task = None

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            while self._pending:
                await self._flush()

    async def _flush(self) -> None:
        batch: list[tuple[Rows, asyncio.Future[None]]] = []
        count = 0
        while self._pending and (not batch or count + len(self._pending[0][0]) <= self.max_batch):
            item = self._pending.pop(0)
            batch.append(item)
            count += len(item[0])
        rows = [row for records, _ in batch for row in records]
        try:
            await asyncio.to_thread(self._write, rows)
        except Exception as exc:  # noqa: BLE001 — any write failure is translated and answered to every waiting request
            error = _translate(exc, self.name)
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
            return
        self.batches += 1
        self.rows += len(rows)
        for _, future in batch:
            if not future.done():
                future.set_result(None)


def _translate(exc: Exception, name: str) -> MloopError:
    if isinstance(exc, LogUnavailable):
        return exc
    reason = exc.message if isinstance(exc, MloopError) else f"{type(exc).__name__}: {exc}"
    return LogUnavailable(
        f"could not log to the {name} group: {reason}",
        hint="Nothing was recorded for this request; check the feature store (`mloop features list`).",
    )
