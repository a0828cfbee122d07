from __future__ import annotations

from typing import Any

from mloop.pipelines import run_pipeline
from tests.support import example_pipeline as ex


def test_parent_run_and_nested_training_run(workspace: Any) -> None:
    from mloop import tracking

    record = run_pipeline(workspace, ex.example, {"experiment_name": "exp-hook"})
    assert record.status == "Succeeded", record.error
    assert record.experiment == "exp-hook"
    parent = tracking.get_run(workspace, record.mlflow_run_id)
    assert parent["params"]["depth"] == "3"
    assert parent["tags"]["mloop.run_id"] == record.id
    assert parent["tags"]["mloop.pipeline"] == "example"
    train = record.step("train")
    nested = tracking.get_run(workspace, train.mlflow_run_id)
    assert nested["tags"]["mlflow.parentRunId"] == record.mlflow_run_id
    assert nested["metrics"]["importance.x"] == 0.7
    assert nested["params"]["depth"] == "3"
    assert nested["status"] == "FINISHED" and parent["status"] == "FINISHED"
    cached = run_pipeline(workspace, ex.example, {"experiment_name": "exp-hook"})
    assert cached.step("train").status == "Cached"
    assert cached.step("train").mlflow_run_id == train.mlflow_run_id
    # still an MLflow parent run, linking the cached step runs and carrying their metrics
    assert cached.mlflow_run_id and cached.mlflow_run_id != record.mlflow_run_id
    again = tracking.get_run(workspace, cached.mlflow_run_id)
    assert again["metrics"]["train.importance.x"] == 0.7 and again["params"]["depth"] == "3"
    assert train.mlflow_run_id in again["tags"]["mloop.cached.train"]
    assert again["status"] == "FINISHED"
