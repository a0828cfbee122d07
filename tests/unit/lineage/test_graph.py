"""`mloop.lineage.pipeline` over real run records: seed 004's format, checked by JSON schema."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from mloop import lineage
from mloop.lineage.schema import component
from mloop.pipelines.errors import PipelineNotFound, RunNotFound
from mloop.store import Workspace, open_workspace
from tests.support.lineage_pipelines import GATE, make_small, run_small_pipeline
from tests.support.servers import wait_until

SCHEMA = component("lineage")


def nodes(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {n["id"]: n for n in data["graph"]["nodes"]}


@pytest.fixture
def ws(workspace_dir: Path, database_url: str) -> Any:
    ws = open_workspace(workspace_dir, database_url=database_url)
    yield ws
    ws.close()


def test_latest_run_in_seed_format(ws: Workspace) -> None:
    run = run_small_pipeline(ws, small := make_small())
    name = small.name
    data = lineage.pipeline(ws, name)
    jsonschema.validate(data, SCHEMA)
    assert data["pipeline"]["name"] == name and data["pipeline"]["arn"] == f"mloop://pipelines/{name}"
    assert data["summary"]["overallStatus"] == "Succeeded" and data["summary"]["elapsedSec"] >= 0
    assert data["summary"]["nodeStatus"] == {"Succeeded": 7, "Skipped": 1}
    by_id = nodes(data)
    train = by_id["train"]
    assert train["type"] == "Training" and by_id["register"]["type"] == "RegisterModel"
    assert train["run"]["metrics"] == {"train:auc": 0.72, "validation:auc": 0.63}
    assert train["run"]["jobArn"] == f"mloop://pipelines/{name}/runs/{run.id}/steps/train"
    assert train["run"]["attempts"] == 1 and train["run"]["cached"] is False
    assert train["run"]["startTime"].endswith("Z") and train["run"]["elapsedSec"] >= 0
    assert by_id["alert"]["run"]["status"] == "Skipped"
    edges = {(e["from"], e["to"], e["via"], e.get("branch")) for e in data["graph"]["edges"]}
    assert ("split", "train", "ref:Get", None) in edges
    assert ("train", "audit", "dependsOn", None) in edges
    condition = next(n["id"] for n in data["graph"]["nodes"] if n["type"] == "Condition")
    assert (condition, "register", "condition", "true") in edges and (condition, "alert", "condition", "false") in edges
    artifacts = {a["uri"]: a for a in data["graph"]["artifacts"]}
    assert train["inputs"][0]["uri"] in artifacts and train["outputs"][0]["uri"] in artifacts
    first = data["graph"]["artifacts"][0]
    assert first["storage"]["versioning"] == "content-addressed" and first["size"] > 0
    assert first["key"].startswith("objects/sha256/") and first["bucket"] == ws.settings.artifact_root
    assert data["execution"]["runId"] == run.id


def test_a_cached_rerun_points_at_the_step_run_it_reused(ws: Workspace) -> None:
    small = make_small()
    first = run_small_pipeline(ws, small, n=7)
    second = run_small_pipeline(ws, small, n=7)
    data = lineage.pipeline(ws, small.name)
    assert data["execution"]["runId"] == second.id
    load = nodes(data)["load"]["run"]
    assert load["status"] == "Cached" and load["cached"] is True
    assert load["cachedFrom"].startswith("mloop://pipelines/") and load["cachedFrom"].endswith("/steps/load")
    older = lineage.pipeline(ws, small.name, run_id=first.id)
    assert older["execution"]["runId"] == first.id and nodes(older)["load"]["run"]["status"] == "Succeeded"


def test_a_failed_run_says_which_step_and_why(ws: Workspace) -> None:
    run_small_pipeline(ws, small := make_small(), fail=True)
    data = lineage.pipeline(ws, small.name)
    jsonschema.validate(data, SCHEMA)
    assert data["summary"]["overallStatus"] == "Failed"
    evaluate = nodes(data)["evaluate"]["run"]
    assert evaluate["status"] == "Failed" and "evaluation data is empty" in evaluate["error"]


def test_definition_only_has_no_runs_and_no_artifacts(ws: Workspace) -> None:
    run_small_pipeline(ws, small := make_small())
    data = lineage.pipeline(ws, small.name, include_latest_exec=False)
    jsonschema.validate(data, SCHEMA)
    assert all(n["run"] is None for n in data["graph"]["nodes"])
    assert data["graph"]["artifacts"] == [] and data["summary"]["overallStatus"] == "NotStarted"
    assert {e["via"] for e in data["graph"]["edges"]} == {"ref:Get", "dependsOn", "condition"}


def test_a_pipeline_that_never_ran(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir, pipelines={"small-ctr": "tests.support.lineage_pipelines:small"})
    data = lineage.pipeline(ws, "small-ctr", include_latest_exec=True)
    jsonschema.validate(data, SCHEMA)
    assert data["summary"] == {"overallStatus": "NotStarted", "nodeStatus": {}, "elapsedSec": None}
    assert data["pipeline"]["lastModifiedTime"] is None and len(data["graph"]["nodes"]) == 8
    ws.close()


def test_unknown_pipeline_run_and_domain(ws: Workspace) -> None:
    run_small_pipeline(ws, small := make_small())
    with pytest.raises(PipelineNotFound) as missing:
        lineage.pipeline(ws, small.name + "x")
    assert f"did you mean '{small.name}'" in (missing.value.hint or "")
    with pytest.raises(RunNotFound):
        lineage.pipeline(ws, small.name, run_id="no-such-run")
    with pytest.raises(PipelineNotFound):
        lineage.pipeline(ws, small.name, domain="marketing")
    ws.settings.lineage.domain = "marketing"  # the workspace's domain tags its pipelines
    assert lineage.pipeline(ws, small.name, domain="marketing")["pipeline"]["name"] == small.name


def test_a_run_still_executing(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir)
    GATE.clear()
    worker = threading.Thread(target=run_small_pipeline, args=(ws,))
    worker.start()
    try:
        def audit_running() -> bool:
            data = lineage.pipeline(ws, "small-ctr")
            return nodes(data)["audit"]["run"]["status"] == "Executing"

        wait_until(audit_running, timeout=30, what="the audit step to be executing")
        data = lineage.pipeline(ws, "small-ctr")
        jsonschema.validate(data, SCHEMA)
        assert data["summary"]["overallStatus"] == "Executing"
        audit = nodes(data)["audit"]["run"]
        assert audit["endTime"] is None and audit["elapsedSec"] >= 0
    finally:
        GATE.set()
        worker.join(30)
    assert lineage.pipeline(ws, "small-ctr")["summary"]["overallStatus"] == "Succeeded"
    ws.close()


def test_artifact_lineage_names_producer_and_consumers(ws: Workspace) -> None:
    run = run_small_pipeline(ws, small := make_small())
    data = lineage.pipeline(ws, small.name)
    digest = nodes(data)["split"]["outputs"][0]["digest"]
    found = lineage.artifact(ws, digest)
    jsonschema.validate(found, component("artifact"))
    assert found["producer"]["step"] == "split" and found["producer"]["output"] == "train"
    assert [(c["step"], c["input"], c["runId"]) for c in found["consumers"]] == [("train", "train", run.id)]


@pytest.mark.s3
@pytest.mark.slow
def test_s3_artifacts_carry_bucket_security_metadata(workspace_dir: Path, s3_root: str, s3_endpoint: str) -> None:
    import boto3

    lineage.clear_cache()
    bucket = s3_root[len("s3://"):].split("/", 1)[0]
    client = boto3.client("s3", endpoint_url=s3_endpoint, region_name="us-east-1")
    client.put_bucket_versioning(Bucket=bucket, VersioningConfiguration={"Status": "Enabled"})
    client.put_bucket_tagging(Bucket=bucket, Tagging={"TagSet": [{"Key": "Env", "Value": "development"}]})
    ws = open_workspace(workspace_dir, artifact_root=s3_root, s3_endpoint_url=s3_endpoint)
    run_small_pipeline(ws, small := make_small())
    data = lineage.pipeline(ws, small.name)
    jsonschema.validate(data, SCHEMA)
    artifact = data["graph"]["artifacts"][0]
    assert artifact["bucket"] == bucket and artifact["key"].startswith("artifacts/objects/sha256/")
    assert artifact["uri"].startswith(f"s3://{bucket}/")
    assert artifact["s3"]["versioning"] == "Enabled" and artifact["s3"]["tags"] == {"Env": "development"}
    assert artifact["s3"]["encryption"] == "Unknown" and "storage" not in artifact
    ws.close()


def test_answers_about_finished_runs_are_cached_for_the_probe_ttl(workspace_dir: Path) -> None:
    from mloop.pipelines.tables import step_runs

    ws = open_workspace(workspace_dir)
    run = run_small_pipeline(ws, small := make_small())
    first = lineage.pipeline(ws, small.name)
    with ws.db.begin() as conn:  # records of a finished run do not change; pretend one did
        conn.execute(step_runs.update().where(step_runs.c.run_id == run.id, step_runs.c.step_name == "train")
                     .values(metrics={"auc": 0.5}))
    assert lineage.pipeline(ws, small.name) == first
    lineage.clear_cache()
    assert nodes(lineage.pipeline(ws, small.name))["train"]["run"]["metrics"] == {"auc": 0.5}
    ws.settings.lineage.probe_ttl_seconds = 0  # no TTL, no cache
    with ws.db.begin() as conn:
        conn.execute(step_runs.update().where(step_runs.c.run_id == run.id, step_runs.c.step_name == "train")
                     .values(metrics={"auc": 0.6}))
    assert nodes(lineage.pipeline(ws, small.name))["train"]["run"]["metrics"] == {"auc": 0.6}
    ws.close()
