"""Retraining on drift: a drift alert starts a release that trains on logged interactions.

With `[monitoring] retrain_on_drift = true`, a drift report that raised an alert starts a release
of the `[release]` pipeline with `training_source=both` (the feature group plus the interactions
labelled by feedback), driven in the background. The release waits for a person to approve the
version it registers, like any other. Alerts come in bursts (a cron every few minutes over the
same shift), so at most one retraining release per model is in flight (checked under the
release lock, race-free) and none starts within `retrain_cooldown` of the last; every decision,
started or skipped and why, is a row of `drift_retrains` and part of the report. Starting a
release needs the deployer role, as `mloop release start` does: in a workspace whose commands
authenticate, the monitor runs with a deployer's MLOOP_TOKEN or its retrains are skipped (recorded).

Lineage: alert --evidence--> drift report (its digest) --started--> release --registered--> version.
"""

from __future__ import annotations

import logging
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mloop.auth import require
from mloop.errors import ConfigError, MloopError
from mloop.features import flush_records
from mloop.lineage import record_link
from mloop.monitoring.tables import drift_retrains
from mloop.pipelines import load_pipeline
from mloop.recipes.durations import parse_duration
from mloop.release import ReleaseInFlight, create_release, spawn_driver
from mloop.release.service import release_settings

if TYPE_CHECKING:
    from mloop.monitoring.drift import DriftReport
    from mloop.store import Workspace

log = logging.getLogger("mloop.monitoring")
STARTED, SKIPPED = "started", "skipped"


@dataclass
class RetrainDecision:
    """What one drift alert led to: a release started, or why none was."""

    id: int
    at: datetime
    endpoint: str
    model: str | None
    alert_id: int | None
    report_digest: str | None
    report_uri: str | None
    decision: str  # started | skipped
    reason: str | None
    release_id: int | None

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["at"] = self.at.isoformat()
        return data


def report_uri(digest: str) -> str:
    """The lineage node of a drift report: named by the digest of its stored HTML page."""
    return f"mloop://monitoring/drift-reports/{digest}"


def retrain_on_drift(ws: Workspace, report: DriftReport, *, detach: bool = True) -> RetrainDecision | None:
    """Start a retraining release for a drift report that raised an alert, or record why not.

    Args:
        ws: the workspace (inside the git working tree of the project, like any release).
        report: a written report (`paths` has its digest) with `alert_id` set.
        detach: drive the release from a background process (the monitor returns at once).

    Returns:
        The recorded decision; None when `retrain_on_drift` is off or the report raised no alert.
    """
    if not ws.settings.monitoring.retrain_on_drift or not report.drifted or report.alert_id is None:
        return None
    digest = report.paths.get("digest")
    if digest:
        record_link(ws.db, f"mloop://alerts/{report.alert_id}", report_uri(digest), "evidence",
                    {"kind": "alert", "id": report.alert_id, "endpoint": report.endpoint})
    model, release_id, reason = _start(ws, report, detach)
    decision = _record(ws, report, model, release_id, reason)
    if decision.decision == STARTED:
        log.warning("drift alert #%s started retraining release %s of %s", report.alert_id, release_id, model)
    else:
        log.warning("drift alert #%s: retraining skipped: %s", report.alert_id, reason)
    return decision


def _start(ws: Workspace, report: DriftReport, detach: bool) -> tuple[str | None, int | None, str | None]:
    """(model, release id, None) when a release started, else (model, busy release or None, why)."""
    try:
        cfg = release_settings(ws)
    except ConfigError as exc:
        return None, None, f"{exc.message}: {exc.hint}"
    model = str(cfg.model)
    served = sorted({str(s["model_name"]) for s in report.segments if s.get("model_name")})
    if model not in served:
        return model, None, (f"drift on '{report.endpoint}' concerns {', '.join(served) or 'no named model'}; "
                             f"[release] retrains '{model}'")
    last = last_started(ws, model)
    cooldown = _cooldown(ws)
    if last is not None and datetime.now(UTC) - last.at < cooldown:
        return model, last.release_id, (
            f"cooldown: release {last.release_id} of '{model}' started at {last.at:%Y-%m-%d %H:%M:%S} UTC, "
            f"less than retrain_cooldown ({ws.settings.monitoring.retrain_cooldown}) ago")
    try:
        who = require(ws, "deployer", action="retraining on drift (it starts a release)")
        params = _params(ws, str(cfg.pipeline))
        release = _create(ws, report, params, who.name)
    except MloopError as exc:  # in flight (names the release), dirty tree, no deployer token...
        busy = exc.details.get("release_id") if isinstance(exc, ReleaseInFlight) else None
        return model, busy, exc.message + (f" ({exc.hint})" if exc.hint else "")
    _link(ws, report, release.id)
    if detach:
        spawn_driver(ws, release.id)
    return model, release.id, None


def _params(ws: Workspace, pipeline: str) -> dict[str, Any]:
    """Run parameters that train on the loop's data; the pipeline must take `training_source`."""
    definition = load_pipeline(ws, pipeline)
    if "training_source" not in definition.params:
        raise ConfigError(f"pipeline '{pipeline}' has no training_source parameter: it cannot train on "
                          "logged interactions",
                          hint="Retraining on drift needs a pipeline like ad-click-ctr; or set "
                          "[monitoring] retrain_on_drift = false.")
    app = ws.settings.app
    params: dict[str, Any] = {"training_source": "both"}
    for key, value in (("interactions_group", app.interactions_group), ("feedback_group", app.feedback_group),
                       ("label_window", app.label_window)):
        if key in definition.params:
            params[key] = value
    return params


def _create(ws: Workspace, report: DriftReport, params: dict[str, Any], principal: str) -> Any:
    app = ws.settings.app
    for group in (app.interactions_group, app.feedback_group):
        flush_records(ws, group)  # spooled interactions and feedback join the offline store first
    trigger = {"kind": "drift", "alert_id": report.alert_id, "endpoint": report.endpoint,
               "report_digest": report.paths.get("digest"), "report": report.paths.get("artifact")}
    return create_release(ws, params=params, trigger=trigger, principal=principal)


def _link(ws: Workspace, report: DriftReport, release_id: int) -> None:
    digest = report.paths.get("digest")
    if digest:
        drifted = [s["label"] for s in report.segments if s["status"] == "drift"]
        record_link(ws.db, report_uri(digest), f"mloop://releases/{release_id}", "started",
                    {"kind": "drift-report", "digest": digest, "uri": report.paths.get("artifact"),
                     "endpoint": report.endpoint, "window": report.window, "drifted": drifted,
                     "generated_at": report.generated_at})


def _cooldown(ws: Workspace) -> timedelta:
    return parse_duration(ws.settings.monitoring.retrain_cooldown)  # checked when the settings loaded


def _record(ws: Workspace, report: DriftReport, model: str | None, release_id: int | None,
            reason: str | None) -> RetrainDecision:
    values: dict[str, Any] = {
        "at": datetime.now(UTC), "endpoint": report.endpoint, "model": model,
        "alert_id": int(report.alert_id) if report.alert_id is not None else None,
        "report_digest": report.paths.get("digest"), "report_uri": report.paths.get("artifact"),
        "decision": SKIPPED if reason else STARTED, "reason": reason, "release_id": release_id,
    }
    with ws.db.begin() as conn:
        key = conn.execute(drift_retrains.insert().values(**values)).inserted_primary_key
    return RetrainDecision(id=int(key[0]) if key else 0, **values)


def last_started(ws: Workspace, model: str) -> RetrainDecision | None:
    """The newest decision that started a release of `model` (what the cooldown counts from)."""
    found = list_decisions(ws, model=model, decision=STARTED, limit=1)
    return found[0] if found else None


def list_decisions(ws: Workspace, *, model: str | None = None, decision: str | None = None,
                   limit: int = 50) -> list[RetrainDecision]:
    """Retraining decisions, newest first."""
    dr = drift_retrains
    query = select(dr).order_by(dr.c.id.desc()).limit(limit)
    if model:
        query = query.where(dr.c.model == model)
    if decision:
        query = query.where(dr.c.decision == decision)
    with ws.db.begin() as conn:
        rows = conn.execute(query).all()
    return [RetrainDecision(**r._mapping) for r in rows]
