"""A nested MLflow run per KFP task under the pipeline run's parent, read back with MLflow's client."""

import hashlib
from pathlib import Path
from typing import Any

import pytest

from mloop.pipelines import run_pipeline

MODULE = "tests.unit.pipelines.kfp_frontend.kfp_example"
pytestmark = pytest.mark.slow  # the first KFP run starts the warm worker (imports kfp)


def _children(ws: Any, parent_id: str) -> dict[str, Any]:
    from mlflow.tracking import MlflowClient

    from mloop.tracking.client import tracking_uri

    client = MlflowClient(tracking_uri(ws))
    parent = client.get_run(parent_id)
    found = client.search_runs([parent.info.experiment_id],
                               filter_string=f"tags.mlflow.parentRunId = '{parent_id}'")
    return {r.data.tags["mloop.kfp.task"]: r for r in found}


def test_every_task_gets_a_nested_run_with_inputs_metrics_and_output_digests(workspace: Any) -> None:
    record = run_pipeline(workspace, f"{MODULE}:tracked")
    assert record.status == "Succeeded", record.error
    runs = _children(workspace, str(record.mlflow_run_id))
    assert set(runs) == {"make-rows", "train", "condition-1/say",
                         "for-loop-3[0]/log-with-mlflow", "for-loop-3[1]/log-with-mlflow"}
    assert {r.info.status for r in runs.values()} == {"FINISHED"}
    train = runs["train"]
    assert train.data.params["scale"] == "2.0"
    assert train.data.metrics["total"] == 12.0  # the Metrics artifact's value
    assert train.data.tags["mloop.output.model"] == "sha256:" + hashlib.sha256(b"12.0").hexdigest()
    assert train.data.tags["mloop.output.Output"] == "sha256:" + hashlib.sha256(b"12.0").hexdigest()
    assert record.step("train").mlflow_run_id == train.info.run_id  # `runs show` links it
    assert runs["make-rows"].data.params["n"] == "4"
    assert runs["condition-1/say"].data.params["message"] == "big"
    # the component's own mlflow calls land in its task's run (MLFLOW_RUN_ID)
    assert runs["for-loop-3[1]/log-with-mlflow"].data.metrics["from_component"] == 2.0
    assert runs["for-loop-3[1]/log-with-mlflow"].data.params["x"] == "2"


def test_a_failed_task_ends_its_nested_run_failed(workspace: Any, tmp_path: Path) -> None:
    counter = tmp_path / "count"
    record = run_pipeline(workspace, f"{MODULE}:retrying", {"counter_path": str(counter), "fail_times": 5})
    assert record.status == "Failed"
    runs = _children(workspace, str(record.mlflow_run_id))
    assert runs["flaky"].info.status == "FAILED"
    assert runs["flaky"].data.params["counter_path"] == str(counter)
    assert "mloop.output.Output" not in runs["flaky"].data.tags
