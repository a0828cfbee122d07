"""Dashboard forms with bad input answer 4xx with a message a person can act on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from mloop import registry, serving
from mloop.store import open_workspace
from mloop.web import create_app
from tests.support.dashboard import csrf_token

DEPLOYER_TOKEN = "tok-deployer-5e1f"


def test_a_non_numeric_weight_names_the_variant(workspace_dir: Path, tmp_path: Path) -> None:
    ws = open_workspace(workspace_dir, auth__tokens={DEPLOYER_TOKEN: {"principal": "dee", "role": "deployer"}})
    (tmp_path / "model").mkdir()
    mv = registry.register(ws, "forms-model", str(tmp_path / "model"), principal="tester")
    registry.approve(ws, "forms-model", mv.version, principal="approver", comment="ok")
    serving.deploy(ws, "forms-ep", "forms-model", version=mv.version)
    try:
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            login: Any = client.post("/ui/login", data={"token": DEPLOYER_TOKEN,
                                                        "csrf": csrf_token(client.get("/ui/login").text)},
                                     follow_redirects=False)
            assert login.status_code == 303
            csrf = csrf_token(client.get("/ui/endpoints/forms-ep").text)
            bad = client.post("/ui/endpoints/forms-ep/action",
                              data={"csrf": csrf, "action": "weights", "weight:production": "abc"})
            assert bad.status_code == 400
            # was "invalid literal for int() with base 10: 'abc'"
            assert "the weight of &#39;production&#39; must be a whole number from 0 to 100" in bad.text
            assert "invalid literal" not in bad.text
            assert serving.get_endpoint(ws, "forms-ep").variants[0].weight == 100
    finally:
        ws.close()


def test_a_clone_with_a_bad_parameter_is_refused_on_the_form(workspace_dir: Path) -> None:
    from mloop.pipelines import list_runs, run_pipeline
    from tests.support import example_pipeline as example

    ws = open_workspace(workspace_dir, auth__tokens={DEPLOYER_TOKEN: {"principal": "dee", "role": "deployer"}})
    try:
        original = run_pipeline(ws, example.parallel, {"seconds": 0.01}, tracking=False)
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            client.post("/ui/login", data={"token": DEPLOYER_TOKEN, "csrf": csrf_token(client.get("/ui/login").text)})
            csrf = csrf_token(client.get(f"/ui/runs/{original.id}").text)
            cases = (({"param:seconds": "abc"}, "parameter &#39;seconds&#39; (float) cannot be &#39;abc&#39;"),
                     ({"param:secnds": "1"}, "has no parameter &#39;secnds&#39;"))
            for params, said in cases:
                bad = client.post(f"/ui/runs/{original.id}/action",
                                  data={"csrf": csrf, "action": "clone", **params}, follow_redirects=False)
                # was a 303 to a run page that never existed (404); the error only reached the server log
                assert bad.status_code == 400 and said in bad.text, bad.text[-2000:]
        assert [r["id"] for r in list_runs(ws)] == [original.id]
    finally:
        ws.close()


def test_an_unknown_decision_is_a_400(workspace_dir: Path, tmp_path: Path) -> None:
    ws = open_workspace(workspace_dir, auth__tokens={DEPLOYER_TOKEN: {"principal": "dee", "role": "deployer"}})
    (tmp_path / "model").mkdir()
    mv = registry.register(ws, "decide-model", str(tmp_path / "model"), principal="tester")
    try:
        with TestClient(create_app(ws), raise_server_exceptions=False) as client:
            client.post("/ui/login", data={"token": DEPLOYER_TOKEN, "csrf": csrf_token(client.get("/ui/login").text)})
            csrf = csrf_token(client.get("/ui/models/decide-model").text)
            bad = client.post(f"/ui/models/decide-model/{mv.version}/decision",
                              data={"csrf": csrf, "decision": "maybe", "comment": "x"})
            assert bad.status_code == 400 and "unknown decision &#39;maybe&#39;; approve or reject" in bad.text
        assert registry.get_version(ws, "decide-model", mv.version).status == "PendingManualApproval"
    finally:
        ws.close()
