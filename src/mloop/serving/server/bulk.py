"""Very large requests are parsed and predicted in a separate process.

A worker thread keeps a big request off the event loop but not off the interpreter lock: parsing
a 5 MB JSON body is one `orjson.loads` call that holds the lock for a few hundred milliseconds,
and every small request waits behind it. Bodies above `serving.process_bytes` therefore go to a
process of their own (one per server process, started on the first such request, at a lower CPU
priority so that the operating system runs small requests first). It loads the same model directory the
server loaded (verified there; the worker only reads it), keeps the last two, and runs the same
parse, input check, policy and render code as `handler.predict`; the server chooses the variant
and records the metrics (and hands shadows their copy), so routing, the guardrails, `/metrics`
and shadow variants see these requests too.

Models without a local mloop model directory (MLflow pyfunc models) stay on worker threads.
"""

from __future__ import annotations

import asyncio
import logging
import os
import threading
import time
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path
from typing import TYPE_CHECKING, Any, NamedTuple

from mloop.errors import MloopError
from mloop.serving.runtime.served_model import ServedModel, load_served
from mloop.serving.runtime.shadow_tap import copy_for_shadows
from mloop.serving.server import handler, input_policy
from mloop.serving.server.protocols import parse

if TYPE_CHECKING:
    from collections import Counter

    from mloop.serving.runtime.live import LiveEndpoint
    from mloop.serving.server.metrics import ServerMetrics

log = logging.getLogger("mloop.serving")

NICENESS = 5  # below the server's priority, so small requests run first (at 10, big ones nearly starved at load 16)


class Call(NamedTuple):
    """What the worker needs to answer one request (picklable)."""

    path: str
    name: str
    version: int
    model_uri: str
    request: handler.Request
    policy: str
    variant: str
    shadows: bool  # the endpoint has shadows: send the predictions back for their copy


class Answer(NamedTuple):
    status: int
    body: bytes
    content_type: bytes
    headers: list[tuple[bytes, bytes]]
    issues: Counter[tuple[str, str]] | None
    rows: int
    predictions: list[Any] | None = None  # with `Call.shadows`, of an answered request
    extra: Any = None


class _Variant(NamedTuple):
    """The parts of a `LiveVariant` the handler's helpers read."""

    name: str
    version: str
    model: ServedModel
    headers: list[tuple[bytes, bytes]]


class _Deployment(NamedTuple):
    input_policy: str


_models: dict[str, ServedModel] = {}


def _start(parent: int) -> None:
    """In the worker: lower its priority, and end it when the server process is gone (a stopped
    or killed server must not leave its worker behind; a pool worker would wait forever)."""
    os.nice(NICENESS)

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="mloop-bulk-parent", daemon=True).start()


def _model(call: Call) -> ServedModel:
    found = _models.get(call.path)
    if found is None:
        found = load_served(Path(call.path), call.name, call.version, call.model_uri)
        while len(_models) >= 2:
            _models.pop(next(iter(_models)))
        _models[call.path] = found
    return found


def run(call: Call) -> Answer:
    """In the worker process: parse, check, predict and render one request (never raises)."""
    variant = _Variant(call.variant, str(call.version), _model(call), [])
    findings: list[Any] = []
    rows = handler.UNTIMED
    predictions: list[Any] | None = None
    extra: Any = None
    try:
        records, extra = parse(call.request, variant.model)
        rows = len(records)
        findings = handler._inspect(variant, None, records)  # type: ignore[arg-type]
        handler._enforce(variant, _Deployment(call.policy), findings)  # type: ignore[arg-type]
        predictions = variant.model.predict(records)
        status, body, ctype, headers = handler._render(variant, call.request,  # type: ignore[arg-type]
                                                       predictions, extra, findings)
    except Exception as exc:  # noqa: BLE001 — any failure of a model becomes its HTTP answer, as on the server
        status, body, ctype, headers = handler._failure(variant, exc)  # type: ignore[arg-type]
        predictions = None
    issues = input_policy.counts(findings) if findings else None
    if call.shadows and predictions is not None:
        return Answer(status, body, ctype, headers, issues, rows, predictions, extra)
    return Answer(status, body, ctype, headers, issues, rows)


class BulkPool:
    """One worker process for requests above `min_bytes` (0: never)."""

    def __init__(self, min_bytes: int) -> None:
        self.min_bytes = min_bytes
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self.sent = 0

    def wanted(self, body: bytes) -> bool:
        return 0 < self.min_bytes < len(body)

    def start(self) -> ProcessPoolExecutor:
        """The worker process, started on first use (blocks while its interpreter starts: call it
        off the event loop)."""
        with self._lock:
            if self._pool is None:
                import multiprocessing

                # spawn: the server has threads (configuration poller, metrics); fork would copy their locks
                pool = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"), initializer=_start,
                                           initargs=(os.getpid(),))
                pool.submit(_start_models).result(timeout=120)
                self._pool = pool
            return self._pool

    async def predict(self, live: LiveEndpoint, metrics: ServerMetrics | None,
                      req: handler.Request) -> handler.Response | None:
        """The answer from the worker process; None when this request's model must stay here."""
        started = time.perf_counter()
        dep = live.current
        try:
            variant = handler.choose(live, dep, req)
        except MloopError as exc:
            return handler.error_response(exc)
        path = variant.model.path
        if path is None:
            return None
        pool = self._pool or await asyncio.to_thread(self.start)
        shadows = dep is not None and bool(dep.shadows)
        call = Call(str(path), variant.model.name, variant.model.version, variant.model.model_uri,
                    _tokenless(req), dep.input_policy if dep is not None else "warn", variant.name, shadows)
        try:
            answer = await asyncio.get_running_loop().run_in_executor(pool, run, call)
        except BrokenProcessPool:  # the worker died (out of memory?): a new one for the next request
            log.warning("the bulk worker process died; starting a new one")
            with self._lock:
                self._pool = None
            return None
        self.sent += 1
        if shadows and answer.predictions is not None:  # handed to them once the caller has its answer
            assert dep is not None
            req.shadow_copy = copy_for_shadows(dep, variant, req, answer.predictions, started, answer.extra)
        handler.record(variant, metrics, answer.status, started, answer.issues, answer.rows)
        return answer.status, answer.body, answer.content_type, [*variant.headers, *answer.headers]

    def close(self) -> None:
        with self._lock:
            if self._pool is not None:
                self._pool.shutdown(wait=False, cancel_futures=True)
                self._pool = None


def _start_models() -> None:
    """Import the model and protocol code in the worker before the first request."""
    import mloop.model_format  # noqa: F401 (the protocols came with this module)


def _tokenless(req: handler.Request) -> handler.Request:
    """The request without its routing key, target and token (the variant is chosen; a token
    never leaves the server process)."""
    return handler.Request(req.protocol, req.body, req.content_type, req.accept, None, None, req.model,
                           req.version, None)
