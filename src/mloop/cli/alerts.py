"""`mloop alerts`: alerts raised by pipelines and monitors, and their webhook deliveries."""

from __future__ import annotations

from typing import Any

import typer

from mloop.cli._output import JsonOption, console, emit, table, workspace

alerts_app = typer.Typer(help="Alerts and their deliveries.", no_args_is_help=True)


@alerts_app.command("list")
def list_cmd(
    source: str | None = typer.Option(None, "--source", help="Only alerts from this source."),
    severity: str | None = typer.Option(None, "--severity", help="info, warning, error or critical."),
    limit: int = typer.Option(50, "--limit", "-n", help="How many (newest first)."),
    as_json: bool = JsonOption,
) -> None:
    """Alerts, newest first, with whether the webhook received them."""
    # deferred: imports ~30 more modules at start (mloop --help time)
    from mloop.alerts import list_alerts

    items = list_alerts(workspace(), source=source, severity=severity, limit=limit)

    def render(alerts: list[Any]) -> None:
        if not alerts:
            console().print("no alerts")
            return
        rows = [{**a.to_dict(), "detail": ", ".join(f"{k}={v}" for k, v in a.detail.items())} for a in alerts]
        table(rows, ["id", "at", "severity", "source", "title", "detail", "delivery"])

    emit(items, as_json, render)


@alerts_app.command("deliveries")
def deliveries(
    kind: str | None = typer.Option(None, "--kind", help="alert or registry."),
    limit: int = typer.Option(50, "--limit", "-n", help="How many (newest first)."),
    as_json: bool = JsonOption,
) -> None:
    """Webhook delivery attempts (alerts and registry events)."""
    # deferred: imports ~30 more modules at start (mloop --help time)
    from mloop.alerts import list_deliveries

    items = list_deliveries(workspace(), kind=kind, limit=limit)
    emit(items, as_json, lambda rows: table(
        rows, ["id", "at", "kind", "subject", "attempt", "ok", "status_code", "error", "duration_ms"]))


def register(app: typer.Typer) -> None:
    app.add_typer(alerts_app, name="alerts")
