"""The local executor: records a run of a graph and executes it on bounded parallel workers.

`run_pipeline` loads a pipeline by name (or takes the object) and runs it; `retry_run` finishes
a failed or stopped run, reusing the steps that succeeded; `clone_run` runs the same definition
with changed parameters. The scheduling itself (ready, skipped, cached, parallel workers, the
records each step writes) is `scheduler.py`. After a failure nothing new starts; running steps
finish; the run is Failed. Ctrl-C stops the run: running steps are Stopped (process-isolated
ones killed), the run is Stopped, and `retry_run` finishes it later.
"""

from __future__ import annotations

import json
import subprocess
from typing import TYPE_CHECKING, Any

from mloop.auth import acting_principal, normalize
from mloop.errors import Conflict
from mloop.pipelines import graph as g
from mloop.pipelines import orphans, runs
from mloop.pipelines.catalog import load_pipeline, make_importable, resolve_params
from mloop.pipelines.hooks import Hook, default_hooks
from mloop.pipelines.materializers import ArtifactInfo
from mloop.pipelines.preflight import preflight
from mloop.pipelines.scheduler import EventCallback, RunState, Scheduler
from mloop.pipelines.tracksync import drain_pending
from mloop.store.leases import holder_gone

if TYPE_CHECKING:
    from mloop.store import Workspace

DEFAULT_WORKERS = 4


def _git_commit(ws: Workspace) -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=ws.root, capture_output=True,
                             text=True, timeout=5, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


def _finish_run(scheduler: Scheduler, status: str) -> None:
    run = scheduler.run
    error = None
    if status == g.FAILED and scheduler.failed:
        name = scheduler.failed[0]
        error = f"step '{name}' failed"
        detail = runs.get_run(run.ws, run.run_id).step(name).message
        error += f": {detail}" if detail else ""
    elif status == g.FAILED:
        error = scheduler.fatal or "the run failed before its steps finished"
    elif status == g.STOPPED:
        error = "stopped (interrupted); `mloop runs retry` finishes it"
    for name, node_status in run.status.items():
        if node_status == g.PENDING:
            why = "not run: the run was stopped" if status == g.STOPPED else "not run: an upstream step failed"
            runs.update_step(run.ws, run.step_ids[name], message=why)
    runs.update_run(run.ws, run.run_id, status=status, finished_at=runs.now(), error=error)
    scheduler.call_hooks("run_finished", status)


def execute_graph(
    ws: Workspace, graph: g.Graph, params: dict[str, Any], *, no_cache: bool = False,
    origin: tuple[str, str] | None = None, reuse: dict[str, Any] | None = None,
    workers: int = DEFAULT_WORKERS, tracking: bool = True, hooks: list[Hook] | None = None,
    on_event: EventCallback | None = None, run_id: str | None = None, principal: str | None = None,
) -> runs.RunRecord:
    """Record a run of `graph` and execute it locally (the DSL-independent entry point).

    `principal` is who starts it (default: the acting principal); a version its steps register
    carries that principal as `registered_by`.
    """
    make_importable(ws)  # retry/clone resolve project steps from the stored graph, not load_pipeline
    preflight(ws, tracking=tracking)
    if tracking:
        drain_pending(ws)  # the server answers again: replay runs whose tracking is pending
    commit = _git_commit(ws)
    who = normalize(principal) or acting_principal(ws)
    run_id = runs.create_run(ws, graph, params, run_id=run_id, origin=origin, no_cache=no_cache,
                             git_commit=commit, principal=who)
    state = RunState(ws=ws, graph=graph, run_id=run_id, params=params, no_cache=no_cache,
                     git_commit=commit, principal=who, step_ids=runs.step_ids(ws, run_id),
                     status={name: g.PENDING for name in graph.nodes}, reuse=reuse or {})
    if on_event:
        on_event("", "run", {"run_id": run_id, "steps": list(graph.nodes)})
    scheduler = Scheduler(state, [*default_hooks(tracking), *(hooks or [])], workers, on_event)
    status = g.FAILED
    try:
        status = scheduler.execute()
    finally:
        try:
            _finish_run(scheduler, status)
        except KeyboardInterrupt:  # a second Ctrl-C while recording the end: record it as stopped
            _finish_run(scheduler, g.STOPPED)
            raise
    return runs.get_run(ws, run_id)


def run_pipeline(
    ws: Workspace, pipeline_or_name: Any, params: dict[str, Any] | None = None, *,
    no_cache: bool = False, **options: Any,
) -> runs.RunRecord:
    """Run a pipeline locally and record it.

    Args:
        pipeline_or_name: a `@pipeline` object, a name (mloop.toml `[pipelines]` or built-in),
            a "module:function" reference, or a `Graph`.
        params: run parameters (strings are converted to the declared types).
        no_cache: execute every step even when a cached result exists.
        options: `workers` (parallel steps, default 4), `tracking` (MLflow hook, default on),
            `hooks`, `on_event(step, status, details)`, `run_id`, `principal` (who starts it).

    Returns:
        The finished run record (status Succeeded, Failed or Stopped; it does not raise for a
        failing step: the record says which step failed and why).

    Raises:
        PipelineNotFound, PipelineDefinitionError, InvalidInput: before anything runs.
    """
    graph = pipeline_or_name if isinstance(pipeline_or_name, g.Graph) else \
        load_pipeline(ws, pipeline_or_name).graph
    values = resolve_params(graph, params)
    return execute_graph(ws, graph, values, no_cache=no_cache, **options)


def retry_run(ws: Workspace, run_id: str, *, new_run_id: str | None = None, **options: Any) -> runs.RunRecord:
    """Re-execute a failed or stopped run as a new run linked to it, reusing succeeded steps.

    `new_run_id` names the new run up front (the dashboard links to it before it finishes).

    Succeeded and cached steps are reused only if their artifacts still verify; everything else
    executes again (with today's code of each step).
    """
    original = runs.get_run(ws, run_id)
    if original.status in (g.EXECUTING, g.PENDING) and holder_gone(original.driver):
        # Its process died (SIGKILL, OOM, power loss): the run can never finish by itself.
        orphans.mark_orphan_stopped(ws, run_id, orphans.orphan_reason(original.driver))
        original = runs.get_run(ws, run_id)
    if original.status in (g.SUCCEEDED, g.EXECUTING, g.PENDING):
        hint = (f"Re-run with new parameters: `mloop runs clone {run_id} --param k=v`."
                if original.status == g.SUCCEEDED else
                f"It is still executing (process {original.driver or 'unknown'}); wait for it or stop it.")
        raise Conflict(f"run '{run_id}' is {original.status}; only failed or stopped runs are retried", hint=hint)
    graph = runs.run_graph(ws, run_id)
    reuse: dict[str, Any] = {}
    for step in original.steps:  # inner tasks of a KFP group step are not nodes: their step re-runs
        node = graph.nodes.get(step.name)
        if node is not None and step.status in (g.SUCCEEDED, g.CACHED) and set(step.outputs) == set(node.outputs):
            origin = {"id": step.id, "cached_from": step.cached_from, "run_id": run_id,
                      "metrics": step.metrics, "mlflow_run_id": step.mlflow_run_id,
                      "model_uri": step.model_uri}
            reuse[step.name] = (origin, {k: ArtifactInfo(v["digest"], v["size"], v["type"],
                                                         v["format"], v["uri"], v.get("meta") or {})
                                         for k, v in step.outputs.items()})
    return execute_graph(ws, graph, dict(original.params), origin=(run_id, "retry"), reuse=reuse,
                         run_id=new_run_id, **options)


def clone_run(
    ws: Workspace, run_id: str, params: dict[str, Any] | None = None, *, no_cache: bool = False,
    new_run_id: str | None = None, **options: Any,
) -> runs.RunRecord:
    """Run the same definition again with changed parameters, linked to the original run."""
    original = runs.get_run(ws, run_id)
    graph = runs.run_graph(ws, run_id)
    values = resolve_params(graph, {**original.params, **(params or {})})
    return execute_graph(ws, graph, values, no_cache=no_cache, origin=(run_id, "clone"),
                         run_id=new_run_id, **options)


def to_json(record: runs.RunRecord) -> str:
    return json.dumps(record.to_dict(), default=str)
