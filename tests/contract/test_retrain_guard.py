"""Retraining on drift against a storm of alerts, on every metadata backend (SQLite, PostgreSQL):
one release per model in flight (race-free, under the release lock), a cooldown, every skip
recorded with its reason, and the lineage link from the alert to the report."""

from __future__ import annotations

import threading
import uuid
from pathlib import Path
from typing import Any

import pytest

from mloop.monitoring import DriftReport
from mloop.monitoring.retrain import list_decisions, report_uri, retrain_on_drift
from mloop.release import ReleaseInFlight, create_release, get_release, list_releases, records


def open_ws(repo: Path, database_url: str, model: str, **overrides: Any) -> Any:
    from mloop.config import AppSettings
    from mloop.store import open_workspace
    from mloop.web.inference.store import InteractionStore

    ws = open_workspace(repo, database_url=database_url, auth__cli="os", release__model=model,
                        release__endpoint=f"ep-{model}", monitoring__retrain_on_drift=True, **overrides)
    InteractionStore(ws, AppSettings()).ensure_groups()  # the app made them: drift reads its log
    return ws


@pytest.fixture
def model() -> str:
    return f"m-{uuid.uuid4().hex[:8]}"  # the PostgreSQL database is shared by the session's tests


def drifted(ws: Any, model: str, alert_id: int) -> DriftReport:
    """A drift report as `drift_report` leaves it: written (its digest), alert raised."""
    digest = ws.artifacts.put(f"<html>drift {uuid.uuid4().hex}</html>".encode())
    segment = {"model_name": model, "model_version": 2, "variant": "canary", "shadow": False,
               "label": f"{model} v2 · canary", "rows": 120, "status": "drift", "features": [],
               "prediction": {}, "reasons": ["age: PSI 0.9 > 0.2"], "reference": {}}
    return DriftReport(endpoint=f"ep-{model}", window="1h", generated_at="2026-01-01T00:00:00+00:00",
                       rows_reference=100, rows_current=120, features=[], prediction={}, thresholds={},
                       drifted=True, reasons=["x"], segments=[segment], alert_id=alert_id,
                       paths={"digest": digest, "artifact": ws.artifacts.uri(digest)})


def test_one_retraining_per_model_then_a_cooldown(repo: Path, database_url: str, model: str) -> None:
    from sqlalchemy import text

    ws = open_ws(repo, database_url, model, monitoring__retrain_cooldown="1ms")
    try:
        first = retrain_on_drift(ws, drifted(ws, model, 101), detach=False)
        assert first is not None and first.decision == "started" and first.reason is None
        release = get_release(ws.db, int(first.release_id or 0))
        assert release.model == model and release.params["training_source"] == "both"
        assert release.options["trigger"] == {"kind": "drift", "alert_id": 101, "endpoint": f"ep-{model}",
                                              "report_digest": first.report_digest, "report": first.report_uri}
        second = retrain_on_drift(ws, drifted(ws, model, 102), detach=False)
        assert second is not None and second.decision == "skipped" and second.release_id == release.id
        assert f"release {release.id} of model '{model}' is still in flight" in (second.reason or "")
        records.end_release(ws.db, release.id, None, "Source", status="Failed", error="test: ended")
        third = retrain_on_drift(ws, drifted(ws, model, 103), detach=False)
        assert third is not None and third.decision == "started" and third.release_id != release.id
        with ws.db.begin() as conn:
            link = conn.execute(text("SELECT source, target, relation FROM lineage_links WHERE source = :s"),
                                {"s": "mloop://alerts/101"}).one()
        assert tuple(link) == ("mloop://alerts/101", report_uri(first.report_digest or ""), "evidence")
    finally:
        ws.close()
    ws = open_ws(repo, database_url, model)  # the default cooldown (6h) now counts from the third
    try:
        records.end_release(ws.db, int(third.release_id or 0), None, "Source", status="Failed", error="ended")
        fourth = retrain_on_drift(ws, drifted(ws, model, 104), detach=False)
        assert fourth is not None and fourth.decision == "skipped"
        assert (fourth.reason or "").startswith(f"cooldown: release {third.release_id} of '{model}' started at ")
        assert [d.alert_id for d in list_decisions(ws, model=model)] == [104, 103, 102, 101]
        assert len(list_releases(ws.db, endpoint=f"ep-{model}")) == 2
    finally:
        ws.close()


def test_concurrent_triggered_starts_make_one_release(repo: Path, database_url: str, model: str) -> None:
    ws = open_ws(repo, database_url, model)
    outcomes: list[str] = []
    barrier = threading.Barrier(4)

    def start(n: int) -> None:
        barrier.wait()
        try:
            create_release(ws, params={"training_source": "both"}, trigger={"kind": "drift", "alert_id": n})
            outcomes.append("started")
        except ReleaseInFlight:
            outcomes.append("refused")

    try:
        threads = [threading.Thread(target=start, args=(n,)) for n in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert sorted(outcomes) == ["refused", "refused", "refused", "started"]
        assert len(list_releases(ws.db, endpoint=f"ep-{model}")) == 1
    finally:
        ws.close()


def test_a_model_the_release_does_not_train_is_skipped_with_the_reason(repo: Path, database_url: str,
                                                                        model: str) -> None:
    ws = open_ws(repo, database_url, model)
    try:
        decision = retrain_on_drift(ws, drifted(ws, "someone-elses-model", 7), detach=False)
        assert decision is not None and decision.decision == "skipped" and decision.release_id is None
        assert decision.reason == (f"drift on 'ep-someone-elses-model' concerns someone-elses-model; "
                                   f"[release] retrains '{model}'")
        assert list_releases(ws.db, endpoint=f"ep-{model}") == []
    finally:
        ws.close()
