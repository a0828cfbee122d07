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
    """PSI and KS per feature, missing rates, prediction distribution; alert past the thresholds.

    Exits 2 when a threshold was passed (for CI and cron), 0 otherwise.
    """
    from mloop.monitoring import drift_report
    from mloop.monitoring.reference import read_reference_file

    ws = workspace()
    ref = read_reference_file(str(reference)) if reference else None
    report = drift_report(ws, endpoint, window=window, reference=ref, alert=not no_alert)
    emit(report.to_dict(), as_json, _render)
    if report.drifted:
        raise typer.Exit(2)


def _render(data: dict[str, Any]) -> None:
    out = console()
    out.print(f"endpoint [bold]{data['endpoint']}[/] · window {data['window']} · "
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
    if data["drifted"]:
        out.print(f"[bold red]drift[/]: {'; '.join(data['reasons'])}")
        if data.get("alert_id") is not None:
            out.print(f"alert #{data['alert_id']} raised (see `mloop alerts list`)")
    else:
        out.print("[green]no threshold passed[/]" + (f" ({data['reasons'][0]})" if data["reasons"] else ""))
    out.print(f"report: {data['paths'].get('html')}")


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
