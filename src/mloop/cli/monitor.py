"""`mloop monitor drift`: live traffic vs the training data of the model that served it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from mloop.cli._output import JsonOption, console, emit, table, workspace

monitor_app = typer.Typer(help="Monitor endpoints: drift between traffic and training data.",
                          no_args_is_help=True)


@monitor_app.command("drift")
def drift(
    endpoint: str = typer.Argument(..., help="Endpoint name (or the URL the app was started with)."),
    window: str | None = typer.Option(
        None, "--window", "-w", help="How far back: 30m, 1h, 7d (default: the monitoring.window setting)."),
    reference: Path | None = typer.Option(
        None, "--reference", help="Training data file (CSV/Parquet) instead of lineage."),
    no_alert: bool = typer.Option(False, "--no-alert", help="Report only; never raise an alert."),
    as_json: bool = JsonOption,
) -> None:
    """PSI and KS per feature, missing rates, prediction distribution, overall and per model
    version and variant; alert past the thresholds (and retrain, with retrain_on_drift).

    Exits 2 when a threshold was passed (for CI and cron), 0 otherwise.
    """
    # deferred: imports ~30 more modules at start (mloop --help time)
    from mloop.monitoring import drift_report
    from mloop.monitoring.reference import read_reference_file

    ws = workspace()
    ref = read_reference_file(str(reference)) if reference else None
    report = drift_report(ws, endpoint, window=window, reference=ref, alert=not no_alert)
    emit(report.to_dict(), as_json, _render)
    if report.drifted:
        raise typer.Exit(2)


def escape(text: str) -> str:
    """Data printed through Rich is not markup: `[bold]` in a variant name prints as typed."""
    from rich.markup import escape as rich_escape

    return rich_escape(text)


def _render(data: dict[str, Any]) -> None:
    out = console()
    out.print(f"endpoint [bold]{escape(data['endpoint'])}[/] · window {data['window']} · "
              f"{data['rows_current']} interactions vs {data['rows_reference']} training rows")
    rows = [{"feature": f["feature"], "kind": f["kind"], "psi": f["psi"], "ks": f["ks_statistic"],
             "missing": f"{f['missing_current']:.1%}", "drift": "DRIFT" if f["drifted"] else "ok"}
            for f in data["features"]]
    table(rows, ["feature", "kind", "psi", "ks", "missing", "drift"])
    pred = data["prediction"]
    if pred.get("count"):
        vs = (f"; PSI {pred['psi']:.3f} vs the model's scores on its training data (mean "
              f"{pred['reference_mean']:.3f})" if "psi" in pred else "")
        out.print(f"predictions: {pred['count']}, mean {pred['mean']:.3f}{vs}")
    _render_segments(data.get("segments") or [])
    if data["drifted"]:
        out.print(f"[bold red]drift[/]: {escape('; '.join(data['reasons']))}")
        if data.get("alert_id") is not None:
            out.print(f"alert #{data['alert_id']} raised (see `mloop alerts list`)")
    else:
        out.print("[green]no threshold passed[/]" + (f" ({escape(data['reasons'][0])})" if data["reasons"] else ""))
    retrain = data.get("retrain")
    if retrain:
        if retrain["decision"] == "started":
            out.print(f"retraining: release {retrain['release_id']} of {escape(str(retrain['model']))} started "
                      f"(training_source=both); it waits for approval: `mloop release status {retrain['release_id']}`")
        else:
            out.print(f"[yellow]retraining skipped[/]: {escape(str(retrain['reason']))}")
    out.print(f"report: {data['paths'].get('html')}")


def _render_segments(segments: list[dict[str, Any]]) -> None:
    if not segments:
        return
    rows = []
    for s in segments:
        worst = sorted(s["features"], key=lambda f: -f["psi"])[:3]
        rows.append({"model version · variant": escape(s["label"]), "rows": s["rows"], "verdict": s["status"],
                     "highest PSI": ", ".join(f"{escape(f['feature'])} {f['psi']:.3f}" for f in worst) or "-",
                     "mean prediction": (f"{s['prediction']['mean']:.3f}" if s["prediction"].get("count") else None)})
    table(rows, ["model version · variant", "rows", "verdict", "highest PSI", "mean prediction"],
          title="by model version and variant")


@monitor_app.command("retrains")
def retrains(
    model: str | None = typer.Option(None, "--model", "-m", help="Only this model's decisions."),
    limit: int = typer.Option(20, "--limit", "-n", min=1, help="How many, newest first."),
    as_json: bool = JsonOption,
) -> None:
    """What retrain_on_drift decided for each drift alert: a release started, or why not."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.monitoring.retrain import list_decisions

    found = [d.to_dict() for d in list_decisions(workspace(), model=model, limit=limit)]
    emit(found, as_json, lambda rows: table(
        [{**r, "reason": escape(r["reason"] or "")} for r in rows],
        ["id", "at", "endpoint", "model", "alert_id", "decision", "release_id", "reason"]))


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
