"""Large requests run in worker threads, very large ones in a worker process; never on the loop.

Parsing and predicting a 5 MB batch takes the better part of a second; on the event loop that
second is added to every other client's request (measured: p50 2.6 ms -> 869 ms while two clients
sent 5 MB bodies). Requests whose body is larger than `offload_bytes` (8 KiB, about 200 CSV rows)
are handed to a small thread pool: the model call releases the interpreter, so the loop keeps
answering small requests in between. Bodies above `process_bytes` (1 MiB) go to a worker process
(`bulk`): their parse alone holds the interpreter for hundreds of milliseconds. Single rows stay
on the loop, where micro-batching makes them cheaper than a hand-off; so do requests up to
`offload_bytes`.

Why 100-row requests stay on the loop: with the models frozen out of the collector's sight
(`runtime.live.refreeze`) they answer faster there than through a thread hand-off, side by side
(bench/serving.py --compare-offload --workers 2, quiet 2-core host): V1 3,627 req/s, p99 5.5 ms on
the loop against 2,908 req/s, 7.6 ms on threads. An earlier measurement that favoured threads was
taken while every full collection walked the model's libraries (~50 ms stalls of the loop).
At 8 KiB the loop holds one request for about a millisecond at most.
"""

from __future__ import annotations

import asyncio
import sys
from concurrent.futures import ThreadPoolExecutor
from typing import TYPE_CHECKING

from mloop.serving.server import handler
from mloop.serving.server.bulk import BulkPool

if TYPE_CHECKING:
    from mloop.serving.runtime.live import LiveEndpoint
    from mloop.serving.server.metrics import ServerMetrics

# A thread holding the interpreter yields it to a waiting one after this long (Python's default
# is 5 ms, which is a whole latency budget of a small request waiting behind a big one).
SWITCH_INTERVAL_S = 0.0005


class Offload:
    """Decides which requests leave the loop, and runs them on a thread pool."""

    def __init__(self, min_bytes: int = 8192, threads: int = 4, process_bytes: int = 1 << 20) -> None:
        self.min_bytes = min_bytes
        self.threads = threads
        self.bulk = BulkPool(process_bytes)
        self._pool: ThreadPoolExecutor | None = None
        self.offloaded = 0

    def wanted(self, body: bytes) -> bool:
        """Whether this request is big enough to be worth a thread hand-off."""
        return len(body) > self.min_bytes

    async def predict(self, live: LiveEndpoint, metrics: ServerMetrics | None,
                      req: handler.Request) -> handler.Response:
        """`handler.predict` in a worker process or thread; the loop serves others meanwhile."""
        if self.bulk.wanted(req.body):
            answer = await self.bulk.predict(live, metrics, req)
            if answer is not None:
                return answer
        if self._pool is None:
            sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
            self._pool = ThreadPoolExecutor(self.threads, thread_name_prefix="mloop-predict")
        self.offloaded += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, handler.predict, live, metrics, req)

    def close(self) -> None:
        self.bulk.close()
        if self._pool is not None:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = None
