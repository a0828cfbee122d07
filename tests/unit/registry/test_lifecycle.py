"""A version's life as a new user meets it: reject what serves, duplicates, deletion.

Approve two versions, serve one, reject it without and with `--undeploy`; register the same
model files again; delete versions and endpoints. CLI in-process (see test_cli.invoke).
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mloop import registry, serving
from tests.support.serving import publish, train
from tests.unit.registry.test_cli import invoke


def said(result: Any) -> str:
    """What the user reads: the output, or the error's message and hint (the CLI prints both)."""
    exc = result.exception
    return result.output + (f"{exc}\n{getattr(exc, 'hint', '')}" if exc is not None else "")


@pytest.fixture
def two_approved(ml_workspace: Any, tmp_path: Path) -> tuple[Any, Any]:
    model = train(seed=1, n_estimators=3)
    publish(ml_workspace, "ctr", model, tmp_path)
    publish(ml_workspace, "ctr", train(seed=2, n_estimators=3), tmp_path)
    return ml_workspace, model


def test_reject_of_a_served_version_is_refused_unless_undeploy(
    two_approved: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws, _model = two_approved
    serving.deploy(ws, "ep", "ctr", version=1)
    serving.deploy(ws, "ep", "ctr", version=2)
    serving.deploy(ws, "ep-canary", "ctr", version=1)
    serving.deploy(ws, "ep-canary", "ctr", version=2, variant="canary", weight=20)
    refused = invoke(["models", "reject", "ctr", "2", "-m", "bad"], ws.root, monkeypatch)
    assert refused.exit_code == 1
    assert "ctr version 2 is served by ep (production), ep-canary (canary)" in said(refused)
    assert "--undeploy" in said(refused)
    assert registry.get_version(ws, "ctr", 2).status == "Approved"  # nothing changed
    done = invoke(["models", "reject", "ctr", "2", "-m", "bad", "--undeploy", "--json"], ws.root, monkeypatch)
    assert done.exit_code == 0, done.output
    out = json.loads(done.output)
    assert out["status"] == "Rejected" and sorted(e["name"] for e in out["rolled_back"]) == ["ep", "ep-canary"]
    for name in ("ep", "ep-canary"):
        ep = serving.get_endpoint(ws, name)
        assert [(v.name, v.model_version, v.weight) for v in ep.variants] == [("production", 1, 100)]
        top = serving.history(ws, name)[0]
        assert top["action"] == "rollback" and top["detail"]["reason"] == "ctr version 2 rejected"


def test_undeploy_with_no_earlier_configuration_changes_nothing(
    two_approved: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch,
) -> None:
    ws, _model = two_approved
    serving.deploy(ws, "only", "ctr", version=2)
    r = invoke(["models", "reject", "ctr", "2", "-m", "bad", "--undeploy"], ws.root, monkeypatch)
    assert r.exit_code == 1 and "no earlier configuration without ctr version 2" in said(r)
    assert registry.get_version(ws, "ctr", 2).status == "Approved"
    assert serving.get_endpoint(ws, "only").generation == 1


def test_the_same_files_register_once(two_approved: tuple[Any, Any], tmp_path: Path) -> None:
    ws, model = two_approved
    again = publish(ws, "ctr", model, tmp_path / "again", approve=False)  # logged anew in a new run
    assert again.reused and again.version == 1
    assert [v.version for v in registry.versions(ws, "ctr")] == [1, 2]
    other = publish(ws, "ctr-copy", model, tmp_path / "copy", approve=False)
    assert not other.reused and other.version == 1  # another model's versions are its own


def test_delete_refused_while_served_then_done(two_approved: tuple[Any, Any], monkeypatch: pytest.MonkeyPatch) -> None:
    ws, _model = two_approved
    serving.deploy(ws, "ep", "ctr", version=1)
    r = invoke(["models", "delete", "ctr", "--version", "1"], ws.root, monkeypatch)
    assert r.exit_code == 1 and "ctr version 1 is served by ep (production)" in said(r)
    assert "mloop endpoints delete ep" in said(r)
    assert invoke(["models", "delete", "ctr", "--version", "2"], ws.root, monkeypatch).exit_code == 0
    assert [v.version for v in registry.versions(ws, "ctr")] == [1]
    assert invoke(["endpoints", "delete", "ep"], ws.root, monkeypatch).exit_code == 0
    assert serving.list_endpoints(ws) == []
    r = invoke(["models", "delete", "ctr"], ws.root, monkeypatch)
    assert r.exit_code == 0 and "deleted ctr version(s) 1" in said(r)
    assert registry.list_models(ws) == [] and registry.sync(ws, "ctr") == []  # gone from MLflow too
    gone = invoke(["models", "delete", "ctr"], ws.root, monkeypatch)
    assert gone.exit_code == 1 and "model 'ctr' is not registered" in said(gone)
