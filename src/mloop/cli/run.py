"""`mloop run PIPELINE` (with a live view of the steps), `mloop compile`, `mloop pipelines list`."""

from __future__ import annotations

import shlex
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from mloop.cli._auth import authorize
from mloop.cli._output import JsonOption, console, emit, print_json, table, workspace

if TYPE_CHECKING:
    from mloop.pipelines.runs import RunRecord

pipelines_app = typer.Typer(help="List the pipelines this workspace can run.", no_args_is_help=True)

STYLE = {"Pending": "dim", "Executing": "bold yellow", "Succeeded": "green", "Cached": "cyan",
         "Skipped": "dim", "Failed": "bold red", "Stopped": "magenta"}
ParamOption = typer.Option([], "--param", "-p", help="A run parameter, key=value (repeatable).")


class LiveView:
    """A Rich table of the steps, updated from executor events."""

    def __init__(self) -> None:
        self.run_id = ""
        self.steps: dict[str, dict[str, Any]] = {}

    def on_event(self, name: str, status: str, details: dict[str, Any]) -> None:
        if status == "run":
            self.run_id = details["run_id"]
            self.steps = {s: {"status": "Pending", "t0": None, "elapsed": None, "note": ""}
                          for s in details["steps"]}
            return
        row = self.steps.setdefault(name, {"t0": None, "elapsed": None, "note": ""})
        row["status"] = status
        if status == "Executing":
            row["t0"] = time.perf_counter()
        elif row.get("t0") is not None:
            row["elapsed"] = time.perf_counter() - row["t0"]
        note = details.get("message") or ""
        if details.get("attempts", 1) and details.get("attempts", 1) > 1:
            note = f"{details['attempts']} attempts; {note}"
        row["note"] = note

    def render(self) -> Any:
        from rich.markup import escape
        from rich.table import Table

        grid = Table(title=f"run {self.run_id}", title_justify="left", expand=False)
        for col in ("step", "status", "time", "note"):
            grid.add_column(col)
        for name, row in self.steps.items():
            elapsed = row["elapsed"]
            if elapsed is None and row.get("t0") is not None:
                elapsed = time.perf_counter() - row["t0"]
            status = row["status"]
            grid.add_row(name, f"[{STYLE.get(status, '')}]{status}[/]",
                         "-" if elapsed is None else f"{elapsed:.2f}s", escape(row["note"][:80]))
        return grid


def _interrupt_on_sigterm(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt


def execute_with_view(action: Any, as_json: bool) -> RunRecord:
    """Run `action(on_event=...)` with the live view (or silently for --json).

    SIGTERM (`kill`, a supervisor stopping the job) stops the run like Ctrl-C does, so the run
    ends Stopped and `mloop runs retry` can finish it, instead of staying Executing forever.
    """
    import signal

    previous = signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    try:
        return _execute(action, as_json)
    finally:
        signal.signal(signal.SIGTERM, previous)


def _execute(action: Any, as_json: bool) -> RunRecord:
    if as_json or not sys.stdout.isatty():
        view = LiveView()
        if as_json:
            return action(on_event=view.on_event)
        record = action(on_event=view.on_event)
        console().print(view.render())
        return record
    from rich.live import Live

    view = LiveView()
    with Live(get_renderable=view.render, console=console(), refresh_per_second=8, transient=False):
        return action(on_event=view.on_event)


def report(record: RunRecord, as_json: bool) -> None:
    """Print the outcome (status, the gate's decision, rows and features trained on) and exit
    non-zero unless the run succeeded."""
    from mloop.cli.run_outcome import outcome_lines
    from mloop.pipelines.runs import parent_step

    outcome = outcome_lines(workspace(), record)
    if as_json:
        print_json({**record.to_dict(), "outcome": outcome})
    else:
        out = console()
        counts: dict[str, int] = {}
        for s in record.steps:
            if parent_step(s.name) == s.name:  # steps; not the inner tasks of KFP group steps
                counts[s.status] = counts.get(s.status, 0) + 1
        summary = ", ".join(f"{n} {k}" for k, n in counts.items())
        style = STYLE.get(record.status, "")
        out.print(f"run [bold]{record.id}[/] [{style}]{record.status}[/] in "
                  f"{record.duration_s or 0:.2f}s ({summary})")
        if record.mlflow_run_id:
            out.print(f"[dim]MLflow run {record.mlflow_run_id} (experiment {record.experiment})[/]")
        for line in outcome:
            out.print(line, markup=False)
        if record.tracking_pending:
            out.print(f"[yellow]tracking pending[/]: {record.tracking_pending}; "
                      f"`mloop runs sync-tracking {record.id}` replays it (so does the next run)")
    if record.status == "Succeeded":
        return
    from mloop.cli.main import _print_error

    if record.status == "Stopped":
        _print_error(f"run {record.id} stopped", f"Finish it with `mloop runs retry {record.id}`.")
        raise typer.Exit(130)
    failed = _first_failure(record)
    hint = (f"See `mloop runs logs {record.id} --step {shlex.quote(failed)}`; fix it, then "
            f"`mloop runs retry {record.id}`." if failed else None)
    _print_error(record.error or f"run {record.id} failed", hint)
    raise typer.Exit(1)


def _first_failure(record: RunRecord) -> str | None:
    """The first failed step, or the innermost failed task inside it (a KFP loop's iteration)."""
    from mloop.pipelines.runs import parent_step

    failed = [s.name for s in record.steps if s.status == "Failed"]
    if not failed:
        return None
    step = next((n for n in failed if parent_step(n) == n), failed[0])
    inner = [n for n in failed if parent_step(n) == step]
    return next((n for n in inner if not any(o != n and o.startswith((n + "/", n + "[")) for o in inner)), step)


def run(
    pipeline: str = typer.Argument(..., help="Pipeline name (from the pipelines table of mloop.toml, or built-in), "
                                   "module:function, or a KFP pipeline (YAML/JSON, file.py:func)."),
    param: list[str] = ParamOption,
    no_cache: bool = typer.Option(False, "--no-cache", help="Execute every step, ignore the cache."),
    workers: int = typer.Option(4, "--workers", help="Steps that may run at once."),
    no_tracking: bool = typer.Option(False, "--no-tracking", help="Do not log to MLflow."),
    containers: str = typer.Option(
        "none", "--containers",
        help="KFP container components: none (refuse them) or host (run their command here)."),
    install_packages: bool = typer.Option(
        False, "--install-packages",
        help="KFP components whose packages_to_install are missing run in a cached venv with them."),
    as_json: bool = JsonOption,
) -> None:
    """Run a pipeline locally, with a live view of its steps.

    PIPELINE may also be a Kubeflow pipeline: a compiled KFP v2 YAML/JSON file, or
    `path/to/module.py:func` / `pkg.module:func` naming a `@dsl.pipeline`.
    """
    from mloop.pipelines import run_pipeline
    from mloop.pipelines.catalog import load_pipeline, parse_param_args
    from mloop.pipelines.kfp_frontend import KfpPipeline

    params = parse_param_args(param)
    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop run`")
    loaded = load_pipeline(ws, pipeline, containers=containers, install_packages=install_packages)
    if isinstance(loaded, KfpPipeline) and not as_json:
        from rich.markup import escape

        for warning in loaded.warnings:
            console().print(f"[yellow]warning:[/] {escape(warning)}")
    record = execute_with_view(
        lambda **kw: run_pipeline(ws, loaded.graph, params, no_cache=no_cache, workers=workers,
                                  tracking=not no_tracking, principal=who, **kw), as_json)
    report(record, as_json)


def compile_pipeline(
    pipeline: str = typer.Argument(..., help="Pipeline name."),
    target: str = typer.Option("kfp", "--target", help="Compilation target (kfp)."),
    output: Path = typer.Option(..., "-o", "--output", help="Where to write the pipeline YAML."),
    image: str | None = typer.Option(None, "--image", help="Container image every task runs."),
    as_json: bool = JsonOption,
) -> None:
    """Compile a pipeline to a Kubeflow Pipelines v2 spec (every task runs `mloop step exec`)."""
    from mloop.errors import InvalidInput
    from mloop.pipelines.catalog import load_pipeline
    from mloop.pipelines.kfp import compile_kfp

    if target != "kfp":
        raise InvalidInput(f"unknown target '{target}'", hint="known: kfp")
    ws = workspace()
    info = compile_kfp(ws, load_pipeline(ws, pipeline), output, image=image, name=pipeline)
    emit(info, as_json, lambda d: console().print(
        f"wrote [bold]{d['path']}[/]: {len(d['tasks'])} tasks, image {d['image']}"))


@pipelines_app.command("list")
def list_cmd(as_json: bool = JsonOption) -> None:
    """Every pipeline name the workspace can run and where it is defined."""
    from mloop.pipelines.catalog import builtin_pipelines, list_pipelines

    ws = workspace()
    builtins = builtin_pipelines()
    rows = [{"name": k, "source": v, "origin": "built-in" if builtins.get(k) == v else "mloop.toml"}
            for k, v in sorted(list_pipelines(ws).items())]
    emit(rows, as_json, lambda r: table(r, ["name", "source", "origin"]))


@pipelines_app.command("show")
def show_cmd(name: str = typer.Argument(..., help="Pipeline name (see `mloop pipelines list`)."),
             as_json: bool = JsonOption) -> None:
    """A pipeline's parameters and steps."""
    from mloop.pipelines.catalog import load_pipeline

    graph = load_pipeline(workspace(), name).graph
    data = graph.to_dict()
    data["hash"] = graph.digest()

    def render(d: dict[str, Any]) -> None:
        table([{"param": k, **v} for k, v in d["params"].items()], ["param", "type", "default"],
              title=f"pipeline {name}")
        table([{"step": n["name"], "kind": n["kind"],
                "after": ", ".join(sorted({*n["after"], *(i["step"] for i in n["inputs"].values()
                                                           if "step" in i)})),
                "when": ", ".join(f"{c}={b}" for c, b in n["when"])} for n in d["nodes"]],
              ["step", "kind", "after", "when"])

    emit(data, as_json, render)


def register(app: typer.Typer) -> None:
    app.command("run")(run)
    app.command("compile")(compile_pipeline)
    app.add_typer(pipelines_app, name="pipelines")
