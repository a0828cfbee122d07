"""`mloop step exec`: run one step of a run against the shared stores (what a KFP task runs)."""

from __future__ import annotations

from pathlib import Path

import typer

from mloop.cli._output import JsonOption, console, emit, workspace
from mloop.cli.run import ParamOption

step_app = typer.Typer(help="Run single steps (used by compiled Kubeflow pipelines).",
                       no_args_is_help=True)


@step_app.command("exec")
def exec_cmd(
    pipeline: str = typer.Option(..., "--pipeline", help="Pipeline name or module:function."),
    run_id: str = typer.Option(..., "--run-id", help="The run this step belongs to."),
    step: str = typer.Option(..., "--step", help="The step to execute."),
    param: list[str] = ParamOption,
    graph_hash: str | None = typer.Option(None, "--graph-hash", help="Refuse a different definition."),
    result_file: Path | None = typer.Option(None, "--result-file",
                                            help="Condition steps write true/false here."),
    no_tracking: bool = typer.Option(False, "--no-tracking", help="Do not log to MLflow."),
    as_json: bool = JsonOption,
) -> None:
    """Execute one step, reading inputs recorded by earlier steps; exit 1 if it fails.

    Runs as MLOOP_TOKEN's principal (a deployer: a step may register and deploy) when the
    workspace authenticates commands; the run is recorded under that principal.
    """
    from mloop.auth import require
    from mloop.cli.main import _print_error
    from mloop.pipelines.catalog import parse_param_args
    from mloop.pipelines.stepexec import exec_step

    ws = workspace()
    who = require(ws, "deployer", action="`mloop step exec`")
    record = exec_step(ws, pipeline, run_id, step, parse_param_args(param), graph_hash=graph_hash,
                       result_file=result_file, tracking=not no_tracking,
                       principal=who.name if who.authenticated else None)
    emit(record.to_dict(), as_json, lambda d: console().print(
        f"step [bold]{d['name']}[/] of run {run_id}: {d['status']}"))
    if record.status not in ("Succeeded", "Cached", "Skipped"):
        _print_error(f"step '{step}' {record.status}: {record.message}",
                     f"See `mloop runs logs {run_id} --step {step}`.")
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    app.add_typer(step_app, name="step")
