"""Chapter: drift on shifted traffic raises an alert; retraining on the loop registers a version."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

from mloop import lineage, registry
from mloop.demo import DemoContext
from mloop.demo.pipelines import AD_CLICK_PARAMS
from mloop.demo.traffic import send_users, users
from mloop.features import flush_records
from mloop.monitoring import drift_report
from mloop.pipelines import run_pipeline

TITLE = "Monitoring: drift vs the training data, an alert, retraining on logged interactions"
NEEDS: tuple[str, ...] = ("features", "pipelines", "serving", "app")
SHIFTED_USERS = 200


def run(ctx: DemoContext) -> None:
    ws = ctx.workspace
    endpoint, url = ctx.state["app_endpoint"], ctx.state["app_url"]
    started = time.monotonic()
    calm = drift_report(ws, endpoint, window="1h")
    _show(ctx, calm, "traffic like the training data")
    since = datetime.now(UTC)
    stats = send_users(url, users(SHIFTED_USERS, seed=23, shifted=True), seed=23)
    ctx.did(f"sent {stats['predictions']} users from a shifted population "
            "(older, mostly tablets, ads at the bottom)")
    now = datetime.now(UTC)
    window = f"{(now - since).total_seconds():.3f}s"  # exactly the shifted traffic
    shifted = drift_report(ws, endpoint, window=window, now=now)
    _show(ctx, shifted, f"the shifted traffic only (window = the last {(now - since).total_seconds():.0f} s)")
    if shifted.alert_id is not None:
        ctx.did(f"alert #{shifted.alert_id} raised through mloop.alerts (log + webhook when configured)",
                "mloop alerts list")
    ctx.state.update(drift_calm=calm.drifted, drift_shifted=shifted.drifted, drift_alert=shifted.alert_id,
                     drift_report=shifted.paths.get("html"))
    _retrain(ctx)
    ctx.say(f"[dim]monitoring chapter took {time.monotonic() - started:.1f} s[/]")


def _show(ctx: DemoContext, report: Any, what: str) -> None:
    worst = sorted(report.features, key=lambda f: -f.psi)[:3]
    psi = ", ".join(f"{f.feature} PSI {f.psi:.2f}" for f in worst)
    if "psi" in report.prediction:
        psi += f"; predictions PSI {report.prediction['psi']:.2f}"
    verdict = "[bold red]DRIFT[/]" if report.drifted else "[green]no drift[/]"
    served = report.reference.get("name") or report.reference.get("source")
    ctx.did(f"drift report on {what}: {report.rows_current} interactions vs {report.rows_reference} "
            f"training rows ({served}) → {verdict} ({psi})", report.paths.get("html"))


def _retrain(ctx: DemoContext) -> None:
    ws = ctx.workspace
    app = ws.settings.app
    params = {**AD_CLICK_PARAMS, "training_source": "both", "label_window": app.label_window,
              "interactions_group": app.interactions_group, "feedback_group": app.feedback_group}
    model = str(params["model_name"])
    for group in (app.interactions_group, app.feedback_group):
        flush_records(ws, group)  # spooled records join the offline store: a new data version
    before = {v.version for v in registry.versions(ws, model)}
    record = run_pipeline(ws, "ad-click-ctr", params)
    joined = record.step("join_interactions")
    auc = record.step("evaluate").metrics.get("auc")
    labelled = int(joined.metrics.get("labelled_interactions", 0))
    ctx.did(f"retrained ad-click-ctr on the feature group + {labelled} interactions labelled within "
            f"{app.label_window} of their prediction (point in time): run {record.status}, AUC {auc:.3f}",
            f"mloop runs show {record.id}")
    _show_lineage(ctx, record.id)
    new = [v for v in registry.versions(ws, model) if v.version not in before]
    if new:
        ctx.did(f"new version {model} v{new[-1].version} arrived in the registry as [bold]{new[-1].status}[/]"
                " — waiting for a person to approve it", f"mloop models show {model}")
        ctx.state.update(retrained_version=new[-1].version, retrained_status=new[-1].status)
    else:
        ctx.say(f"[yellow]the AUC gate kept the retrained model out of the registry (AUC {auc:.3f})[/]")
    ctx.state.update(retrain_run_id=record.id)


def _show_lineage(ctx: DemoContext, run_id: str) -> None:
    graph = lineage.pipeline(ctx.workspace, "ad-click-ctr", run_id=run_id)
    node = next(n for n in graph["graph"]["nodes"] if n["id"] == "join_interactions")
    groups = [f"{i['name']} (data version {i.get('dataVersion')})" for i in node["inputs"]
              if i.get("from") == "feature-group"]
    ctx.did("lineage: the run read " + ", ".join(groups), "mloop lineage show ad-click-ctr")
