"""`mloop models` and `mloop alerts` as a user runs them: real subprocesses, exit codes, stderr."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mloop import registry
from mloop.alerts import raise_alert
from tests.support.cli import run_mloop


def invoke(args: list[str], root: Path, monkeypatch: pytest.MonkeyPatch, principal: str = "tester") -> Any:
    """In-process for speed; the error printer is covered by the subprocess tests below."""
    from typer.testing import CliRunner

    from mloop.cli.main import app

    monkeypatch.setenv("MLOOP_WORKSPACE", str(root))
    monkeypatch.setenv("MLOOP_PRINCIPAL", principal)
    return CliRunner().invoke(app, args)


def test_models_commands(ml_workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    root = ml_workspace.root
    registry.register(ml_workspace, "ctr", "s3://b/m", metrics={"auc": 0.8}, principal="carol")
    registry.register(ml_workspace, "ctr", "s3://b/m", principal="carol")

    listed = json.loads(invoke(["models", "list", "--json"], root, monkeypatch).stdout)
    assert [(m["name"], m["versions"], m["pending"]) for m in listed] == [("ctr", 2, 2)]
    approved = invoke(["models", "approve", "ctr", "1", "--comment", "good AUC", "--json"], root, monkeypatch,
                      principal="alice")
    assert approved.exit_code == 0, approved.output
    body = json.loads(approved.stdout)
    assert (body["status"], body["approved_by"], body["comment"]) == ("Approved", "alice", "good AUC")
    again = invoke(["models", "approve", "ctr", "1", "-m", "again"], root, monkeypatch, principal="bob")
    assert isinstance(again.exception, registry.ApprovalConflict)
    assert isinstance(invoke(["models", "show", "ctx"], root, monkeypatch).exception, registry.ModelNotFound)
    shown = json.loads(invoke(["models", "show", "ctr", "2", "--json"], root, monkeypatch).stdout)
    assert shown["status"] == "PendingManualApproval" and shown["registered_by"] == "carol"
    history = json.loads(invoke(["models", "history", "ctr", "--json"], root, monkeypatch).stdout)
    assert [h["to_status"] for h in history] == ["PendingManualApproval"] * 2 + ["Approved"]
    assert "ctr history" in invoke(["models", "history", "ctr"], root, monkeypatch).stdout
    rejected = invoke(["models", "reject", "ctr", "2", "-m", "worse", "--json"], root, monkeypatch)
    assert json.loads(rejected.stdout)["status"] == "Rejected"


def test_errors_are_one_line_and_a_hint(ml_workspace: Any) -> None:
    registry.register(ml_workspace, "ctr", "s3://b/m")
    missing = run_mloop(["models", "approve", "ctr", "1"], ml_workspace.root, MLOOP_PRINCIPAL="alice")
    assert missing.returncode == 1 and missing.stdout == ""
    assert missing.stderr.splitlines() == [
        "error: a comment is required to approve ctr version 1 (registry.require_comment)",
        'hint: mloop models approve ctr 1 --comment "why"',
    ]


def test_four_eyes_from_the_cli(ml_workspace: Any) -> None:
    registry.register(ml_workspace, "ctr", "s3://b/m", principal="alice")
    result = run_mloop(["models", "approve", "ctr", "1", "-m", "mine"], ml_workspace.root,
                 MLOOP_PRINCIPAL="alice", MLOOP_REGISTRY__REQUIRE_DISTINCT_APPROVER="true")
    assert result.returncode == 1
    assert result.stderr.startswith("error: alice registered ctr version 1 and cannot also approve it")


def test_alerts_list(workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    raise_alert(workspace, source="ad-click-ctr/alert", severity="warning", title="AUC 0.61 < 0.7",
                detail={"auc": 0.61})
    rows = json.loads(invoke(["alerts", "list", "--json"], workspace.root, monkeypatch).stdout)
    assert [(r["severity"], r["title"], r["delivery"]) for r in rows] == [("warning", "AUC 0.61 < 0.7", "none")]
    assert "AUC 0.61" in invoke(["alerts", "list"], workspace.root, monkeypatch).stdout
    bad = invoke(["alerts", "list", "--severity", "loud"], workspace.root, monkeypatch).exception
    assert "known: critical, error, info, warning" in bad.hint


@pytest.mark.slow
def test_a_cli_decision_records_first_and_mlflow_follows(ml_workspace: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    """`models approve` writes mloop's records without MLflow; its tag follows from the outbox."""
    from mloop.registry.tagsync import drain_tags, pending_tags
    from mloop.tracking import mlflow_registry
    from tests.support.servers import wait_until

    root = ml_workspace.root
    registry.register(ml_workspace, "ctr", "s3://b/m", principal="carol")
    registry.register(ml_workspace, "ctr", "s3://b/m", principal="carol")

    def tag(version: int) -> str:
        return mlflow_registry.get_version(ml_workspace, "ctr", version)["tags"]["mloop.approval_status"]

    registry.approve(ml_workspace, "ctr", 2, principal="alice", comment="ok", sync_mlflow=False)
    assert pending_tags(ml_workspace) == {"ctr/2": "Approved"} and tag(2) == "PendingManualApproval"
    shown = json.loads(invoke(["models", "show", "ctr", "2", "--json"], root, monkeypatch).stdout)
    assert shown["status"] == "Approved" and shown["mlflow_tag"] == "pending (Approved)"
    assert drain_tags(ml_workspace) == 1 and tag(2) == "Approved" and pending_tags(ml_workspace) == {}

    done = invoke(["models", "approve", "ctr", "1", "-m", "good"], root, monkeypatch, principal="alice")
    assert done.exit_code == 0, done.output
    wait_until(lambda: tag(1) == "Approved", timeout=120, what="the background drain of the MLflow tag")
    wait_until(lambda: not pending_tags(ml_workspace), timeout=30, what="an empty outbox")
    shown = json.loads(invoke(["models", "show", "ctr", "1", "--json"], root, monkeypatch).stdout)
    assert shown["mlflow_tag"] == "synced"
