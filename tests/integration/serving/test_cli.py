"""The endpoint commands as a new user meets them, and auto-deploy across processes.

Uses its own endpoints (`cli-ep`, `follow-ep`) in the shared workspace of the package fixture.
"""

from __future__ import annotations

import json
import uuid

import httpx
import jsonschema
import pytest
import yaml

from tests.integration.serving.conftest import Served, mloop, start_server, stop
from tests.support.servers import wait_until
from tests.support.serving import publish, train

pytestmark = pytest.mark.slow


def test_cli_deploy_weights_promote_rollback_history(served: Served) -> None:
    root = served.root
    r = mloop(root, "deploy", "cli-ep", "--model", "ctr", "--version", "1", "--json")
    assert r.returncode == 0, r.stderr
    assert json.loads(r.stdout)["variants"][0]["model_version"] == 1
    r = mloop(root, "deploy", "cli-ep", "--model", "ctr", "--version", "2", "--variant", "canary", "--weight", "10")
    assert r.returncode == 0 and "canary" in r.stdout
    bad = mloop(root, "endpoints", "set-weights", "cli-ep", "production=90", "canary=20")
    assert bad.returncode == 1 and "weights must sum to 100, got 110" in bad.stderr and "Traceback" not in bad.stderr
    assert mloop(root, "endpoints", "set-weights", "cli-ep", "production=70", "canary=30").returncode == 0
    assert mloop(root, "endpoints", "promote", "cli-ep").returncode == 0
    shown = json.loads(mloop(root, "endpoints", "show", "cli-ep", "--json").stdout)
    assert [(v["name"], v["model_version"], v["weight"]) for v in shown["variants"]] == [("production", 2, 100)]
    assert mloop(root, "endpoints", "rollback", "cli-ep").returncode == 0
    rows = json.loads(mloop(root, "endpoints", "history", "cli-ep", "--json").stdout)
    assert [r["action"] for r in rows] == ["rollback", "promote", "set-weights", "deploy", "deploy"]
    listed = json.loads(mloop(root, "endpoints", "list", "--json").stdout)
    assert "cli-ep" in {e["name"] for e in listed}


def test_new_user_mistakes_get_one_line_and_a_hint(served: Served) -> None:
    root = served.root
    pending = publish(served.ws, "ctr-pending", train(seed=5, n_estimators=3), served.tmp, approve=False)
    r = mloop(root, "deploy", "cli-ep2", "--model", "ctr-pending", "--version", str(pending.version))
    assert r.returncode == 1 and "is PendingManualApproval; only Approved versions deploy" in r.stderr
    assert "mloop models approve" in r.stderr
    r = mloop(root, "endpoints", "show", "nope-ep")
    assert r.returncode == 1 and "endpoint 'nope-ep' not found" in r.stderr
    for command in (["serve", "ctr-ep"], ["app", "--endpoint", "ctr-ep"]):
        r = mloop(root, *command, "--port", str(served.port))
        assert r.returncode == 1 and r.stderr.startswith(f"error: cannot listen on 127.0.0.1:{served.port}")
        assert "--port" in r.stderr and "Traceback" not in r.stderr


# The InferenceService v1beta1 fields the export may use (from KServe's CRD); no others allowed.
CONTAINER = {"type": "object", "additionalProperties": False, "required": ["name", "image"], "properties": {
    "name": {"type": "string"}, "image": {"type": "string"},
    "args": {"type": "array", "items": {"type": "string"}},
    "env": {"type": "array", "items": {"type": "object", "additionalProperties": False, "required": ["name"],
                                       "properties": {"name": {"type": "string"}, "value": {"type": "string"}}}},
    "ports": {"type": "array", "items": {"type": "object", "additionalProperties": False, "properties": {
        "containerPort": {"type": "integer"}, "protocol": {"enum": ["TCP", "UDP"]}, "name": {"type": "string"}}}},
    "readinessProbe": {"type": "object"}, "livenessProbe": {"type": "object"}, "resources": {"type": "object"}}}
INFERENCE_SERVICE = {"type": "object", "additionalProperties": False,
                     "required": ["apiVersion", "kind", "metadata", "spec"], "properties": {
    "apiVersion": {"const": "serving.kserve.io/v1beta1"}, "kind": {"const": "InferenceService"},
    "metadata": {"type": "object", "additionalProperties": False, "required": ["name"], "properties": {
        "name": {"type": "string", "pattern": "^[a-z]([-a-z0-9]*[a-z0-9])?$", "maxLength": 63},
        "namespace": {"type": "string"}, "labels": {"type": "object", "additionalProperties": {"type": "string"}},
        "annotations": {"type": "object", "additionalProperties": {"type": "string"}}}},
    "spec": {"type": "object", "additionalProperties": False, "required": ["predictor"], "properties": {
        "predictor": {"type": "object", "additionalProperties": False, "required": ["containers"], "properties": {
            "minReplicas": {"type": "integer", "minimum": 0}, "maxReplicas": {"type": "integer", "minimum": 0},
            "canaryTrafficPercent": {"type": "integer", "minimum": 0, "maximum": 100},
            "containers": {"type": "array", "minItems": 1, "items": CONTAINER}}}}}}}


def test_kserve_export_matches_the_inference_service_schema(served: Served) -> None:
    root = served.root
    assert mloop(root, "deploy", "Export_EP", "--model", "ctr", "--version", "1").returncode == 0
    assert mloop(root, "deploy", "Export_EP", "--model", "ctr", "--version", "2", "--variant", "canary",
                 "--weight", "25").returncode == 0
    out = served.tmp / "isvc.yaml"
    r = mloop(root, "endpoints", "export", "Export_EP", "--target", "kserve", "--image", "reg.example/mloop:1",
              "-o", str(out))
    assert r.returncode == 0, r.stderr
    manifest = yaml.safe_load(out.read_text())
    jsonschema.validate(manifest, INFERENCE_SERVICE)
    predictor = manifest["spec"]["predictor"]
    assert predictor["canaryTrafficPercent"] == 25
    assert manifest["metadata"]["name"] == "export-ep"
    env = {e["name"]: e["value"] for e in predictor["containers"][0]["env"]}
    assert env["MLOOP_SERVING__ENDPOINT"] == "Export_EP"
    assert env["MLOOP_SERVING__ALLOWED_HOSTS"] == '["*"]'  # Knative routes by Host; the pod's names are not its
    assert mloop(root, "endpoints", "export", "Export_EP", "--target", "sagemaker").returncode == 1


def test_follow_approved_deploys_new_versions_as_a_canary_across_processes(served: Served) -> None:
    model = f"follow-{uuid.uuid4().hex[:6]}"
    publish(served.ws, model, train(seed=7, n_estimators=5), served.tmp)
    r = mloop(served.root, "deploy", "follow-ep", "--model", model, "--follow-approved", "--canary-weight", "20")
    assert r.returncode == 0, r.stderr
    proc, port = start_server(served.root, "follow-ep")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            wait_until(lambda: c.get("/ping").status_code == 200, timeout=60, what="follow-ep ready")
            publish(served.ws, model, train(seed=8, n_estimators=5), served.tmp)  # v2, Approved

            def canary_answers() -> bool:
                r = c.post("/invocations", content="25,ios,3,0.5", headers={"content-type": "text/csv"},
                           params={}, extensions={})
                return r.headers.get("x-mloop-model-version") == "2" and r.headers["x-mloop-variant"] == "canary"

            wait_until(canary_answers, timeout=30, what="auto-deployed canary")
    finally:
        stop(proc)
    from mloop import serving

    ep = serving.get_endpoint(served.ws, "follow-ep")
    assert {v.name: (v.model_version, v.weight) for v in ep.variants} == {"production": (1, 80), "canary": (2, 20)}
    assert serving.history(served.ws, "follow-ep", limit=1)[0]["action"] == "auto-deploy"


def test_serve_on_every_interface_answers_to_the_machines_names_only(served: Served) -> None:
    """`mloop serve --host 0.0.0.0` (containers): a rebound name is refused by default (issue 18)."""
    import socket

    proc, port = start_server(served.root, "wild-ep", "--host", "0.0.0.0")
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            for host in ("localhost", socket.gethostname(), f"127.0.0.1:{port}"):
                assert c.get("/v2/health/live", headers={"Host": host}).status_code == 200, host
            rebound = c.post("/invocations", content="1,2", headers={"Host": "rebound.example",
                                                                     "content-type": "text/csv"})
            assert rebound.status_code == 400 and rebound.json()["code"] == "invalid_host"
    finally:
        stop(proc)
    proc, port = start_server(served.root, "wild-ep", "--host", "0.0.0.0",
                              env={"MLOOP_SERVING__ALLOWED_HOSTS": '["serving.internal"]'})
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=10) as c:
            assert c.get("/v2/health/live", headers={"Host": "serving.internal"}).status_code == 200
            assert c.get("/v2/health/live", headers={"Host": "localhost"}).status_code == 400
    finally:
        stop(proc)
