"""drift_report on a real workspace: interactions written through put_records, a real webhook
receiver on 127.0.0.1; no alert for the training distribution, an alert for shifted traffic."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer
from pathlib import Path
from typing import Any

import pytest

from mloop.config import AppSettings
from mloop.demo.traffic import users
from mloop.errors import NotFound
from mloop.monitoring import drift_report
from mloop.web.inference.store import InteractionStore


@pytest.fixture
def webhook() -> Iterator[tuple[str, list[dict[str, Any]]]]:
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}/hook", received
    server.shutdown()


def log_traffic(ws: Any, records: list[dict[str, Any]], *, endpoint: str = "ctr", minutes_ago: float = 1) -> None:
    store = InteractionStore(ws, AppSettings())
    store.ensure_groups()
    at = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    rows = [{"request_id": f"{endpoint}-{minutes_ago}-{i}", "event_time": at, **r, "prediction": 0.3,
             "model_name": "ad-click-ctr", "model_version": 1, "variant": "production", "latency_ms": 2.0,
             "endpoint": endpoint} for i, r in enumerate(records)]
    store.write_interactions(rows)


def reference() -> Any:
    from mloop.recipes.datasets import ad_clicks

    return ad_clicks(3000, seed=0)


def open_ws(root: Path, **overrides: Any) -> Any:
    from mloop.store import open_workspace

    return open_workspace(root, **overrides)


def test_same_distribution_raises_no_alert(workspace: Any) -> None:
    from mloop.alerts import list_alerts

    log_traffic(workspace, users(400, seed=5))
    report = drift_report(workspace, "ctr", window="1h", reference=reference())
    assert not report.drifted, report.reasons
    assert report.rows_current == 400 and report.alert_id is None
    assert report.served_by == [{"model_name": "ad-click-ctr", "model_version": 1, "variant": "production",
                                 "rows": 400}]
    assert Path(report.paths["html"]).read_text().count("<svg") >= 6
    assert json.loads(Path(report.paths["json"]).read_text())["drifted"] is False
    assert list_alerts(workspace) == []


def test_shifted_traffic_alerts_through_the_webhook(workspace_dir: Path,
                                                    webhook: tuple[str, list[dict[str, Any]]]) -> None:
    from mloop.alerts import list_alerts

    url, received = webhook
    ws = open_ws(workspace_dir, alerts__webhook_url=url)
    try:
        log_traffic(ws, users(300, seed=6, shifted=True))
        log_traffic(ws, users(300, seed=7), minutes_ago=120)  # old traffic: outside the window
        report = drift_report(ws, "ctr", window="1h", reference=reference())
        assert report.drifted and report.rows_current == 300
        drifted = {f.feature for f in report.features if f.drifted}
        assert {"age", "device_type", "ad_position"} <= drifted
        alerts = list_alerts(ws)
        assert [a.id for a in alerts] == [report.alert_id]
        assert "drift on endpoint 'ctr'" in alerts[0].title
        assert received and received[0]["text"].startswith("[WARNING] monitoring/drift/ctr")
        assert received[0]["attachments"][0]["fields"]
    finally:
        ws.close()


def test_unknown_endpoint_names_the_ones_with_traffic(workspace: Any) -> None:
    log_traffic(workspace, users(40, seed=5))
    with pytest.raises(NotFound) as err:
        drift_report(workspace, "nope", window="1h", reference=reference())
    assert "ctr" in (err.value.hint or "")


def test_a_reference_without_the_model_features_is_an_error_not_no_drift(workspace: Any) -> None:
    import pandas as pd

    from mloop.errors import InvalidInput

    log_traffic(workspace, users(60, seed=5))
    with pytest.raises(InvalidInput, match="shares no feature column") as err:
        drift_report(workspace, "ctr", window="1h", reference=pd.DataFrame({"colour": ["red"] * 50}))
    assert "device_type" in (err.value.hint or "") and "colour" in (err.value.hint or "")
