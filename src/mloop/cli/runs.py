"""`mloop runs list | show | logs | retry | clone`."""

from __future__ import annotations

from typing import Any

import typer

from mloop.cli._auth import authorize
from mloop.cli._output import JsonOption, console, emit, print_json, table, workspace
from mloop.cli.run import STYLE, ParamOption, execute_with_view, report
from mloop.cli.run_outcome import outcome_lines
from mloop.errors import InvalidInput, NotFound, did_you_mean
from mloop.pipelines import graph as g

RunId = typer.Argument(..., help="Run id (see `mloop runs list`).")
runs_app = typer.Typer(help="Pipeline runs: list, inspect, read logs, retry, clone.",
                       no_args_is_help=True)


def _counts(steps: dict[str, int]) -> str:
    return " ".join(f"{n} {k}" for k, n in sorted(steps.items()))


def _run_status(status: str | None) -> str | None:
    """`--status succeeded` means Succeeded; a word that is no run status is an error, not an empty list."""
    if status is None:
        return None
    known = [g.PENDING, g.EXECUTING, g.SUCCEEDED, g.FAILED, g.STOPPED]
    for name in known:
        if status.strip().lower() == name.lower():
            return name
    raise InvalidInput(f"unknown run status '{status}'", hint=did_you_mean(status, known))


@runs_app.command("list")
def list_cmd(
    pipeline: str | None = typer.Option(None, "--pipeline", help="Only runs of this pipeline."),
    status: str | None = typer.Option(None, "--status", help="Only runs with this status."),
    limit: int = typer.Option(20, "--limit", help="How many (newest first)."),
    as_json: bool = JsonOption,
) -> None:
    """The newest pipeline runs."""
    # deferred: imports SQLAlchemy at start (mloop --help time)
    from mloop.pipelines.runs import list_runs

    rows = list_runs(workspace(), pipeline=pipeline, status=_run_status(status), limit=limit)

    def render(items: list[dict[str, Any]]) -> None:
        view = [{**r, "steps": _counts(r["steps"]),
                 "origin": f"{r['origin_kind']} of {r['origin_run_id']}" if r["origin_run_id"] else None}
                for r in items]
        table(view, ["id", "pipeline_name", "status", "created_at", "duration_s", "steps", "origin"])

    emit(rows, as_json, render)


@runs_app.command("show")
def show_cmd(
    run_id: str = RunId,
    step: str | None = typer.Argument(None, help="Only this step (or inner task: 'for-loop-2[1]/square')."),
    as_json: bool = JsonOption,
) -> None:
    """A run's parameters, steps (status, attempts, time, metrics) and artifacts."""
    # deferred: imports SQLAlchemy at start (mloop --help time)
    from mloop.pipelines.runs import get_run

    ws = workspace()
    record = get_run(ws, run_id)
    if step is not None:
        _show_step(record, step, as_json)
        return
    if as_json:
        print_json(record.to_dict())
        return
    out = console()
    style = STYLE.get(record.status, "")
    out.print(f"run [bold]{record.id}[/] of [bold]{record.pipeline}[/]: [{style}]{record.status}[/]"
              f"  ({record.duration_s or 0:.2f}s, target {record.target})")
    if record.origin_run_id:
        out.print(f"{record.origin_kind} of run {record.origin_run_id}")
    if record.error:
        out.print(f"[red]{record.error}[/]")
    if record.mlflow_run_id:
        out.print(f"MLflow run {record.mlflow_run_id} (experiment {record.experiment})")
    if record.tracking_pending:
        out.print(f"[yellow]tracking pending[/]: {record.tracking_pending} "
                  f"(`mloop runs sync-tracking {record.id}`)")
    out.print("params: " + ", ".join(f"{k}={v}" for k, v in record.params.items()))
    rows, metrics = [], []
    for s in record.steps:
        outputs = ", ".join(f"{k}:{v['format']}:{v['digest'][:10]}" for k, v in s.outputs.items())
        rows.append({"step": s.name, "kind": s.kind, "status": s.status, "attempts": s.attempts,
                     "time_s": s.duration_s, "outputs": outputs or None, "note": s.message})
        metrics += [{"step": s.name, "metric": k, "value": v} for k, v in s.metrics.items()
                    if not k.startswith(("importance_", "importance."))]
    table(rows, ["step", "kind", "status", "attempts", "time_s", "outputs", "note"])
    if metrics:  # one metric per row: readable at 80 columns, where a metrics column is not
        table(metrics, ["step", "metric", "value"], title="metrics")

    for line in outcome_lines(ws, record):
        out.print(line, markup=False)


def _show_step(record: Any, name: str, as_json: bool) -> None:
    """One step run in full: status, message, cache, MLflow run, every output with its digest."""
    names = [s.name for s in record.steps]
    if name not in names:
        raise NotFound(f"run '{record.id}' has no step '{name}'", hint=did_you_mean(name, names))
    s = record.step(name)
    if as_json:
        print_json(s.to_dict())
        return
    from rich.markup import escape

    out = console()  # `[1]` in a loop task's name is text, not markup
    out.print(f"step [bold]{escape(s.name)}[/] of run {record.id}: [{STYLE.get(s.status, '')}]{s.status}[/]",
              highlight=False)
    for label, value in (("kind", s.kind), ("attempts", s.attempts), ("time_s", s.duration_s),
                         ("message", s.message), ("cache key", s.cache_key),
                         ("reused step run", s.cached_from), ("MLflow run", s.mlflow_run_id)):
        if value not in (None, ""):
            out.print(f"{label}: {value}", markup=False, highlight=False)
    if s.params:
        out.print("params: " + ", ".join(f"{k}={v}" for k, v in s.params.items()), markup=False)
    rows = [{"output": k, "type": v["type"], "digest": v["digest"], "uri": v["uri"]} for k, v in s.outputs.items()]
    rows += [{"output": f"(input) {k}", "type": "", "digest": v, "uri": ""} for k, v in s.inputs.items()]
    if rows:
        table(rows, ["output", "type", "digest", "uri"])
    if s.metrics:
        table([{"metric": k, "value": v} for k, v in s.metrics.items()], ["metric", "value"], title="metrics")


@runs_app.command("sync-tracking")
def sync_tracking_cmd(run_id: str = RunId, as_json: bool = JsonOption) -> None:
    """Replay a run's tracking into MLflow after the tracking server was unreachable."""
    # deferred: imports SQLAlchemy at start (mloop --help time)
    from mloop.pipelines.tracksync import sync_run

    record = sync_run(workspace(), run_id)
    if as_json:
        print_json({"run_id": record.id, "mlflow_run_id": record.mlflow_run_id,
                    "tracking_pending": record.tracking_pending})
        return
    console().print(f"run {record.id}: tracking synced to MLflow run {record.mlflow_run_id} "
                    f"(experiment {record.experiment})")


@runs_app.command("logs")
def logs_cmd(
    run_id: str = RunId,
    only: str | None = typer.Argument(None, metavar="[STEP]", help="Only this step (or inner task)."),
    step: str | None = typer.Option(None, "--step", help="Only this step."),
    as_json: bool = JsonOption,
) -> None:
    """Captured stdout, stderr and log records of a run's steps (and tracebacks of failures)."""
    # deferred: imports SQLAlchemy at start (mloop --help time)
    from mloop.pipelines.runs import get_run, step_logs

    step = step or only
    ws = workspace()
    logs = step_logs(ws, run_id, step)
    errors = {s.name: s.error for s in get_run(ws, run_id).steps if s.error}

    def render(data: dict[str, str]) -> None:
        out = console()
        for name, text in data.items():
            out.rule(f"[bold]{name}[/]")
            if text:
                out.out(text.rstrip("\n"), highlight=False)
            if name in errors:
                out.out(errors[name].rstrip("\n"), highlight=False, style="red")
            if not text and name not in errors:
                out.print("[dim](no output)[/]")

    emit({"logs": logs, "errors": errors} if as_json else logs, as_json, render)


@runs_app.command("retry")
def retry_cmd(
    run_id: str = RunId,
    workers: int = typer.Option(4, "--workers", help="Steps that may run at once."),
    no_tracking: bool = typer.Option(False, "--no-tracking", help="Do not log to MLflow."),
    as_json: bool = JsonOption,
) -> None:
    """Re-execute a failed or stopped run, reusing its succeeded steps (digests verified)."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.pipelines import retry_run

    ws = workspace()
    who = authorize(ws, "deployer", action="`mloop runs retry`")
    record = execute_with_view(lambda **kw: retry_run(ws, run_id, workers=workers, principal=who,
                                                      tracking=not no_tracking, **kw), as_json)
    report(record, as_json)


@runs_app.command("clone")
def clone_cmd(
    run_id: str = RunId, param: list[str] = ParamOption,
    no_cache: bool = typer.Option(False, "--no-cache", help="Execute every step, ignore the cache."),
    workers: int = typer.Option(4, "--workers", help="Steps that may run at once."),
    no_tracking: bool = typer.Option(False, "--no-tracking", help="Do not log to MLflow."),
    as_json: bool = JsonOption,
) -> None:
    """Run a run's pipeline again with changed parameters (linked to the original)."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.pipelines import clone_run
    from mloop.pipelines.catalog import parse_param_args

    ws = workspace()
    params = parse_param_args(param)
    who = authorize(ws, "deployer", action="`mloop runs clone`")
    record = execute_with_view(lambda **kw: clone_run(ws, run_id, params, no_cache=no_cache, principal=who,
                                                      workers=workers, tracking=not no_tracking,
                                                      **kw), as_json)
    report(record, as_json)


@runs_app.command("delete")
def delete_cmd(run_id: str = RunId, as_json: bool = JsonOption) -> None:
    """Delete a run's records and the artifacts only it referred to (refused while others reuse them)."""
    # deferred: imports pydantic, SQLAlchemy at start (mloop --help time)
    from mloop.teardown import delete_run

    ws = workspace()
    authorize(ws, "deployer", action="`mloop runs delete`")
    removed = delete_run(ws, run_id)
    emit({"deleted": run_id, "artifacts_removed": removed}, as_json, lambda d: console().print(
        f"deleted run {run_id} ({removed} artifact(s) nothing else referred to removed)"))


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
