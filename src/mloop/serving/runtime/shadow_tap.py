"""Feeding shadow variants without costing the caller: a bounded queue and one worker thread.

The handler notes a copy of each sampled request (`copy_for_shadows`: references to the body and
the live predictions, a few hundred nanoseconds); the server hands it to `ShadowTap.submit` only
after the caller's answer was sent. `submit` never waits: when the queue is full the copy is
dropped and counted (a shadow that cannot keep up loses samples, callers lose nothing). The
worker thread drains the queue, parses each body with the shadow's model, predicts the copies of
one drain in one model call, and writes the live and shadow predictions of each request, paired
by request id, to the prediction log in batches. Nothing a shadow does reaches a caller: its
errors become log rows.

The worker shares the process (and its interpreter lock) with the event loop, so every
microsecond it runs is one the loop does not. It keeps to a budget: after each drain it pauses
long enough that its CPU time stays under `cpu_share` of the wall clock. Under light traffic the
budget is never reached; at saturation the queue fills and copies are dropped and counted, which
is the trade a shadow makes: it sees a sample, callers keep their throughput.
"""

from __future__ import annotations

import logging
import random
import sys
import threading
import time
import uuid
from collections import deque
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.serving.endpoints.prediction_log import append
from mloop.serving.server.protocols import parse

if TYPE_CHECKING:
    from mloop.serving.runtime.live import Deployment, LiveEndpoint, LiveVariant, Shadow
    from mloop.serving.server.handler import Request
    from mloop.serving.server.metrics import ServerMetrics
    from mloop.store import Workspace

log = logging.getLogger("mloop.serving")

QUEUE_SIZE = 1000  # copies waiting for the worker; beyond this they are dropped
# Of one core, for the worker (see the module's docstring). Measured on 2 cores at saturation: 5%
# cost callers 0.8-1.35 ms at p99 (requests arriving during a drain wait for the interpreter lock);
# 2% kept it at a median +0.39 ms over four runs (docs/endpoints.md).
CPU_SHARE = 0.02
DRAIN = 256  # copies the worker takes at once (one model call per shadow)
FLUSH_S = 0.5  # the longest log rows wait before they are written
# The worker shares the interpreter with the event loop: it must hand it back quickly (Python's
# default switch interval, 5 ms, would be ten times the p99 budget a shadow may cost a caller).
SWITCH_INTERVAL_S = 0.0005
# The shadow's model is called on at most this many records at a time. Tree models evaluate up to
# 8 rows in numpy on the calling thread; a larger call goes to XGBoost, whose OpenMP threads then
# spin on every core after each call: measured, a shadow predicting drains of 256 rows raised the
# server's CPU per answered request by ~60% where the worker itself used 5% of a core.
CALL_ROWS = 8
# Between two drains the worker waits at least this long: copies gather, and the interpreter lock
# changes hands a few dozen times a second instead of once or twice per request (each hand-over
# costs the loop's thread a wake-up and its caches).
MIN_GAP_S = 0.02


class Copy:
    """One answered request, as the shadows get it."""

    __slots__ = ("at", "body", "content_type", "latency_s", "live", "predictions", "protocol", "request_id",
                 "shadows")

    def __init__(self, req: Request, live: LiveVariant, predictions: list[Any], latency_s: float,
                 shadows: list[Shadow], request_id: str | None) -> None:
        self.at = time.time()
        self.protocol = req.protocol
        self.body = req.body
        self.content_type = req.content_type
        self.request_id = request_id
        self.live = live
        self.predictions = predictions
        self.latency_s = latency_s
        self.shadows = shadows


def copy_for_shadows(dep: Deployment, live: LiveVariant, req: Request, predictions: list[Any],
                     started: float, extra: Any) -> Copy | None:
    """The copy of an answered request for the shadows that sample it (None: none does)."""
    chosen = [s for s in dep.shadows if s.sample >= 1.0 or random.random() < s.sample]
    if not chosen:
        return None
    request_id = req.request_id
    if request_id is None and extra is not None and isinstance(extra[0], str):
        request_id = extra[0]  # the V2 request's own "id"
    return Copy(req, live, predictions, time.perf_counter() - started, chosen, request_id)


def hand_to_shadows(live: LiveEndpoint, req: Request) -> None:
    """Queue the request's copy for the shadows (call on the event loop, once the answer was sent)."""
    tap = live.tap
    if tap is not None and req.shadow_copy is not None:
        tap.submit(req.shadow_copy)
        req.shadow_copy = None


async def hand_to_shadows_after(live: LiveEndpoint, req: Request) -> None:
    """`hand_to_shadows` as a response's background task (async: it runs on the loop, not a thread)."""
    hand_to_shadows(live, req)


class ShadowTap:
    """The queue of copies of one server process, its worker thread and its drop counts.

    Args:
        ws: where the prediction log is written (None: nothing is written, e.g. a model directory).
        capacity: copies that may wait; one more is dropped and counted.
        flush_s: the longest log rows wait before they are written.
        cpu_share: the share of a core the worker may use (see the module's docstring).
    """

    def __init__(self, ws: Workspace | None, endpoint: str, metrics: ServerMetrics | None = None, *,
                 capacity: int = QUEUE_SIZE, flush_s: float = FLUSH_S, cpu_share: float = CPU_SHARE) -> None:
        self.ws = ws
        self.endpoint = endpoint
        self.metrics = metrics
        self.flush_s = flush_s
        self.cpu_share = cpu_share
        # Only the event loop's thread appends and counts, only the worker pops: a deque needs no
        # lock for that, and the worker is woken only when it said it was idle (a queue.Queue's
        # lock and condition on every request cost the caller more than the whole hand-off).
        self._queue: deque[Copy] = deque()
        self.capacity = capacity
        self._wake = threading.Event()
        self._idle = False
        self.dropped = 0  # copies dropped since the server started
        self.dropped_by: dict[str, int] = {}  # the same, per shadow
        self._dropped_written: dict[str, int] = {}
        self.submitted = 0  # copies queued
        self.finished = 0  # copies whose log rows were written (or failed to be)
        self._unwritten = 0
        self.log_failures = 0
        self._rows: list[dict[str, Any]] = []
        self._stop = threading.Event()
        sys.setswitchinterval(min(sys.getswitchinterval(), SWITCH_INTERVAL_S))
        self._thread = threading.Thread(target=self._run, name=f"mloop-shadow-{endpoint}", daemon=True)
        self._thread.start()

    def submit(self, copy: Copy) -> bool:
        """Queue `copy` for its shadows, or drop and count it when the queue is full; never waits.

        Called from the event loop's thread only (the one writer of the queue and the counts)."""
        if len(self._queue) >= self.capacity:
            self.dropped += 1
            for s in copy.shadows:
                self.dropped_by[s.variant.name] = self.dropped_by.get(s.variant.name, 0) + 1
            return False
        self._queue.append(copy)
        self.submitted += 1
        if self._idle:
            self._wake.set()
        return True

    def close(self) -> None:
        """Finish what is queued (bounded), write the log, stop the worker."""
        self._stop.set()
        self._wake.set()
        self._thread.join(timeout=10)

    def _take(self, timeout: float) -> list[Copy]:
        """Up to DRAIN copies; waits up to `timeout` for the first."""
        pending = self._queue
        if not pending and not self._stop.is_set():
            self._idle = True
            if not pending:  # checked again after saying so: an append in between is never missed
                self._wake.wait(timeout)
            self._idle = False
            self._wake.clear()
        batch: list[Copy] = []
        while pending and len(batch) < DRAIN:
            batch.append(pending.popleft())
        return batch

    def _run(self) -> None:
        next_write = time.monotonic() + self.flush_s
        while True:
            batch = self._take(max(0.0, next_write - time.monotonic()))
            cpu, began = time.thread_time(), time.monotonic()
            if batch:
                try:
                    self._rows.extend(run_shadows(batch))
                except Exception as exc:  # never let a bug here stop the worker
                    log.error("endpoint %s: shadow worker: %s", self.endpoint, exc, exc_info=exc)
                self._unwritten += len(batch)
            stopping = self._stop.is_set() and not self._queue
            if stopping or time.monotonic() >= next_write:
                self._write()
                next_write = time.monotonic() + self.flush_s
            if stopping:
                return
            if batch:  # keep to the budget: pause in proportion to the work done, and let copies gather
                budget = (time.thread_time() - cpu) * (1 - self.cpu_share) / self.cpu_share
                self._stop.wait(max(budget, MIN_GAP_S - (time.monotonic() - began)))

    def _write(self) -> None:
        counted, before = dict(self.dropped_by), self._dropped_written
        drops = {k: n - before.get(k, 0) for k, n in counted.items() if n > before.get(k, 0)}
        self._dropped_written = counted
        rows, self._rows = self._rows, []
        finished, self._unwritten = self._unwritten, 0
        try:
            self._append(rows, drops)
        finally:
            self.finished += finished

    def _append(self, rows: list[dict[str, Any]], drops: dict[str, int]) -> None:
        if self.metrics is not None:
            self.metrics.observe_shadows(rows, drops)
        if self.ws is None or not (rows or drops):
            return
        try:
            append(self.ws, self.endpoint, rows, drops)
        except Exception as exc:  # noqa: BLE001 — the log is best effort; callers were answered long ago
            self.log_failures += 1
            log.warning("endpoint %s: could not write %d prediction log rows: %s", self.endpoint, len(rows), exc)

    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Wait until every submitted copy is processed and written (tests, benchmarks)."""
        deadline = time.monotonic() + timeout
        while self.finished < self.submitted:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.01)
        return True


def run_shadows(batch: list[Copy]) -> list[dict[str, Any]]:
    """Log rows for a drain of copies: each request's live answer, then each shadow's (all stamped
    with the time the request was answered)."""
    rows: list[dict[str, Any]] = []
    ids = [c.request_id or uuid.uuid4().hex for c in batch]
    times = {id(c): datetime.fromtimestamp(c.at, UTC) for c in batch}
    for copy, rid in zip(batch, ids, strict=True):
        rows.extend(_rows(copy.live, rid, times[id(copy)], copy.predictions, None, copy.latency_s, shadow=False))
    shadows = {id(s.variant): s.variant for c in batch for s in c.shadows}
    for variant in shadows.values():
        mine = [(c, rid) for c, rid in zip(batch, ids, strict=True) if any(s.variant is variant for s in c.shadows)]
        for (copy, rid), (predictions, error, seconds) in zip(mine, _predict(variant, [c for c, _ in mine]),
                                                              strict=True):
            rows.extend(_rows(variant, rid, times[id(copy)], predictions, error, seconds, shadow=True,
                              count=len(copy.predictions)))
    return rows


def _predict(variant: LiveVariant, copies: list[Copy]) -> list[tuple[list[Any] | None, str | None, float]]:
    """(predictions, error, seconds) per copy: parsed one by one, predicted in one call (one by
    one again when that call fails, so one bad request does not fail the others)."""
    parsed: list[tuple[list[Any] | None, str | None, float]] = []
    for copy in copies:
        started = time.perf_counter()
        try:
            records, _extra = parse(copy, variant.model)
            parsed.append((records, None, time.perf_counter() - started))
        except Exception as exc:  # noqa: BLE001 — a shadow's bad parse of any kind is that shadow's recorded error, never the caller's
            parsed.append((None, _error(exc), time.perf_counter() - started))
    flat = [r for records, _, _ in parsed if records is not None for r in records]
    started = time.perf_counter()
    try:
        together = _call(variant, flat)
        if len(together) != len(flat):
            raise ValueError("wrong number of predictions")
    except Exception:  # noqa: BLE001 — any failure of the shared call: each request is retried alone
        return [_alone(variant, records, err, s) for records, err, s in parsed]
    took = time.perf_counter() - started
    out: list[tuple[list[Any] | None, str | None, float]] = []
    start = 0
    for part, err, seconds in parsed:
        if part is None:
            out.append((None, err, seconds))
            continue
        out.append((together[start:start + len(part)], None, seconds + took))
        start += len(part)
    return out


def _alone(variant: LiveVariant, records: list[Any] | None, err: str | None,
           seconds: float) -> tuple[list[Any] | None, str | None, float]:
    if records is None:
        return None, err, seconds
    started = time.perf_counter()
    try:
        predictions = _call(variant, records)
        if len(predictions) != len(records):
            raise ValueError(f"the model returned {len(predictions)} predictions for {len(records)} records")
        return predictions, None, seconds + time.perf_counter() - started
    except Exception as exc:  # noqa: BLE001 — a shadow model may raise anything: it is recorded as that request's shadow error
        return None, _error(exc), seconds + time.perf_counter() - started


def _call(variant: LiveVariant, records: list[Any]) -> list[Any]:
    """The shadow model's predictions for `records`, CALL_ROWS at a time."""
    out: list[Any] = []
    for start in range(0, len(records), CALL_ROWS):
        out.extend(variant.model.predict(records[start:start + CALL_ROWS]))
    return out


def _error(exc: Exception) -> str:
    message = getattr(exc, "message", None) or str(exc)
    return f"{type(exc).__name__}: {message}"[:500]


def _rows(variant: LiveVariant, request_id: str, at: datetime, predictions: list[Any] | None,
          error: str | None, seconds: float, *, shadow: bool, count: int = 0) -> list[dict[str, Any]]:
    model = variant.model
    base = {"at": at, "request_id": request_id[:100], "variant": variant.name, "model_name": model.name,
            "model_version": int(model.version), "shadow": shadow, "task": model.describe.get("task"),
            "error": error, "latency_ms": seconds * 1000.0}
    if predictions is None:
        return [{**base, "row": i, "prediction": None} for i in range(max(count, 1))]
    return [{**base, "row": i, "prediction": _scalar(p)} for i, p in enumerate(predictions)]


def _scalar(value: Any) -> float | None:
    """A prediction as one number (a probability or a value); None for what is not one."""
    if isinstance(value, bool):
        return float(value)
    if isinstance(value, int | float):
        return float(value) if value == value else None  # NaN: nothing to compare
    return None
