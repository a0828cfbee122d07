"""Drift in one model version starts a retraining release, once.

A real project (git repository, ad-click-ctr trained twice, the app's interaction and feedback
groups), the real CLI in subprocesses, the release driven by its detached background process,
on SQLite and on PostgreSQL: v2 (the canary) sees shifted inputs, v1 does not; `mloop monitor
drift` splits the report by version, raises an alert and starts a release with
training_source=both that ends waiting for approval, with lineage alert -> report -> release ->
new version. The next alerts start nothing: one in flight, then the cooldown; each skip recorded.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from mloop.config import AppSettings
from mloop.demo.traffic import users
from mloop.web.inference.store import InteractionStore
from tests.support.backends import fresh_pg_database
from tests.support.cli import clean_env
from tests.support.servers import wait_until

pytestmark = pytest.mark.slow
MODEL = "ad-click-ctr"
TRAIN = {"n_estimators": 10, "max_depth": 3, "auc_threshold": 0.0, "model_name": MODEL}


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def metadata_url(request: pytest.FixtureRequest) -> Iterator[str | None]:
    """The workspace's own SQLite (None), or a PostgreSQL database of this test's own (release ids
    and model names are global); commands then authenticate with tokens."""
    if request.param == "sqlite":
        yield None
        return
    with fresh_pg_database("mloop_drift") as url:
        yield url


def git(root: Path, *args: str) -> None:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Dev", "GIT_AUTHOR_EMAIL": "dev@example.com",
           "GIT_COMMITTER_NAME": "Dev", "GIT_COMMITTER_EMAIL": "dev@example.com"}
    subprocess.run(["git", *args], cwd=root, env=env, check=True, capture_output=True)


def make_project(tmp_path: Path, database_url: str | None) -> Path:
    from mloop.config import init_workspace

    root = tmp_path / "ctr"
    init_workspace(root)
    (root / "mloop.toml").write_text(("" if database_url is None else f'database_url = "{database_url}"') + f"""

[release]
pipeline = "ad-click-ctr"
model = "{MODEL}"
endpoint = "ctr"
parameters = {{ n_estimators = 10, max_depth = 3, auc_threshold = 0.0, model_name = "{MODEL}" }}
poll_interval = 0.2

[monitoring]
retrain_on_drift = true
retrain_cooldown = "6h"
""")
    git(root, "init", "-q", "-b", "main")
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", "ctr project")
    return root


def train_two_versions(ws: Any) -> None:
    from mloop.features import create_group, ingest
    from mloop.pipelines import run_pipeline
    from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec

    create_group(ws, ad_clicks_spec("ad-clicks"))
    path = ws.state_dir / "ad.csv"  # inside .mloop: the git tree stays clean
    ad_clicks(1500, seed=3).to_csv(path, index=False)
    ingest(ws, path, "ad-clicks")
    for trees in (10, 12):
        record = run_pipeline(ws, "ad-click-ctr", {**TRAIN, "n_estimators": trees})
        assert record.status == "Succeeded", record.error


def log_traffic(ws: Any) -> None:
    """v1 production: inputs like training; v2 canary: shifted. Each version's own scores as the
    prediction (what the app logs), feedback for every prediction."""
    import pandas as pd

    from mloop.features import flush_records
    from mloop.monitoring.reference import reference_predictions

    store = InteractionStore(ws, AppSettings())
    store.ensure_groups()
    at = datetime.now(UTC) - timedelta(minutes=10)
    served = [(1, "production", users(300, seed=5, shifted=False)), (2, "canary", users(150, seed=6, shifted=True))]
    rows = [{"request_id": f"v{v}-{i}", "event_time": at, **r, "prediction": p, "model_name": MODEL,
             "model_version": v, "variant": variant, "latency_ms": 1.5, "endpoint": "ctr"}
            for v, variant, records in served
            for i, (r, p) in enumerate(zip(records, reference_predictions(ws, MODEL, v, pd.DataFrame(records)),
                                           strict=True))]
    store.write_interactions(rows)
    store.write_feedback([{"request_id": r["request_id"], "event_time": at + timedelta(minutes=1),
                           "clicked": int(r["device_type"] == "Mobile"), "model_version": r["model_version"],
                           "variant": r["variant"]} for r in rows])
    for group in (store.interactions_group, store.feedback_group):
        flush_records(ws, group)


def monitor(root: Path, **env: str) -> tuple[int, dict[str, Any], str]:
    clean = clean_env()
    result = subprocess.run(
        [sys.executable, "-m", "mloop", "monitor", "drift", "ctr", "--window", "1h", "--json"], cwd=root,
        env={**clean, "MLOOP_PRINCIPAL": "cron", "PATH": f"{Path(sys.executable).parent}:{clean['PATH']}", **env},
        capture_output=True, text=True, timeout=300)
    assert "Traceback" not in result.stderr, result.stderr
    return result.returncode, json.loads(result.stdout), result.stderr


def test_drift_in_one_version_starts_one_retraining_release(tmp_path: Path, metadata_url: str | None) -> None:
    from mloop import lineage, registry
    from mloop.alerts import list_alerts
    from mloop.monitoring.retrain import list_decisions
    from mloop.release import get_release, list_releases, reject_release
    from mloop.store import open_workspace

    root = make_project(tmp_path, metadata_url)
    ws = open_workspace(root)
    try:
        train_two_versions(ws)
        log_traffic(ws)
        env = {}
        if metadata_url is not None:  # commands authenticate: a viewer's monitor retrains nothing
            from mloop.auth import create_token

            env["MLOOP_TOKEN"] = create_token(ws, "drift-cron", "deployer")[0]
            _, viewer, _ = monitor(root, MLOOP_TOKEN=create_token(ws, "dashboard", "viewer")[0])
            assert viewer["retrain"]["decision"] == "skipped" and "needs 'deployer'" in viewer["retrain"]["reason"]
            assert list_releases(ws.db) == []
        code, report, _ = monitor(root, **env)
        assert code == 2 and report["drifted"]
        slices = {(s["model_version"], s["variant"]): s for s in report["segments"]}
        assert slices[1, "production"]["status"] == "ok" and slices[1, "production"]["rows"] == 300
        assert slices[2, "canary"]["status"] == "drift" and slices[2, "canary"]["rows"] == 150
        assert slices[2, "canary"]["reference"]["version"] == 2  # judged against its own training data
        assert any(r.startswith("ad-click-ctr v2 · canary: ") for r in report["reasons"])
        retrain = report["retrain"]
        assert retrain["decision"] == "started" and retrain["alert_id"] == report["alert_id"]
        release_id = retrain["release_id"]

        def waiting() -> bool:
            return get_release(ws.db, release_id).stage_record("Approval").status == "Executing"

        wait_until(waiting, timeout=240, what=f"release {release_id} to wait for approval")
        release = get_release(ws.db, release_id)
        assert release.params["training_source"] == "both"
        assert release.params["interactions_group"] == AppSettings().interactions_group
        assert release.options["trigger"]["alert_id"] == report["alert_id"]
        new = registry.get_version(ws, MODEL, int(release.model_version or 0))
        assert new.version == 3 and new.status == "PendingManualApproval"  # nothing deploys by itself
        run = release.outputs("TrainRegister")["run_id"]
        from mloop.pipelines import get_run

        assert get_run(ws, run).step("join_interactions").metrics["labelled_interactions"] == 450

        # lineage: the new version <- release <- drift report (by digest) <- alert
        chain = lineage.model(ws, MODEL, new.version)["triggeredBy"]
        assert [c["relation"] for c in chain] == ["registered", "started", "evidence"]
        assert chain[0]["node"] == f"mloop://releases/{release_id}"
        digest = report["paths"]["digest"]
        assert chain[1]["node"] == f"mloop://monitoring/drift-reports/{digest}"
        assert chain[1]["detail"]["drifted"] == ["ad-click-ctr v2 · canary"]
        page = ws.artifacts.get_bytes(chain[1]["detail"]["digest"])
        assert hashlib.sha256(page).hexdigest() == digest and b"By model version and variant" in page
        assert chain[2]["node"] == f"mloop://alerts/{report['alert_id']}"
        assert release.created_by == ("cron" if metadata_url is None else "drift-cron")

        # a second alert while the release is in flight starts nothing (cooldown out of the way)
        code, again, _ = monitor(root, MLOOP_MONITORING__RETRAIN_COOLDOWN="1ms", **env)
        assert code == 2 and again["alert_id"] != report["alert_id"]
        assert again["retrain"]["decision"] == "skipped" and again["retrain"]["release_id"] == release_id
        assert f"release {release_id} of model '{MODEL}' is still in flight" in again["retrain"]["reason"]
        # ...and with the cooldown in force, neither
        code, third, _ = monitor(root, **env)
        assert third["retrain"]["decision"] == "skipped" and third["retrain"]["reason"].startswith("cooldown:")
        assert [r.id for r in list_releases(ws.db)] == [release_id]
        viewer_skips = 0 if metadata_url is None else 1
        assert [d.decision for d in list_decisions(ws, model=MODEL)] == ["skipped", "skipped", "started"] + \
            ["skipped"] * viewer_skips
        assert len(list_alerts(ws, source="monitoring/drift/ctr")) == 3 + viewer_skips

        reject_release(ws, release_id, principal="ann", comment="inspected; not now")
        wait_until(lambda: get_release(ws.db, release_id).finished, timeout=60, what="the driver to end")
        assert get_release(ws.db, release_id).status == "Rejected"
    finally:
        ws.close()
