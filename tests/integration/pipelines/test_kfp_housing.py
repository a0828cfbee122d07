"""Seed 003's course pipeline in the KFP SDK: run on mloop, MLflow, registry, serving the model."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mloop.pipelines import run_pipeline, step_logs

ROOT = Path(__file__).resolve().parents[3]
PIPELINE = f"{ROOT / 'examples' / 'kfp' / 'housing_pipeline.py'}:pipeline"
pytestmark = pytest.mark.slow


def test_housing_kfp_pipeline_registers_a_servable_model_or_alerts(workspace: Any) -> None:
    from mloop import registry, tracking
    from mloop.pipelines.kfp_frontend.registry import register_from_run
    from mloop.recipes.datasets.housing import housing

    rows = housing(800, seed=3)
    rows.to_csv(workspace.root / "housing.csv", index=False)  # read by path, relative to the workspace
    params = {"data_path": "housing.csv", "n_estimators": 10, "max_depth": 6, "r2_threshold": 0.3}
    record = run_pipeline(workspace, PIPELINE, params, principal="Ana")
    assert record.status == "Succeeded", record.error
    assert record.step("evaluate").metrics["r2"] > 0.3
    train = record.step("train-model")
    assert train.mlflow_run_id  # the component's mlflow.start_run() resumed the step's nested run
    logged = tracking.get_run(workspace, train.mlflow_run_id)
    assert logged["params"]["n_estimators"] == "10" and "importance.MedInc" in logged["metrics"]
    assert "registered housing-kfp v1" in step_logs(workspace, record.id)["condition-branches-1"]
    # the component's process registered it for the run's principal, not its own configured name
    assert registry.get_version(workspace, "housing-kfp", 1).registered_by == "ana"

    version = register_from_run(workspace, "housing-cli", record.id, "train-model", "model")
    assert version.status == "PendingManualApproval"
    assert version.metadata["pipeline_run"] == record.id
    model = tracking.load_pyfunc(workspace, version.model_uri)
    raw = rows.drop(columns=["MedHouseVal"]).head(3)  # raw records: derived features computed inside
    assert len(model.predict(raw)) == 3
    assert [v.version for v in registry.versions(workspace, "housing-kfp")] == [1]

    gated = run_pipeline(workspace, PIPELINE, {**params, "r2_threshold": 0.999}, tracking=False)
    assert gated.status == "Succeeded", gated.error
    assert "ALERT: housing-kfp" in step_logs(workspace, gated.id)["condition-branches-1"]
    assert [s.status for s in gated.steps][:5] == ["Cached"] * 5  # same data, same content
