"""Chapter: the reference pipelines — train, gate, register (Pending), re-run from cache, alert."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from mloop.alerts import list_alerts
from mloop.demo import DemoContext
from mloop.errors import MloopError
from mloop.features import create_group, data_version, flush_records, ingest, list_groups
from mloop.pipelines import load_artifact, run_pipeline
from mloop.recipes.datasets.ad_clicks import ad_clicks, ad_clicks_spec

if TYPE_CHECKING:
    from mloop.pipelines import RunRecord

TITLE = "Pipelines: ad-click-ctr and housing — validate, train, evaluate, gate, register or alert"
NEEDS: tuple[str, ...] = ("features",)
GROUP = "ad-clicks"
MODEL = "ad-click-ctr"
HOUSING_MODEL = "housing"
# Small and quick: the demo shows the loop, not the best model.
AD_CLICK_PARAMS: dict[str, Any] = {"n_estimators": 60, "max_depth": 4, "learning_rate": 0.15,
                                   "auc_threshold": 0.65, "model_name": MODEL}
HOUSING_PARAMS: dict[str, Any] = {"data_source": "synthetic:10000", "n_estimators": 20, "max_depth": 9,
                                  "model_name": HOUSING_MODEL}
_COLOURS = {"Succeeded": "green", "Cached": "cyan", "Skipped": "dim", "Failed": "red"}


def run(ctx: DemoContext) -> None:
    ws = ctx.workspace
    _more_clicks(ctx)
    first = _run(ctx, "ad-click-ctr", AD_CLICK_PARAMS)
    report = first.step("evaluate").metrics
    registered = _registered(ctx, first)
    ctx.did(f"AUC {report['auc']:.3f} ≥ {AD_CLICK_PARAMS['auc_threshold']}: registered {MODEL} "
            f"v{registered['version']} as [bold]{registered['status']}[/]", f"mloop models show {MODEL}")

    again = _run(ctx, "ad-click-ctr", AD_CLICK_PARAMS)
    cached = [s.name for s in again.steps if s.status == "Cached"]
    same = _registered(ctx, again)
    ctx.did(f"re-ran in {again.duration_s:.2f} s: {len(cached)} steps Cached ({', '.join(cached)}); "
            f"register ran, found the model files unchanged and kept v{same['version']} "
            "(no duplicate version to review)", f"mloop runs show {again.id}")

    failing = _run(ctx, "ad-click-ctr", {**AD_CLICK_PARAMS, "auc_threshold": 0.99})
    alert = failing.step("alert")
    ctx.did(f"with auc_threshold=0.99 the gate failed: register Skipped, alert {alert.status}",
            "mloop alerts list")

    latest = list_alerts(ws, limit=1)[0]
    ctx.say(f"[yellow]alert #{latest.id} ({latest.severity})[/]: {latest.title}")

    housing = _run(ctx, "housing", HOUSING_PARAMS)
    r2 = housing.step("evaluate").metrics["r2"]
    house = _registered(ctx, housing)
    ctx.did(f"housing on [bold]SYNTHETIC[/] California-Housing-schema rows: RandomForest R² {r2:.3f} "
            f"(derived: bedroom_ratio, people_per_household, dist_to_bay); registered "
            f"{HOUSING_MODEL} v{house['version']} ({house['status']})", f"mloop runs show {housing.id}")
    ctx.say(f"try: [bold]mloop runs list[/] · [bold]mloop runs show {first.id}[/] · "
            f"[bold]mloop run ad-click-ctr --param max_depth=5[/]")
    ctx.state.update(pipeline_run_id=first.id, pipeline_cached_run_id=again.id,
                     pipeline_alert_run_id=failing.id, housing_run_id=housing.id,
                     pipeline_model=MODEL, pipeline_model_version=int(registered["version"]),
                     pipeline_model_uri=registered["model_uri"], pipeline_auc=float(report["auc"]),
                     housing_model=HOUSING_MODEL, housing_model_version=int(house["version"]),
                     housing_r2=float(r2))


def _more_clicks(ctx: DemoContext) -> None:
    """Top the feature group up to ~20k impressions (a new data version: extract re-runs)."""
    ws = ctx.workspace
    if GROUP not in {g.name for g in list_groups(ws)}:
        create_group(ws, ad_clicks_spec(GROUP))
    path = ws.root / "data" / "ad_clicks_more.csv"
    path.parent.mkdir(exist_ok=True)
    ad_clicks(15_000, seed=20).to_csv(path, index=False)
    report = ingest(ws, path, GROUP)
    flush_records(ws, GROUP)  # records put earlier join the offline store now, not mid-demo
    ctx.did(f"ingested {report.ingested:,} more ad impressions into '{GROUP}' "
            f"(data version {data_version(ws, GROUP)})", str(path))


def _run(ctx: DemoContext, name: str, params: dict[str, Any]) -> RunRecord:
    started = time.perf_counter()
    record = run_pipeline(ctx.workspace, name, params)
    took = time.perf_counter() - started
    shown = ", ".join(f"{k}={v}" for k, v in params.items() if k != "model_name")
    ctx.did(f"mloop run {name} ({shown}) → [bold]{record.status}[/] in {took:.2f} s", f"run {record.id}")
    for step in record.steps:
        colour = _COLOURS.get(step.status, "white")
        took_step = f"{step.duration_s:.2f} s" if step.duration_s else ""
        ctx.say(f"  [{colour}]{step.status:<9}[/] {step.name:<20} {took_step}")
    if record.status != "Succeeded":
        raise MloopError(f"pipeline {name} ended {record.status}: {record.error}",
                         hint=f"mloop runs logs {record.id}")
    return record


def _registered(ctx: DemoContext, record: RunRecord) -> dict[str, Any]:
    return dict(load_artifact(ctx.workspace, record.id, "register", "output"))
