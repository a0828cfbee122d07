"""The approval workflow on the embedded stores (SQLite metadata + SQLite MLflow)."""

from __future__ import annotations

from typing import Any

import pytest

from mloop import registry
from mloop.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from mloop.registry import (
    APPROVED,
    PENDING,
    REJECTED,
    ApprovalConflict,
    CommentRequired,
    FourEyesViolation,
    ModelNotFound,
    ModelVersionNotFound,
    NoApprovedVersion,
)
from mloop.tracking import mlflow_registry

SOURCE = "s3://bucket/models/demo"  # registry tests need a version, not a loadable model


def _register(ws: Any, name: str = "ctr", n: int = 1, **kwargs: Any) -> list[registry.ModelVersion]:
    return [registry.register(ws, name, SOURCE, **kwargs) for _ in range(n)]


def test_new_versions_start_pending_and_mirror_the_status_in_mlflow(ml_workspace: Any) -> None:
    v1, v2 = _register(ml_workspace, n=2, metrics={"auc": 0.9}, metadata={"run": "r1"})
    assert (v1.version, v2.version) == (1, 2)
    assert v1.status == PENDING and v1.registered_by == "tester"
    assert v1.model_uri == "models:/ctr/1" and v1.metrics == {"auc": 0.9} and v1.metadata == {"run": "r1"}
    assert mlflow_registry.get_version(ml_workspace, "ctr", 1)["tags"]["mloop.approval_status"] == PENDING


def test_latest_approved_is_the_newest_approved_by_version_number(ml_workspace: Any) -> None:
    ws = ml_workspace
    _register(ws, n=4)
    with pytest.raises(NoApprovedVersion) as info:
        registry.latest_approved(ws, "ctr")
    assert "no Approved version" in info.value.message
    assert "mloop models approve ctr 4" in (info.value.hint or "")
    registry.approve(ws, "ctr", 3, comment="good")
    registry.approve(ws, "ctr", 1, comment="also good")
    assert registry.latest_approved(ws, "ctr").version == 3
    registry.reject(ws, "ctr", 3, comment="bad canary")  # revoking falls back, never to Pending v4
    latest = registry.latest_approved(ws, "ctr")
    assert latest.version == 1 and latest.approved_by == "tester" and latest.comment == "also good"
    assert mlflow_registry.get_version(ws, "ctr", 3)["tags"]["mloop.approval_status"] == REJECTED


def test_history_records_every_transition_with_who_and_why(ml_workspace: Any) -> None:
    ws = ml_workspace
    _register(ws, n=2)
    registry.approve(ws, "ctr", 1, principal="alice", comment="ok")
    registry.reject(ws, "ctr", 2, principal="bob", comment="overfits")
    steps = [(t.version, t.from_status, t.to_status, t.principal, t.comment) for t in registry.history(ws, "ctr")]
    assert steps == [
        (1, None, PENDING, "tester", None), (2, None, PENDING, "tester", None),
        (1, PENDING, APPROVED, "alice", "ok"), (2, PENDING, REJECTED, "bob", "overfits"),
    ]
    assert [t.to_status for t in registry.history(ws, "ctr", 2)] == [PENDING, REJECTED]
    v2 = registry.get_version(ws, "ctr", 2)
    assert v2.status == REJECTED and v2.approved_by is None and v2.decided_by == "bob"
    [summary] = registry.list_models(ws)
    assert (summary.name, summary.versions, summary.latest_approved, summary.rejected) == ("ctr", 2, 1, 1)
    assert [v.status for v in registry.versions(ws, "ctr")] == [APPROVED, REJECTED]


def test_unknown_model_and_version_say_what_exists(ml_workspace: Any) -> None:
    ws = ml_workspace
    _register(ws, "ad-clicks")
    with pytest.raises(ModelNotFound) as info:
        registry.approve(ws, "ad-click", 1, comment="x")
    assert isinstance(info.value, NotFound) and "did you mean 'ad-clicks'" in (info.value.hint or "")
    with pytest.raises(ModelVersionNotFound) as info2:
        registry.approve(ws, "ad-clicks", 9, comment="x")
    assert "known versions: 1" in (info2.value.hint or "")
    for call in (registry.versions, registry.history, registry.latest_approved):
        with pytest.raises(ModelNotFound):
            call(ws, "nope")
    with pytest.raises(InvalidInput):
        registry.get_version(ws, "ad-clicks", "one")  # type: ignore[arg-type]


def test_approving_twice_is_a_conflict_and_changes_nothing(ml_workspace: Any) -> None:
    ws = ml_workspace
    _register(ws)
    registry.approve(ws, "ctr", 1, principal="alice", comment="ok")
    with pytest.raises(ApprovalConflict) as info:
        registry.approve(ws, "ctr", 1, principal="bob", comment="me too")
    assert isinstance(info.value, Conflict) and "already Approved by alice" in info.value.message
    assert len(registry.history(ws, "ctr")) == 2


def test_comment_required_by_default_and_optional_by_setting(ml_workspace: Any) -> None:
    from mloop.store import open_workspace

    _register(ml_workspace, n=2)
    with pytest.raises(CommentRequired) as info:
        registry.reject(ml_workspace, "ctr", 1)
    assert info.value.hint == 'mloop models reject ctr 1 --comment "why"'
    with pytest.raises(CommentRequired):
        registry.approve(ml_workspace, "ctr", 1, comment="   ")
    relaxed = open_workspace(ml_workspace.root, registry__require_comment=False)
    assert registry.reject(relaxed, "ctr", 1).status == REJECTED


def test_four_eyes_rule(ml_workspace: Any) -> None:
    from mloop.store import open_workspace

    ws = open_workspace(ml_workspace.root, registry__require_distinct_approver=True)
    registry.register(ws, "ctr", SOURCE, principal="alice")
    with pytest.raises(FourEyesViolation) as info:
        registry.approve(ws, "ctr", 1, principal="alice", comment="mine is great")
    assert isinstance(info.value, PermissionDenied) and "four-eyes" in info.value.message
    assert "another approver" in (info.value.hint or "")
    registry.reject(ws, "ctr", 1, principal="alice", comment="withdrawn")  # rejecting your own is fine
    assert registry.approve(ws, "ctr", 1, principal="bob", comment="ok").approved_by == "bob"


def test_four_eyes_compares_normalised_names_and_refuses_an_unknown_registrant(ml_workspace: Any) -> None:
    from mloop.registry.tables import registry_versions
    from mloop.store import open_workspace

    ws = open_workspace(ml_workspace.root, registry__require_distinct_approver=True)
    registry.register(ws, "ctr", SOURCE, principal="root")
    with pytest.raises(FourEyesViolation):  # was approved: "Root" != "root"
        registry.approve(ws, "ctr", 1, principal=" Root ", comment="mine")
    registry.register(ws, "ctr", SOURCE, principal="carol")
    with ws.db.begin() as conn:  # e.g. adopted from MLflow without a registrant tag
        conn.execute(registry_versions.update().where(registry_versions.c.version == 2).values(registered_by=None))
    with pytest.raises(FourEyesViolation, match="no recorded registrant"):
        registry.approve(ws, "ctr", 2, principal="bob", comment="who made this?")
    ws.close()


def test_principal_required(ml_workspace: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from mloop.registry import PrincipalRequired
    from mloop.store import open_workspace

    _register(ml_workspace)
    monkeypatch.setenv("MLOOP_PRINCIPAL", "")
    ws = open_workspace(ml_workspace.root)
    with pytest.raises(PrincipalRequired) as info:
        registry.approve(ws, "ctr", 1, comment="ok")
    assert "MLOOP_PRINCIPAL" in (info.value.hint or "")


def test_bad_names_are_rejected_before_mlflow(ml_workspace: Any) -> None:
    for name in ("", "a/b", "models:/x", " lead"):
        with pytest.raises(InvalidInput):
            registry.register(ml_workspace, name, SOURCE)


def test_subscribers_see_every_change_and_a_failing_one_is_isolated(ml_workspace: Any) -> None:
    seen: list[registry.StatusChange] = []

    def broken(event: registry.StatusChange) -> None:
        raise RuntimeError("subscriber bug")

    stop_broken = registry.subscribe(broken)
    stop = registry.subscribe(seen.append)
    try:
        _register(ml_workspace)
        registry.approve(ml_workspace, "ctr", 1, principal="alice", comment="ok")
    finally:
        stop()
        stop_broken()
    assert [(e.from_status, e.to_status, e.principal) for e in seen] == [
        (None, PENDING, "tester"), (PENDING, APPROVED, "alice")]
    assert seen[1].model_uri == "models:/ctr/1" and seen[1].comment == "ok"
    registry.reject(ml_workspace, "ctr", 1, comment="later")
    assert len(seen) == 2  # unsubscribed


def test_versions_registered_straight_into_mlflow_are_adopted_as_pending(ml_workspace: Any) -> None:
    ws = ml_workspace
    mlflow_registry.create_version(ws, "notebook", SOURCE)  # what mlflow.register_model does
    mlflow_registry.create_version(ws, "notebook", SOURCE, tags={registry.STATUS_TAG: APPROVED})
    with pytest.raises(NoApprovedVersion):  # a hand-set MLflow tag is not an approval
        registry.latest_approved(ws, "notebook")
    assert [v.status for v in registry.versions(ws, "notebook")] == [PENDING, PENDING]
    mlflow_registry.create_version(ws, "notebook", SOURCE)
    approved = registry.approve(ws, "notebook", 3, principal="alice", comment="ok")  # adopted on the way
    assert approved.status == APPROVED and approved.metadata == {"adopted_from": "mlflow"}
    assert [t.comment for t in registry.history(ws, "notebook", 3)] == [
        "adopted from MLflow (registered outside mloop)", "ok"]
    mlflow_registry.create_version(ws, "other", SOURCE)
    assert [(v.name, v.version) for v in registry.sync(ws)] == [("other", 1)]
    assert registry.sync(ws) == []
    assert mlflow_registry.get_version(ws, "notebook", 2)["tags"][registry.STATUS_TAG] == PENDING


def test_the_principal_who_syncs_is_the_registrant_of_versions_mlflow_names_none_for(ml_workspace: Any) -> None:
    """`mloop models sync` as ana: the audit names her and she cannot approve what she adopted."""
    from mloop.store import open_workspace

    ws = open_workspace(ml_workspace.root, registry__require_distinct_approver=True)
    mlflow_registry.create_version(ws, "notebook", SOURCE)
    mlflow_registry.create_version(ws, "notebook", SOURCE, tags={"mloop.registered_by": "carol"})
    adopted = registry.sync(ws, "notebook", principal=" Ana ")
    assert [(v.version, v.registered_by) for v in adopted] == [(1, "ana"), (2, "carol")]
    assert [t.principal for t in registry.history(ws, "notebook", 1)] == ["ana"]
    with pytest.raises(FourEyesViolation):
        registry.approve(ws, "notebook", 1, principal="ana", comment="mine")
    assert registry.approve(ws, "notebook", 1, principal="bob", comment="ok").approved_by == "bob"
    ws.close()
