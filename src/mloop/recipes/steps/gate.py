"""The two branches of the metric gate: register the model (PendingManualApproval) or alert."""

from __future__ import annotations

import math
from typing import Any

from mloop import registry, tracking
from mloop.alerts import raise_alert
from mloop.model_format import TabularModel
from mloop.pipelines import current_context, step
from mloop.recipes.steps.training import log_tabular_model


def _facts(report: dict) -> dict[str, Any]:
    return {k: v for k, v in report.items()
            if isinstance(v, int | float | str | bool) and not (isinstance(v, float) and math.isnan(v))}


@step(name="register", kind="RegisterModel")
def register_model(model: TabularModel, model_uri: str, report: dict, model_name: str,
                   threshold: float | None = None) -> dict:
    """Register the trained model through `mloop.registry` (starts PendingManualApproval).

    When the training step ran without tracking (no MLflow run: tracking was off, or the server
    was down and the run's tracking is pending), the model is logged here first, into a run that
    carries the model's parameters and the evaluation's metrics: a version never points at an
    empty MLflow run. `threshold` is the gate the model passed (reported with the outcome).
    """
    ctx = current_context()
    ws = ctx.workspace
    if not model_uri:
        experiment = str(ctx.params.get("experiment_name") or model_name)
        params = {"estimator": model.estimator_kind, "task": model.task, **model.params}
        with tracking.start_run(ws, experiment=experiment, run_name=f"{ctx.run_id}/register",
                                params={k: v for k, v in params.items() if v is not None},
                                tags={"mloop.run_id": ctx.run_id, "mloop.step": ctx.step_name}) as run:
            numbers = {k: float(v) for k, v in _facts(report).items()
                       if isinstance(v, int | float) and not isinstance(v, bool)}
            tracking.log_metrics(ws, run.run_id, numbers)
            model_uri = log_tabular_model(ws, run.run_id, model, _example(model))
    metadata = {"pipeline_run_id": ctx.run_id, "step": ctx.step_name, "task": model.task,
                "estimator": model.estimator_kind, "features": model.feature_names,
                "features_left_out": model.metadata.get("features_left_out") or {},
                "train_rows": model.metadata.get("train_rows"),
                "dataset": model.metadata.get("dataset"), "synthetic": bool(model.metadata.get("synthetic"))}
    version = registry.register(ws, model_name, model_uri, metrics=_facts(report), metadata=metadata)
    if version.reused:
        print(f"model files unchanged: {version.name} version {version.version} ({version.status}) already "
              f"holds them; no new version registered")
    else:
        print(f"registered {version.name} version {version.version} ({version.status}) from {model_uri}")
    return {"name": version.name, "version": version.version, "status": version.status,
            "model_uri": version.model_uri, "source_uri": model_uri, "metric": report.get("metric"),
            "score": report.get("score"), "threshold": threshold, "reused": version.reused}


def _example(model: TabularModel) -> Any:
    import pandas as pd

    return pd.DataFrame([{name: None for name in model.feature_names}])


@step(name="alert", kind="Alert")
def send_alert(report: dict, threshold: float, model_name: str, severity: str = "warning") -> dict:
    """Raise an alert through `mloop.alerts`: the model missed its gate and was not registered."""
    ctx = current_context()
    metric, score = report.get("metric", "score"), report.get("score")
    title = (f"{model_name}: {metric} {score:.4f} is below the threshold {threshold} - not registered"
             if isinstance(score, float) else f"{model_name}: evaluation missed the threshold {threshold}")
    detail = {"pipeline_run_id": ctx.run_id, "metric": metric, "score": score, "threshold": threshold,
              "model_name": model_name, "report": _facts(report)}
    alert = raise_alert(ws=ctx.workspace, source=f"pipeline/{ctx.run_id}/{ctx.step_name}", severity=severity,
                        title=title, detail=detail)
    print(f"alert #{alert.id} ({alert.severity}): {title}; delivery: {alert.delivery}")
    return {"alert_id": alert.id, "title": title, "delivery": alert.delivery, "metric": metric,
            "score": score, "threshold": threshold, "model_name": model_name}
