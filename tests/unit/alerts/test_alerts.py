"""Alerts and webhook delivery against a real HTTP server on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from mloop.alerts import list_alerts, list_deliveries, raise_alert
from mloop.errors import InvalidInput
from tests.support.servers import free_port
from tests.support.webhook import webhook_receiver


def _ws(root: Path, **overrides: Any) -> Any:
    from mloop.store import open_workspace

    return open_workspace(root, alerts__webhook_backoff_seconds=0.01, **overrides)


def test_alert_without_webhook_is_recorded_and_logged(workspace: Any, caplog: pytest.LogCaptureFixture) -> None:
    alert = raise_alert(workspace, source="ad-click-ctr/alert", severity="warning",
                        title="AUC below threshold", detail={"auc": 0.61, "threshold": 0.7})
    assert alert.delivery == "none" and alert.id == 1 and alert.principal == "tester"
    assert "AUC below threshold" in caplog.text
    [stored] = list_alerts(workspace)
    assert stored.to_dict() == alert.to_dict()
    assert list_alerts(workspace, severity="error") == []
    assert list_alerts(workspace, source="ad-click-ctr/alert")[0].id == 1


def test_bad_alerts_are_invalid_input(workspace: Any) -> None:
    with pytest.raises(InvalidInput) as info:
        raise_alert(workspace, source="s", severity="warn", title="t")
    assert "did you mean 'warning'" in (info.value.hint or "")
    with pytest.raises(InvalidInput):
        raise_alert(workspace, source="s", severity="info", title=" ")
    with pytest.raises(InvalidInput):
        raise_alert(workspace, source="s", severity="info", title="t", detail={"x": object()})


def test_an_unknown_delivery_kind_is_invalid_input(workspace: Any) -> None:
    # `mloop alerts deliveries --kind bogus` printed an empty table: a typo read as "nothing delivered".
    with pytest.raises(InvalidInput, match="unknown delivery kind 'alerts'") as info:
        list_deliveries(workspace, kind="alerts")
    assert "did you mean 'alert'" in (info.value.hint or "")
    assert list_deliveries(workspace, kind="Registry") == []


def test_webhook_gets_a_slack_compatible_body(workspace_dir: Path) -> None:
    with webhook_receiver() as hook:
        ws = _ws(workspace_dir, alerts__webhook_url=hook.url)
        alert = raise_alert(ws, source="housing/alert", severity="error", title="R2 too low",
                            detail={"r2": 0.5})
    assert alert.delivery == "delivered"
    [body] = hook.bodies()
    assert body["text"] == "[ERROR] housing/alert: R2 too low"
    assert {"title": "r2", "value": "0.5", "short": True} in body["attachments"][0]["fields"]
    assert body["mloop"]["id"] == alert.id and body["mloop"]["detail"] == {"r2": 0.5}
    [attempt] = list_deliveries(ws, kind="alert")
    assert attempt["ok"] and attempt["status_code"] == 200 and attempt["subject"] == f"alert:{alert.id}"


def test_webhook_is_retried_with_backoff_and_every_attempt_recorded(workspace_dir: Path) -> None:
    with webhook_receiver(fail_first=2) as hook:
        ws = _ws(workspace_dir, alerts__webhook_url=hook.url)
        alert = raise_alert(ws, source="s", severity="info", title="t")
    assert alert.delivery == "delivered" and len(hook.requests) == 3
    attempts = sorted(list_deliveries(ws), key=lambda r: r["attempt"])
    assert [(a["attempt"], a["ok"], a["status_code"]) for a in attempts] == [
        (1, False, 500), (2, False, 500), (3, True, 200)]
    assert "HTTP 500" in attempts[0]["error"]


def test_a_dead_webhook_fails_the_delivery_not_the_alert(workspace_dir: Path) -> None:
    ws = _ws(workspace_dir, alerts__webhook_url=f"http://127.0.0.1:{free_port()}/hook",
             alerts__webhook_attempts=3)
    alert = raise_alert(ws, source="s", severity="critical", title="t")
    assert alert.delivery == "failed"
    assert list_alerts(ws)[0].delivery == "failed"
    attempts = list_deliveries(ws)
    assert len(attempts) == 3 and all(not a["ok"] and "ConnectError" in a["error"] for a in attempts)


def test_a_4xx_answer_is_not_retried(workspace_dir: Path) -> None:
    with webhook_receiver(fail_first=10, fail_status=400) as hook:
        ws = _ws(workspace_dir, alerts__webhook_url=hook.url)
        assert raise_alert(ws, source="s", severity="info", title="t").delivery == "failed"
    assert len(hook.requests) == 1


def test_registry_status_changes_post_to_the_registry_webhook(ml_workspace: Any) -> None:
    from mloop import registry

    with webhook_receiver() as hook:
        ws = _ws(ml_workspace.root, registry__webhook_url=hook.url)
        registry.register(ws, "ctr", "s3://b/m", principal="carol")
        registry.approve(ws, "ctr", 1, principal="alice", comment="ship it")
    first, second = hook.bodies()
    assert first["to_status"] == "PendingManualApproval" and first["from_status"] is None
    assert second["event"] == "model_version.status_changed"
    assert (second["name"], second["version"], second["to_status"], second["principal"]) == (
        "ctr", 1, "Approved", "alice")
    assert second["text"].startswith("model ctr version 1: PendingManualApproval -> Approved by alice")
    assert {r["subject"] for r in list_deliveries(ws, kind="registry")} == {"ctr/1"}
