"""`GET /lineage...` over HTTP as a front end calls it: the seed's bodies for every outcome."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from fastapi.testclient import TestClient

from mloop import lineage
from mloop.lineage.schema import component
from mloop.store import open_workspace
from mloop.web import create_app
from tests.support.lineage_pipelines import make_small, run_small_pipeline


@pytest.fixture
def env(workspace_dir: Path) -> Iterator[tuple[TestClient, Any, Any]]:
    ws = open_workspace(workspace_dir)
    small = make_small()
    run = run_small_pipeline(ws, small)
    with TestClient(create_app(ws), raise_server_exceptions=False) as client:
        yield client, ws, (small.name, run)
    ws.close()


def test_lineage_over_http_equals_the_library(env: tuple[TestClient, Any, Any]) -> None:
    client, ws, (name, run) = env
    got = client.get("/lineage", params={"pipeline": name, "includeLatestExec": "true"})
    assert got.status_code == 200 and got.headers["content-type"] == "application/json"
    body = got.json()
    jsonschema.validate(body, component("lineage"))
    assert body == lineage.pipeline(ws, name)
    assert client.get("/lineage", params={"pipeline": name, "runId": run.id}).json()["execution"]["runId"] == run.id
    definition = client.get("/lineage", params={"pipeline": name, "includeLatestExec": "false"}).json()
    assert all(n["run"] is None for n in definition["graph"]["nodes"])


def test_seed_error_bodies(env: tuple[TestClient, Any, Any]) -> None:
    client, _, (name, _) = env
    assert client.get("/lineage").json() == {"message": "pipeline is required"}
    assert client.get("/lineage?pipeline=%20").status_code == 400
    unknown = client.get("/lineage", params={"pipeline": "nope", "includeLatestExec": "true"})
    assert unknown.status_code == 404
    assert unknown.json() == {"message": "pipeline not found or domain filter mismatched"}
    assert unknown.headers["x-mloop-error-code"] == "pipeline_not_found"
    domain = client.get("/lineage", params={"pipeline": name, "domain": "ads"})
    assert domain.status_code == 404 and domain.json()["message"] == "pipeline not found or domain filter mismatched"
    run = client.get("/lineage", params={"pipeline": name, "runId": "r-404"})
    assert run.status_code == 404 and run.json() == {"message": f"run 'r-404' not found for pipeline '{name}'"}
    assert client.get("/lineage", params={"pipeline": name, "region": "ap-northeast-2"}).status_code == 200


def test_a_broken_record_is_a_500_with_a_request_id(
    env: tuple[TestClient, Any, Any], caplog: pytest.LogCaptureFixture
) -> None:
    from mloop.pipelines.tables import pipelines

    client, ws, (name, _) = env
    with ws.db.begin() as conn:
        conn.execute(pipelines.update().where(pipelines.c.name == name).values(graph={"broken": True}))
    with caplog.at_level(logging.ERROR, logger="mloop.web"):
        got = client.get("/lineage", params={"pipeline": name})
    assert got.status_code == 500
    body = got.json()
    assert body["message"] == "internal error" and set(body) == {"message", "requestId"}
    assert any(body["requestId"] in r.getMessage() and r.exc_info for r in caplog.records)


def test_model_endpoint_artifact_routes(env: tuple[TestClient, Any, Any]) -> None:
    client, ws, (name, _) = env
    data = lineage.pipeline(ws, name)
    digest = data["graph"]["artifacts"][0]["digest"]
    found = client.get(f"/lineage/artifacts/{digest}")
    assert found.status_code == 200 and found.json()["artifact"]["digest"] == digest
    assert client.get("/lineage/artifacts/zz").status_code == 404
    missing = client.get("/lineage/models/no-model/1")  # "not found" with the registry's own code
    assert missing.status_code == 404 and missing.json()["code"] == "model_not_found"
    assert client.get("/lineage/models/no-model/abc").status_code == 400
    assert client.get("/lineage/endpoints/none").status_code == 404
