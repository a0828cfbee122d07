"""Experiment test helpers: an endpoint of two variants, the app's groups, simulated users."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np

ENDPOINT = "ad-click"


def make_endpoint(ws: Any, name: str = ENDPOINT, weights: tuple[int, int] = (50, 50)) -> None:
    """An endpoint with production (v1) and canary (v2), written through the endpoint's write path
    (no registry: these tests are about experiments, not deploys)."""
    from mloop.serving.endpoints import Variant, apply_change

    variants = [Variant("production", "ctr-model", 1, "models:/ctr-model/1", weights[0]),
                Variant("canary", "ctr-model", 2, "models:/ctr-model/2", weights[1])]
    apply_change(ws, name, lambda _: (variants, "deploy", {}), principal="tester", create=True)


def app_groups(ws: Any) -> Any:
    from mloop.web.inference.store import InteractionStore

    store = InteractionStore(ws, ws.settings.app)
    store.ensure_groups()
    return store


def traffic(store: Any, rates: dict[str, float], n: int, *, seed: int = 0, answer_rate: float = 1.0,
            at: datetime | None = None, endpoint: str = ENDPOINT) -> dict[str, int]:
    """Write `n` predictions per variant with true click rates, and the users' feedback, through
    the app's own store (what `/api/predict` and `/api/feedback` write)."""
    rng = np.random.default_rng(seed)
    at = at or datetime.now(UTC)
    versions = {"production": 1, "canary": 2}
    interactions, feedback, clicks = [], [], {}
    for variant, rate in rates.items():
        clicked = rng.random(n) < rate
        answered = rng.random(n) < answer_rate
        clicks[variant] = int((clicked & answered).sum())
        for i in range(n):
            rid = uuid.uuid4().hex
            when = at + timedelta(microseconds=i)
            interactions.append({"request_id": rid, "event_time": when, "prediction": 0.1,
                                 "model_name": "ctr-model", "model_version": versions[variant],
                                 "variant": variant, "latency_ms": 1.0, "endpoint": endpoint})
            if answered[i]:
                feedback.append({"request_id": rid, "event_time": when + timedelta(seconds=5),
                                 "clicked": int(clicked[i]), "model_version": versions[variant],
                                 "variant": variant})
    store.write_interactions(interactions)
    if feedback:
        store.write_feedback(feedback)
    return clicks
