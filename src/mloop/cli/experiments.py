"""`mloop experiments`: A/B tests of an endpoint's variants, decided by an always-valid test."""

from __future__ import annotations

from typing import Any

import typer

from mloop.cli._auth import authorize
from mloop.cli._output import JsonOption, console, emit, table, workspace

ExperimentId = typer.Argument(..., help="Experiment id (see `mloop experiments list`).")
experiments_app = typer.Typer(help="A/B tests on live traffic (always-valid, auto-promote).",
                              no_args_is_help=True)


@experiments_app.command("start")
def start_cmd(
    endpoint: str = typer.Argument(..., help="The endpoint whose variants are compared."),
    variants: str = typer.Option(..., "--variants", help="Two variants, control first: production,canary."),
    metric: str = typer.Option("ctr", "--metric", help="What is compared: ctr (clicks per prediction)."),
    alpha: float = typer.Option(0.05, "--alpha", help="Chance of ever declaring a winner in an A/A test."),
    min_samples: int = typer.Option(1000, "--min-samples", help="Samples per variant before any decision."),
    max_samples: int = typer.Option(50_000, "--max-samples",
                                    help="Samples per variant after which no winner means no_difference."),
    margin: float = typer.Option(0.01, "--margin", help="Rate difference too small to matter (no_difference)."),
    tau: float | None = typer.Option(None, "--tau", help="Lift the test is tuned for (default 0.02)."),
    label_window: str | None = typer.Option(None, "--label-window",
                                            help="Feedback counts within this after a prediction "
                                                 "(default [app] label_window)."),
    auto_promote: bool = typer.Option(False, "--auto-promote", help="Promote a significant winner."),
    as_json: bool = JsonOption,
) -> None:
    """Start an A/B test; it is evaluated at every look (show, dashboard, the app, watch)."""
    # deferred: imports numpy, pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.experiments import start

    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop experiments start`")
    exp = start(ws, endpoint, variants.split(","), metric=metric, alpha=alpha, tau=tau, margin=margin,
                min_samples=min_samples, max_samples=max_samples, auto_promote=auto_promote,
                label_window=label_window, principal=who)

    def render(_: Any) -> None:
        arms = " vs ".join(f"{v['name']} (v{v['model_version']})" for v in exp.variants)
        console().print(f"experiment {exp.id} started on {exp.endpoint}: {arms}, metric {exp.metric}, "
                        f"alpha {alpha}{', auto-promote' if auto_promote else ''}", markup=False)
        console().print(f"watch it: mloop experiments show {exp.id}", markup=False)

    emit(exp.to_dict(), as_json, render)


@experiments_app.command("show")
def show_cmd(experiment_id: int = ExperimentId, as_json: bool = JsonOption) -> None:
    """Look at an experiment now (counts, effect, confidence sequence, always-valid p-value)."""
    # deferred: imports numpy, pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.experiments import evaluate

    emit(evaluate(workspace(), experiment_id), as_json, render_report)


def render_report(report: dict[str, Any]) -> None:
    """A report for people: the decision, each variant's rate, the interval, the rule."""
    out = console()
    out.print(f"experiment {report['id']} on {report['endpoint']} ({report['metric']}): "
              f"{report['decision']}", markup=False)
    table([{**v, "rate": _pct(v.get("rate"))} for v in report["variants"]],
          ["name", "model_version", "samples", "outcomes", "rate", "pending"])
    if report.get("effect") is not None:
        lo, hi = report["interval"]
        out.print(f"effect {_pct(report['effect'], signed=True)} ({report['variants'][1]['name']} - "
                  f"{report['variants'][0]['name']}), {1 - report['settings']['alpha']:.0%} confidence sequence "
                  f"[{_pct(lo, signed=True)}, {_pct(hi, signed=True)}], always-valid p {report['p_value']:.4g}",
                  markup=False)
    if report.get("reason"):
        out.print(f"why: {report['reason']}", markup=False)
    action = report.get("action") or {}
    if action.get("summary") or action.get("reason"):
        out.print(f"action: {action.get('summary') or 'not promoted: ' + action['reason']}", markup=False)
    out.print(f"rule: {report['rule']}", markup=False, style="dim")


def _pct(value: float | None, signed: bool = False) -> str:
    if value is None:
        return "-"
    return f"{value * 100:+.2f} pt" if signed else f"{value:.2%}"


@experiments_app.command("list")
def list_cmd(
    endpoint: str | None = typer.Option(None, "--endpoint", help="Only this endpoint's experiments."),
    status: str | None = typer.Option(None, "--status", help="running, decided or stopped."),
    as_json: bool = JsonOption,
) -> None:
    """Experiments, newest first (the stored state; `show` takes a new look)."""
    # deferred: imports numpy, pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.experiments import list_experiments

    items = list_experiments(workspace(), endpoint=endpoint, status=status)

    def render(rows: list[Any]) -> None:
        if not rows:
            console().print("no experiments; start one with `mloop experiments start ENDPOINT --variants "
                            "production,canary`", markup=False)
            return
        table([{**e.to_dict(), "variants": " vs ".join(v["name"] for v in e.variants),
                "p_value": f"{e.p_value:.4g}"} for e in rows],
              ["id", "endpoint", "variants", "metric", "status", "decision", "p_value", "started_at"])

    emit(items, as_json, render)


@experiments_app.command("stop")
def stop_cmd(experiment_id: int = ExperimentId, as_json: bool = JsonOption) -> None:
    """Stop a running experiment without a decision (nothing is promoted)."""
    # deferred: imports numpy, pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.experiments import stop

    ws = workspace()
    authorize(ws, "deployer", action="`mloop experiments stop`")
    exp = stop(ws, experiment_id)
    emit(exp.to_dict(), as_json, lambda e: console().print(f"experiment {e['id']} stopped", markup=False))


@experiments_app.command("watch")
def watch_cmd(
    interval: float = typer.Option(30.0, "--interval", help="Seconds between looks."),
    endpoint: str | None = typer.Option(None, "--endpoint", help="Only this endpoint's experiments."),
    once: bool = typer.Option(False, "--once", help="Look once and exit."),
) -> None:
    """Look at every running experiment periodically (decides and promotes; Ctrl-C stops)."""
    import time

    # deferred: imports numpy, pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.experiments import evaluate_running

    ws = workspace()
    while True:
        for report in evaluate_running(ws, endpoint):
            rates = ", ".join(f"{v['name']} {v['outcomes']}/{v['samples']}" for v in report["variants"])
            console().print(f"experiment {report['id']} on {report['endpoint']}: {report['decision']} "
                            f"({rates}, p {report['p_value']:.4g})", markup=False)
        if once:
            return
        time.sleep(max(interval, 0.1))  # the period of a polling loop, not a wait for a condition


def register(app: typer.Typer) -> None:
    app.add_typer(experiments_app, name="experiments")
