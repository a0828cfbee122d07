"""Experiments on every metadata backend (SQLite, PostgreSQL): records, looks, one decision."""

from __future__ import annotations

import uuid
from pathlib import Path

from mloop import experiments, serving
from tests.support.experiments import app_groups, make_endpoint, traffic


def test_an_experiment_decides_once_and_keeps_its_looks(workspace_dir: Path, database_url: str) -> None:
    from mloop.store import open_workspace

    ws = open_workspace(workspace_dir, database_url=database_url)
    name = f"ep-{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by the session
    try:
        make_endpoint(ws, name)
        store = app_groups(ws)
        exp = experiments.start(ws, name, ["production", "canary"], auto_promote=True, min_samples=500)
        traffic(store, {"production": 0.10, "canary": 0.10}, 300, seed=1, endpoint=name)
        assert experiments.evaluate(ws, exp.id)["decision"] == "running"
        traffic(store, {"production": 0.05, "canary": 0.20}, 900, seed=2, endpoint=name)
        first, second = experiments.evaluate(ws, exp.id), experiments.evaluate(ws, exp.id)
        assert first["decision"] == second["decision"] == "winner:canary"
        assert [look["counts"]["canary"][0] for look in first["looks"]] == [300, 1200]  # unchanged: not stored
        assert [h["action"] for h in serving.history(ws, name)] == ["experiment", "deploy"]
        assert experiments.get_experiment(ws, exp.id).started_at.tzinfo is not None  # type: ignore[union-attr]
        assert [e.id for e in experiments.list_experiments(ws, endpoint=name, status="decided")] == [exp.id]
    finally:
        ws.close()
