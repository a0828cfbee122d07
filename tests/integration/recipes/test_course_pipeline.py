"""Seed 003's course project in mloop: `housing` with the course's run parameters on a CSV in
scikit-learn's frame layout, an approval policy, and a Deploy step that puts the version on an
endpoint (or says it waits for approval)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mloop.pipelines import load_artifact, run_pipeline
from tests.support.mlflow_server import install_mlflow_db

pytestmark = pytest.mark.slow

COURSE = {"experiment_name": "e2e-pipeline-user01", "model_name": "california-model-user01",
          "namespace": "kubeflow-user01", "n_estimators": 15, "max_depth": 10, "r2_threshold": 0.5}


@pytest.fixture
def course_ws(workspace_dir: Path, mlflow_template: Path) -> Iterator[Any]:
    from mloop.store import open_workspace

    install_mlflow_db(mlflow_template, workspace_dir)
    with open(workspace_dir / "mloop.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[registry.policies.california-model-user01]\nauto_approve = "r2 >= 0.5"\n')
    ws = open_workspace(workspace_dir)
    yield ws
    ws.close()


def test_course_pipeline_approves_by_policy_and_deploys(course_ws: Any, tmp_path: Path) -> None:
    from mloop import registry, tracking
    from mloop.recipes.datasets.housing import housing
    from mloop.serving import get_endpoint

    ws = course_ws
    csv = tmp_path / "california_housing.csv"
    housing(3000, seed=7).to_csv(csv, index=False)  # sklearn's frame layout: 8 features + MedHouseVal
    record = run_pipeline(ws, "housing", {**COURSE, "data_source": str(csv), "deploy_endpoint": "housing"})
    assert record.status == "Succeeded", record.error
    statuses = {s.name: s.status for s in record.steps}
    for name in ("load", "validate", "preprocess", "feature-engineering", "train", "evaluate",
                 "register", "deploy"):
        assert statuses[name] == "Succeeded", name
    assert statuses["alert"] == "Skipped"

    registered = load_artifact(ws, record.id, "register")
    version = registry.get_version(ws, "california-model-user01", registered["version"])
    assert version.status == "Approved" and version.decided_by == "policy:california-model-user01"
    assert "r2 >= 0.5" in version.comment and "r2=" in version.comment
    trail = registry.history(ws, "california-model-user01", version.version)
    assert [(t.to_status, t.principal) for t in trail][-1] == ("Approved", "policy:california-model-user01")
    from mloop.tracking import mlflow_registry

    assert mlflow_registry.get_version(ws, version.name, version.version)["tags"][
        "mloop.approval_status"] == "Approved"  # MLflow's tag followed

    deployed = load_artifact(ws, record.id, "deploy")
    assert deployed["deployed"] is True and deployed["kserve"]["metadata"]["namespace"] == "kubeflow-user01"
    endpoint = get_endpoint(ws, "housing")
    assert [(v.model_name, v.model_version) for v in endpoint.variants] == [(version.name, version.version)]

    nested = tracking.get_run(ws, record.step("train").mlflow_run_id)
    assert {"importance_MedInc", "importance_dist_to_bay"} <= set(nested["metrics"])
    assert not any(key.startswith("importance.") for key in nested["metrics"])
    assert nested["params"]["max_depth"] == "10" and "learning_rate" not in nested["params"]


def test_without_a_policy_deploy_says_the_version_waits(course_ws: Any) -> None:
    from mloop import registry

    ws = course_ws
    record = run_pipeline(ws, "housing", {**COURSE, "data_source": "synthetic:2000", "model_name": "manual",
                                          "deploy_endpoint": "housing"})
    assert record.status == "Succeeded", record.error
    deployed = load_artifact(ws, record.id, "deploy")
    assert deployed["deployed"] is False and "waits for approval" in deployed["message"]
    assert "mloop models approve manual" in deployed["message"]
    assert registry.get_version(ws, "manual", deployed["version"]).status == "PendingManualApproval"
