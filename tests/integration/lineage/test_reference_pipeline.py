"""Lineage of the reference pipeline `ad-click-ctr` as a user gets it: run, approve, deploy,
then ask the control plane. The seed 004 schema is checked against the real response."""

from __future__ import annotations

from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from mloop.lineage.schema import component
from mloop.store import open_workspace
from mloop.web import create_app

PARAMS = {"n_estimators": 20, "max_depth": 3, "learning_rate": 0.3, "auc_threshold": 0.5, "model_name": "ctr-lin"}


@pytest.fixture(scope="module")
def trained(tmp_path_factory: pytest.TempPathFactory) -> Any:
    from mloop.config import init_workspace
    from mloop.features import create_group, ingest
    from mloop.pipelines import run_pipeline
    from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec

    root = tmp_path_factory.mktemp("ref") / "ws"
    init_workspace(root)
    ws = open_workspace(root, principal="tester")
    create_group(ws, ad_clicks_spec("ad-clicks"))
    csv = root / "clicks.csv"
    ad_clicks(3000, seed=3).to_csv(csv, index=False)
    ingest(ws, csv, "ad-clicks")
    record = run_pipeline(ws, "ad-click-ctr", PARAMS)
    assert record.status == "Succeeded", record.error
    yield ws, record
    ws.close()


@pytest.mark.slow
def test_reference_pipeline_lineage_over_http(trained: Any) -> None:
    ws, record = trained
    with TestClient(create_app(ws)) as client:
        got = client.get("/lineage", params={"pipeline": "ad-click-ctr", "includeLatestExec": "true"})
    assert got.status_code == 200
    data = got.json()
    jsonschema.validate(data, component("lineage"))
    assert data["summary"]["overallStatus"] == "Succeeded" and data["summary"]["elapsedSec"] > 0
    assert data["execution"]["runId"] == record.id
    nodes = {n["id"]: n for n in data["graph"]["nodes"]}
    train = nodes["train"]
    assert train["type"] == "Training" and train["run"]["status"] == "Succeeded"
    assert train["run"]["elapsedSec"] > 0 and train["run"]["metrics"]
    assert nodes["evaluate"]["run"]["metrics"]["auc"] > 0.5
    assert nodes["register"]["type"] == "RegisterModel" and nodes["alert"]["run"]["status"] == "Skipped"
    assert nodes["deploy"]["type"] == "Deploy" and nodes["deploy"]["run"]["status"] == "Succeeded"
    assert any(o["uri"] and o["uri"].startswith("models:/") for o in train["outputs"])
    assert nodes["extract"]["inputs"][0] == {"name": "ad-clicks", "uri": "mloop://feature-groups/ad-clicks",
                                             "from": "feature-group", "dataVersion": 1}
    vias = {e["via"] for e in data["graph"]["edges"]}
    assert {"ref:Get", "condition"} <= vias
    assert {a["digest"] for a in data["graph"]["artifacts"]} >= {o["digest"] for o in train["outputs"] if "digest" in o}


@pytest.mark.slow
def test_model_and_endpoint_lineage(trained: Any) -> None:
    from mloop import lineage, registry
    from mloop.serving import deploy

    ws, record = trained
    version = registry.versions(ws, "ctr-lin")[-1].version
    registry.approve(ws, "ctr-lin", version, principal="amy", comment="AUC fine")
    deploy(ws, "ctr-lin-ep", "ctr-lin", version=version)
    chain = lineage.model(ws, "ctr-lin", version)
    jsonschema.validate(chain, component("model"))
    assert chain["model"]["status"] == "Approved"
    assert [a["to"] for a in chain["approvals"]] == ["PendingManualApproval", "Approved"]
    assert chain["approvals"][-1]["principal"] == "amy"
    assert chain["run"]["runId"] == record.id and chain["run"]["step"] == "register"
    assert any(d["name"].startswith("extract.") for d in chain["data"])
    assert chain["featureGroups"] == [{"name": "ad-clicks", "step": "extract", "dataVersion": 1,
                                       "uri": "mloop://feature-groups/ad-clicks"}]
    assert chain["deployments"] == [{"endpoint": "ctr-lin-ep", "variant": "production", "weight": 100,
                                     "deployedAt": chain["deployments"][0]["deployedAt"]}]
    ep = lineage.endpoint(ws, "ctr-lin-ep")
    jsonschema.validate(ep, component("endpoint"))
    assert ep["variants"][0]["lineage"]["run"]["runId"] == record.id


@pytest.mark.slow
def test_housing_lineage_matches_the_seed_schema(trained: Any) -> None:
    from mloop import lineage
    from mloop.pipelines import run_pipeline

    ws, _ = trained
    params = {"data_source": "synthetic:2000", "n_estimators": 5, "max_depth": 6, "r2_threshold": 0.99,
              "model_name": "housing-lin"}
    record = run_pipeline(ws, "housing", params)
    assert record.status == "Succeeded", record.error
    data = lineage.pipeline(ws, "housing")
    jsonschema.validate(data, component("lineage"))
    nodes = {n["id"]: n for n in data["graph"]["nodes"]}
    assert nodes["train"]["type"] == "Training" and nodes["train"]["run"]["metrics"]
    assert nodes["register"]["run"]["status"] == "Skipped"  # R² below 0.99: the gate alerts instead
    assert nodes["alert"]["type"] == "Alert" and nodes["alert"]["run"]["status"] == "Succeeded"
    assert "r2" in nodes["evaluate"]["run"]["metrics"]
    assert nodes["deploy"]["type"] == "Deploy" and nodes["deploy"]["run"]["status"] == "Skipped"
    assert data["summary"]["nodeStatus"]["Skipped"] == 2  # register and deploy
