"""Small pipelines built with the engine's DSL, for lineage and control-plane tests (importable by func ref)."""

from __future__ import annotations

import threading
import uuid
from typing import Any

from mloop.pipelines import Else, If, current_context, pipeline, step

GATE = threading.Event()  # `slow` waits on it: lets a test look at a run still executing
GATE.set()


@step
def load(n: int) -> dict:
    return {"rows": list(range(n))}


@step(outputs=["train", "test"])
def split(data: dict) -> tuple[dict, dict]:
    rows = data["rows"]
    return {"rows": rows[: len(rows) // 2]}, {"rows": rows[len(rows) // 2:]}


@step(kind="Training")
def train(train: dict, depth: int) -> dict:
    current_context().log_metrics({"train:auc": 0.72, "validation:auc": 0.63})
    return {"weights": [depth] * 3, "n": len(train["rows"])}


@step(kind="Evaluation")
def evaluate(model: dict, test: dict, fail: bool) -> dict:
    if fail:
        raise ValueError("evaluation data is empty")
    current_context().log_metrics({"auc": 0.81})
    return {"auc": 0.81}


@step(kind="RegisterModel")
def register(model: dict, report: dict) -> dict:
    return {"registered": True}


@step(kind="Alert")
def alert(report: dict) -> dict:
    return {"alerted": True}


@step
def audit(n: int) -> dict:
    GATE.wait(30)
    return {"audited": n}


def _small(n: int = 10, threshold: float = 0.5, fail: bool = False) -> None:
    data = load(n)
    tr, te = split(data)
    model = train(tr, 3)
    report = evaluate(model, te, fail)
    with If(report["auc"] >= threshold):
        register(model, report)
    with Else():
        alert(report)
    audit(n).after(model)


small = pipeline(name="small-ctr")(_small)


def make_small(name: str | None = None) -> Any:
    """The same pipeline under a unique name (the PostgreSQL test database is shared)."""
    return pipeline(name=name or f"small-{uuid.uuid4().hex[:8]}")(_small)


def run_small_pipeline(ws: Any, target: Any = None, **params: Any) -> Any:
    """Run `small` (or `target`) without MLflow (fast) and return its run record.

    `n` defaults to a value unique to this call, so no other test's run is a cache hit.
    """
    from mloop.pipelines import run_pipeline

    params.setdefault("n", 20 + uuid.uuid4().int % 5000)
    return run_pipeline(ws, target or small, params, tracking=False)
