"""Alert records and webhook deliveries on every metadata backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import uuid
from pathlib import Path

from mloop.alerts import list_alerts, list_deliveries, raise_alert
from tests.support.webhook import webhook_receiver


def test_alerts_and_deliveries_round_trip(workspace_dir: Path, database_url: str) -> None:
    from mloop.store import open_workspace

    source = f"contract/{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by the session
    with webhook_receiver(fail_first=1) as hook:
        ws = open_workspace(workspace_dir, database_url=database_url, alerts__webhook_url=hook.url,
                            alerts__webhook_backoff_seconds=0.01)
        alert = raise_alert(ws, source=source, severity="critical", title="drift",
                            detail={"psi": 0.31, "features": ["age", "device"], "nested": {"a": None}})
    [stored] = list_alerts(ws, source=source)
    assert stored.to_dict() == alert.to_dict()
    assert stored.detail == {"psi": 0.31, "features": ["age", "device"], "nested": {"a": None}}
    assert stored.at.tzinfo is not None and stored.delivery == "delivered"
    attempts = list_deliveries(ws, kind="alert", subject=f"alert:{alert.id}")
    assert sorted((a["attempt"], a["ok"]) for a in attempts) == [(1, False), (2, True)]
    ws.close()
