"""The reference pipelines end to end: on the embedded workspace, and on PostgreSQL + S3 (moto)
+ a remote `mlflow server`. Small data and few trees: these test the loop, not the models."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mloop.pipelines import get_run, load_artifact, run_pipeline

pytestmark = pytest.mark.slow

AD_PARAMS = {"n_estimators": 30, "max_depth": 3, "auc_threshold": 0.6}
HOUSING_PARAMS = {"data_source": "synthetic:3000", "n_estimators": 15, "max_depth": 8, "r2_threshold": 0.5}


def _ad_clicks_group(ws: Any, name: str, rows: int = 4000) -> None:
    from mloop.features import create_group, ingest
    from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec

    create_group(ws, ad_clicks_spec(name))
    path = ws.root / f"{name}.csv"
    ad_clicks(rows, seed=1).to_csv(path, index=False)
    ingest(ws, path, name)


def _statuses(record: Any) -> dict[str, str]:
    return {s.name: s.status for s in record.steps}


def _check_registered(ws: Any, record: Any, name: str, metric: str) -> dict[str, Any]:
    from mloop import registry, tracking

    assert record.status == "Succeeded", record.error
    assert _statuses(record)["register"] == "Succeeded" and _statuses(record)["alert"] == "Skipped"
    out = load_artifact(ws, record.id, "register")
    version = registry.get_version(ws, name, out["version"])
    assert version.status == "PendingManualApproval"
    assert version.metrics[metric] == pytest.approx(record.step("evaluate").metrics[metric])
    assert version.metadata["pipeline_run_id"] == record.id
    # the registered MLflow model scores raw rows exactly like the pipeline's model artifact
    model = load_artifact(ws, record.id, "train", "model")
    test = load_artifact(ws, record.id, "preprocess", "test").head(25)
    pyfunc = tracking.load_pyfunc(ws, version.model_uri)
    np.testing.assert_allclose(np.asarray(pyfunc.predict(model.input_example(test, 25))),
                               model.predict_frame(test), atol=1e-6)
    return out


def test_ad_click_ctr_registers_caches_and_alerts(ml_workspace: Any) -> None:
    from mloop.alerts import list_alerts

    ws = ml_workspace
    _ad_clicks_group(ws, "ad-clicks")
    first = run_pipeline(ws, "ad-click-ctr", AD_PARAMS)
    _check_registered(ws, first, "ad-click-ctr", "auc")
    assert first.step("evaluate").metrics["auc"] > 0.65
    assert first.mlflow_run_id and first.step("train").model_uri

    again = run_pipeline(ws, "ad-click-ctr", AD_PARAMS)
    statuses = _statuses(again)
    assert {statuses[s] for s in ("extract", "validate", "preprocess", "train", "evaluate")} == {"Cached"}
    assert statuses["register"] == "Succeeded"

    failing = run_pipeline(ws, "ad-click-ctr", {**AD_PARAMS, "auc_threshold": 0.99})
    assert failing.status == "Succeeded"
    assert _statuses(failing)["register"] == "Skipped" and _statuses(failing)["alert"] == "Succeeded"
    alert = list_alerts(ws, limit=1)[0]
    assert "below the threshold 0.99" in alert.title and alert.detail["pipeline_run_id"] == failing.id


def test_housing_on_synthetic_rows_serves_raw_records(ml_workspace: Any) -> None:
    from mloop.recipes.datasets.housing import FEATURES, housing

    ws = ml_workspace
    record = run_pipeline(ws, "housing", HOUSING_PARAMS)
    _check_registered(ws, record, "housing", "r2")
    assert record.step("evaluate").metrics["r2"] > 0.6
    model = load_artifact(ws, record.id, "train", "model")
    assert model.metadata["synthetic"] is True and model.task == "regression"
    from mloop import tracking

    mlflow_run = tracking.get_run(ws, record.step("train").mlflow_run_id)
    assert "SYNTHETIC" in mlflow_run["tags"]["mloop.dataset"]
    assert mlflow_run["params"]["dataset"] == "synthetic:3000"
    assert any(key.startswith("importance_") for key in mlflow_run["metrics"])  # seed 003 names
    assert set(model.feature_names) == set(FEATURES)  # derived features are computed inside
    rows = housing(5, seed=99)[FEATURES]
    np.testing.assert_allclose(model.predict_records(rows.values.tolist()), model.predict_frame(rows), atol=1e-6)


def test_tabular_infers_the_task_and_stops_on_bad_data(ml_workspace: Any, tmp_path: Path) -> None:
    from mloop.recipes.datasets.housing import housing

    ws = ml_workspace
    csv = tmp_path / "houses.csv"
    housing(1500, seed=5).to_csv(csv, index=False)
    regression = run_pipeline(ws, "tabular", {"data_source": str(csv), "target": "MedHouseVal",
                                              "n_estimators": 40, "threshold": 0.5, "model_name": "houses"})
    _check_registered(ws, regression, "houses", "r2")
    assert regression.step("evaluate").metrics["score"] == regression.step("evaluate").metrics["r2"]

    _ad_clicks_group(ws, "clicks", rows=1500)
    classification = run_pipeline(ws, "tabular", {"feature_group": "clicks", "target": "click",
                                                  "n_estimators": 20, "threshold": 0.55, "model_name": "clicks"})
    _check_registered(ws, classification, "clicks", "auc")

    tiny = tmp_path / "tiny.csv"
    housing(40, seed=1).to_csv(tiny, index=False)
    failed = run_pipeline(ws, "tabular", {"data_source": str(tiny), "target": "MedHouseVal"})
    assert failed.status == "Failed" and _statuses(failed)["validate"] == "Failed"
    message = failed.step("validate").message
    assert "validation failed" in message and "40 rows (minimum 100)" in message
    assert _statuses(failed)["train"] in ("Pending", "Skipped", "Stopped")
    uri = message.split("(report: ")[1].rstrip(")")
    from mloop.pipelines import step_logs

    assert uri in step_logs(ws, failed.id, "validate")["validate"]
    digest = uri.rstrip("/").rsplit("/", 1)[-1]
    report = json.loads(ws.artifacts.get_bytes(digest))
    assert report["passed"] is False and report["rows"] == 40


@pytest.mark.postgres
@pytest.mark.s3
def test_reference_pipelines_on_postgres_s3_and_remote_mlflow(
    workspace_dir: Path, pg_url: str, s3_root: str, s3_endpoint: str, recipes_mlflow_url: str,
) -> None:
    from mloop.store import open_workspace

    ws = open_workspace(workspace_dir, database_url=pg_url, artifact_root=s3_root,
                        s3_endpoint_url=s3_endpoint, tracking_uri=recipes_mlflow_url)
    try:
        suffix = uuid.uuid4().hex[:8]
        group, ad_model, house_model = f"ad-clicks-{suffix}", f"ctr-{suffix}", f"housing-{suffix}"
        _ad_clicks_group(ws, group, rows=3000)
        ad = run_pipeline(ws, "ad-click-ctr", {**AD_PARAMS, "feature_group": group, "model_name": ad_model})
        _check_registered(ws, ad, ad_model, "auc")
        assert ws.artifacts.uri(ad.step("train").outputs["model"]["digest"]).startswith("s3://")
        again = run_pipeline(ws, "ad-click-ctr", {**AD_PARAMS, "feature_group": group, "model_name": ad_model})
        assert _statuses(again)["train"] == "Cached"
        house = run_pipeline(ws, "housing", {**HOUSING_PARAMS, "model_name": house_model})
        _check_registered(ws, house, house_model, "r2")
        tab = run_pipeline(ws, "tabular", {"feature_group": group, "target": "click", "n_estimators": 15,
                                           "threshold": 0.99, "model_name": f"tab-{suffix}"})
        assert _statuses(tab)["alert"] == "Succeeded" and _statuses(tab)["register"] == "Skipped"
        assert get_run(ws, tab.id).status == "Succeeded"
    finally:
        ws.close()
