"""Chapter: log a model to MLflow, register it (Pending), approve it, resolve the latest approved."""

from __future__ import annotations

from mloop import registry, tracking
from mloop.demo import DemoContext
from mloop.errors import MloopError

TITLE = "Registry: MLflow model versions with a manual-approval workflow"
NEEDS: tuple[str, ...] = ()
MODEL = "demo-classifier"


def run(ctx: DemoContext) -> None:
    ws = ctx.workspace
    run_id, uri, auc = _train_and_log(ctx)
    version = registry.register(ws, MODEL, uri, run_id=run_id, metrics={"auc": auc},
                                metadata={"source": "demo"})
    ctx.did(f"registered {MODEL} version {version.version}: [bold]{version.status}[/]", version.model_uri)
    try:
        registry.latest_approved(ws, MODEL)
    except MloopError as exc:
        ctx.say(f"latest_approved({MODEL!r}) -> [red]{exc.message}[/]")
        ctx.say(f"[dim]hint: {exc.hint}[/]")
    approver = ws.settings.principal
    approved = registry.approve(ws, MODEL, version.version, principal=approver,
                                comment=f"AUC {auc:.3f} on the holdout; looks good")
    ctx.did(f"{approver} approved version {approved.version}",
            f"MLflow tag {registry.STATUS_TAG}={approved.status}")
    latest = registry.latest_approved(ws, MODEL)
    model = tracking.load_pyfunc(ws, latest.model_uri)
    score = float(model.predict(_rows(1))[0])
    ctx.did(f"resolved the latest approved: {latest.model_uri}; it scores a row at {score:.3f}")
    for step in registry.history(ws, MODEL):
        ctx.say(f"[dim]{step.at:%H:%M:%S}[/] v{step.version} {step.from_status or 'new'} → "
                f"{step.to_status} by {step.principal}" + (f": {step.comment}" if step.comment else ""))
    ctx.say(f"try: [bold]mloop models show {MODEL}[/] · [bold]mloop models history {MODEL}[/]")
    ctx.state.update(registry_model=MODEL, registry_version=latest.version,
                     registry_model_uri=latest.model_uri)


def _rows(n: int, seed: int = 0):  # type: ignore[no-untyped-def]
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    return pd.DataFrame(rng.normal(size=(n, 3)), columns=["x1", "x2", "x3"])


def _train_and_log(ctx: DemoContext) -> tuple[str, str, float]:
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import roc_auc_score

    # deferred: imports MLflow, pandas (loaded when this chapter runs)
    from mloop.tracking.wrappers import log_estimator

    x = _rows(400)
    noise = _rows(400, seed=1)["x3"]
    y = (x["x1"] + 0.5 * x["x2"] + 0.8 * noise > 0).astype(int)
    model = LogisticRegression().fit(x[:300], y[:300])
    auc = float(roc_auc_score(y[300:], model.predict_proba(x[300:])[:, 1]))
    with tracking.start_run(ctx.workspace, experiment="demo-registry", run_name="logreg",
                            params={"model": "LogisticRegression", "rows": 400}) as run:
        run.log_metrics({"auc": auc})
        uri = log_estimator(ctx.workspace, run.run_id, model, input_example=x[:2])
    ctx.did(f"trained a logistic regression (AUC {auc:.3f}) and logged it to MLflow run {run.run_id[:12]}",
            ctx.workspace.settings.tracking_uri)
    return run.run_id, uri, auc
