"""Retraining on the loop: ad-click-ctr trains on logged interactions joined with feedback point in
time, and lineage shows the interactions group and its data version as an input of the run."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from mloop.config import AppSettings
from mloop.demo.traffic import users
from mloop.web.inference.store import InteractionStore

pytestmark = pytest.mark.slow
PARAMS = {"n_estimators": 10, "max_depth": 3, "auc_threshold": 0.0, "model_name": "ctr-loop"}


def seed_loop(ws: Any, n: int = 400) -> int:
    """n logged predictions; feedback for each: in the window, too late, or before the prediction."""
    from mloop.features import create_group, ingest
    from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec

    create_group(ws, ad_clicks_spec("ad-clicks"))
    path = ws.root / "ad.csv"
    ad_clicks(1500, seed=3).to_csv(path, index=False)
    ingest(ws, path, "ad-clicks")
    store = InteractionStore(ws, AppSettings())
    store.ensure_groups()
    t0 = datetime.now(UTC) - timedelta(hours=3)
    records = users(n, seed=9)
    store.write_interactions([{"request_id": f"r{i}", "event_time": t0, **r, "prediction": 0.5,
                               "model_name": "ctr-loop", "model_version": 1, "variant": "production",
                               "latency_ms": 1.0, "endpoint": "ctr"} for i, r in enumerate(records)])
    delays = [timedelta(minutes=10), timedelta(hours=2), timedelta(seconds=-5)]
    feedback = [{"request_id": f"r{i}", "event_time": t0 + delays[i % 3],
                 "clicked": int(r["ad_position"] == "Top" or r["device_type"] == "Mobile")}
                for i, r in enumerate(records)]
    store.write_feedback(feedback)
    from mloop.features import flush_records

    for group in ("user-interactions", "user-feedback"):  # what the app's flusher does over time
        flush_records(ws, group)
    return sum(1 for i in range(n) if i % 3 == 0)


def test_training_on_interactions_is_point_in_time_and_in_lineage(workspace: Any) -> None:
    from mloop import lineage, registry
    from mloop.pipelines import run_pipeline

    labelled = seed_loop(workspace)
    params = {**PARAMS, "training_source": "interactions", "label_window": "1h",
              "interactions_group": "user-interactions", "feedback_group": "user-feedback"}
    record = run_pipeline(workspace, "ad-click-ctr", params)
    assert record.status == "Succeeded", record.error
    metrics = record.step("join_interactions").metrics
    assert metrics["labelled_interactions"] == labelled == metrics["training_rows"]
    version = registry.versions(workspace, "ctr-loop")[-1]
    assert version.status == "PendingManualApproval"
    graph = lineage.pipeline(workspace, "ad-click-ctr", run_id=record.id)
    nodes = {n["id"]: n for n in graph["graph"]["nodes"]}
    inputs = {i["name"]: i for i in nodes["join_interactions"]["inputs"]}
    assert inputs["user-interactions"]["dataVersion"] >= 1 and inputs["user-feedback"]["dataVersion"] >= 1
    chain = lineage.model(workspace, "ctr-loop", version.version)
    assert {"ad-clicks", "user-interactions", "user-feedback"} <= {g["name"] for g in chain["featureGroups"]}
    # features-only (the default) reads no interactions: tests/integration/lineage/test_reference_pipeline.py
    # pins its featureGroups to exactly the ad-clicks group.
