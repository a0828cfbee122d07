"""Micro-batching: requests that arrive in the same event-loop iteration share one model call.

Under concurrency several requests are parsed before the loop gets back to its queue; instead of
calling the model once per request, each request parks its rows here and the first scheduled flush
predicts them together (XGBoost's per-call cost dominates single-row predictions), then hands every
request its slice. No timer is involved, so a lone request waits for nothing: the flush runs as
soon as the current iteration's callbacks are done. If a batch fails, its requests are predicted
one by one, so one bad request never fails its neighbours.
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from mloop.serving.runtime.served_model import ServedModel

MAX_ROWS = 1024  # requests larger than this are predicted on their own


class Batcher:
    """Collects (model, rows, future) until the next loop iteration."""

    def __init__(self) -> None:
        self._pending: list[tuple[ServedModel, list[Any], asyncio.Future[list[Any]]]] = []
        self._scheduled = False
        self.batches = 0
        self.batched_requests = 0

    def predict(self, model: ServedModel, rows: list[Any]) -> asyncio.Future[list[Any]]:
        """A future of `model.predict(rows)`, computed with this iteration's other requests."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[list[Any]] = loop.create_future()
        if len(rows) > MAX_ROWS:
            _settle(future, model, rows)
            return future
        self._pending.append((model, rows, future))
        if not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return future

    def _flush(self) -> None:
        pending, self._pending, self._scheduled = self._pending, [], False
        groups: dict[int, list[tuple[ServedModel, list[Any], asyncio.Future[list[Any]]]]] = {}
        for item in pending:
            groups.setdefault(id(item[0]), []).append(item)
        for items in groups.values():
            if len(items) == 1:
                _settle(items[0][2], items[0][0], items[0][1])
                continue
            self._together(items)

    def _together(self, items: list[tuple[ServedModel, list[Any], asyncio.Future[list[Any]]]]) -> None:
        model = items[0][0]
        rows = [row for _, part, _ in items for row in part]
        try:
            predictions = model.predict(rows)
        except Exception:  # noqa: BLE001 — a model may raise anything: each request is then retried alone
            for _, part, future in items:
                _settle(future, model, part)
            return
        self.batches += 1
        self.batched_requests += len(items)
        start = 0
        for _, part, future in items:
            if not future.done():
                future.set_result(predictions[start : start + len(part)])
            start += len(part)


def _settle(future: asyncio.Future[list[Any]], model: ServedModel, rows: list[Any]) -> None:
    if future.done():
        return
    try:
        future.set_result(model.predict(rows))
    except Exception as exc:  # noqa: BLE001 — a model may raise anything: it goes to the waiting request
        future.set_exception(exc)
