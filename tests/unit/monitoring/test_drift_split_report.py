"""drift_report on a real workspace splits the traffic by model version and variant: the JSON, the
HTML page (every name escaped) and `mloop monitor drift`'s text all show the slices."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from mloop.config import AppSettings
from mloop.demo.traffic import users
from mloop.monitoring import drift_report
from mloop.web.inference.store import InteractionStore

HOSTILE = '<img src=x onerror="alert(1)">'


def log(ws: Any, records: list[dict[str, Any]], version: int, variant: str) -> None:
    """Written twice, as a client retrying a timed-out write does: the ids repeat, the report
    counts each prediction once."""
    store = InteractionStore(ws, AppSettings())
    store.ensure_groups()
    at = datetime.now(UTC) - timedelta(minutes=2)
    rows = [{"request_id": f"v{version}-{i}", "event_time": at + timedelta(seconds=i / 10), **r,
             "prediction": 0.3, "model_name": "ad-click-ctr", "model_version": version,
             "variant": variant, "latency_ms": 2.0, "endpoint": "ctr"} for i, r in enumerate(records)]
    for row in rows[::5]:
        row["device_type"] = None  # the app logs an empty field as missing
    store.write_interactions(rows)
    store.write_interactions(rows[:40])


def reference() -> Any:
    from mloop.recipes.datasets import ad_clicks

    return ad_clicks(3000, seed=0)


def traffic(ws: Any) -> None:
    log(ws, users(300, seed=5), 1, "production")
    log(ws, users(120, seed=6, shifted=True), 2, HOSTILE)
    log(ws, users(9, seed=7), 3, "canary-b")


def test_the_report_names_the_version_that_drifted(workspace: Any) -> None:
    from mloop.alerts import list_alerts

    traffic(workspace)
    report = drift_report(workspace, "ctr", window="1h", reference=reference())
    statuses = {(s["model_version"], s["variant"]): s["status"] for s in report.segments}
    assert statuses == {(1, "production"): "ok", (2, HOSTILE): "drift", (3, "canary-b"): "insufficient data"}
    assert report.drifted and report.alert_id is not None
    assert any(r.startswith(f"ad-click-ctr v2 · {HOSTILE}: age: PSI") for r in report.reasons)
    alert = list_alerts(workspace)[0]
    assert f"in ad-click-ctr v2 · {HOSTILE}" in alert.title
    assert alert.detail["segments"]["ad-click-ctr v3 · canary-b"] == "insufficient data"
    saved = json.loads(Path(report.paths["json"]).read_text())
    small = next(s for s in saved["segments"] if s["model_version"] == 3)
    assert small["rows"] == 9 and small["features"] == [] and small["status"] == "insufficient data"
    assert saved["retrain"] is None  # retrain_on_drift is off by default
    assert [s["rows"] for s in saved["segments"]] == [300, 120, 9] and report.rows_current == 429


def test_the_html_page_shows_the_split_and_escapes_every_name(workspace: Any) -> None:
    traffic(workspace)
    report = drift_report(workspace, "ctr", window="1h", reference=reference())
    page = Path(report.paths["html"]).read_text()
    assert "By model version and variant" in page
    assert HOSTILE not in page and "onerror" not in page.replace("onerror=&quot;", "")
    assert "ad-click-ctr v2 · &lt;img src=x onerror=&quot;alert(1)&quot;&gt;" in page
    assert page.count("insufficient data") >= 1
    stored = workspace.artifacts.get_bytes(report.paths["digest"]).decode()
    assert stored == page  # the page lineage names by digest is the page on disk


def test_the_cli_prints_one_line_per_version_and_variant(workspace_dir: Path, monkeypatch: Any) -> None:
    from typer.testing import CliRunner

    from mloop.cli.main import app
    from mloop.store import open_workspace

    ws = open_workspace(workspace_dir)
    try:
        traffic(ws)
    finally:
        ws.close()
    path = workspace_dir / "training.csv"
    reference().to_csv(path, index=False)
    monkeypatch.setenv("MLOOP_WORKSPACE", str(workspace_dir))
    result = CliRunner().invoke(app, ["monitor", "drift", "ctr", "--reference", str(path)], env={"COLUMNS": "200"})
    assert result.exit_code == 2, result.output
    assert "by model version and variant" in result.output
    lines = {line.split("│")[1].strip(): line for line in result.output.splitlines() if line.count("│") > 3}
    assert "insufficient data" in lines["ad-click-ctr v3 · canary-b"]
    assert " ok " in lines["ad-click-ctr v1 · production"]
    assert " drift " in lines[f"ad-click-ctr v2 · {HOSTILE}"]


def test_a_cooldown_that_is_not_a_duration_fails_when_the_settings_load(workspace_dir: Path,
                                                                         monkeypatch: Any) -> None:
    import pytest

    from mloop.errors import ConfigError
    from mloop.store import open_workspace

    monkeypatch.setenv("MLOOP_MONITORING__RETRAIN_COOLDOWN", "soon")
    with pytest.raises(ConfigError, match="'soon' is not a duration; use a number and a unit"):
        open_workspace(workspace_dir)
