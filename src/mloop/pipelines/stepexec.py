"""`mloop step exec`: run ONE step of a run, as a Kubeflow task (a pod) does.

Every task of a compiled pipeline calls this with the run id (the KFP job id), the pipeline,
the step and the parameters. The first task to arrive records the run; each task reads its
inputs from the step runs recorded by the tasks before it in the shared metadata database and
artifact store, executes through the same scheduler code as a local run (cache included), and
records itself. A condition task writes its result for KFP's `dsl.If` and marks the branch not
taken as Skipped; the task that completes the graph (or fails it) sets the run's status.

Who: the first task records the run under the principal the caller proved (`mloop step exec`
authenticates with the pod's MLOOP_TOKEN in token mode); every later task must prove the same
principal, so no pod configuration can make a run act for someone else.
"""

from __future__ import annotations

import queue
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from mloop.auth import normalize
from mloop.errors import Conflict, NotFound, PermissionDenied, did_you_mean
from mloop.pipelines import graph as g
from mloop.pipelines import runs
from mloop.pipelines.catalog import load_pipeline, resolve_params
from mloop.pipelines.hooks import default_hooks
from mloop.pipelines.materializers import ArtifactInfo
from mloop.pipelines.scheduler import RunState, Scheduler
from mloop.pipelines.tables import artifacts

if TYPE_CHECKING:
    from mloop.store import Workspace


def _ensure_run(ws: Workspace, graph: g.Graph, run_id: str, params: dict[str, Any],
                principal: str | None) -> str | None:
    """Record the run (first task) under `principal`; the principal the run acts for.

    Raises:
        PermissionDenied: the run was started by someone else than `principal`.
    """
    try:
        runs.get_run(ws, run_id)
    except NotFound:
        try:
            runs.create_run(ws, graph, params, run_id=run_id, target="kfp", principal=principal)
        except IntegrityError:  # a parallel task recorded it first
            pass
    owner = runs.get_run(ws, run_id).principal
    if principal is not None and normalize(owner) != normalize(principal):
        raise PermissionDenied(f"run {run_id} acts for '{owner}'; this task runs as '{principal}'",
                               hint="Give every task of a run the same MLOOP_TOKEN (one Kubernetes secret).")
    return owner


def _load_state(ws: Workspace, state: Any) -> None:
    record = runs.get_run(ws, state.run_id)
    ids = {s.id: s.name for s in record.steps}
    with ws.db.begin() as conn:
        for row in conn.execute(select(artifacts).where(artifacts.c.producer_step_run_id.in_(ids))):
            name = ids[row.producer_step_run_id]
            state.outputs.setdefault(name, {})[row.output_name] = ArtifactInfo(
                row.digest, row.size, row.type, row.format, row.uri, row.meta or {})
            state.artifact_ids.setdefault(name, {})[row.output_name] = row.id
    for step in record.steps:
        state.status[step.name] = step.status
        if step.kind == g.CONDITION and step.status in (g.SUCCEEDED, g.CACHED):
            state.conditions[step.name] = bool(step.metrics.get("result"))
    state.step_ids = {s.name: s.id for s in record.steps}
    state.mlflow_run_id, state.experiment = record.mlflow_run_id, record.experiment


def _skip_branch(ws: Workspace, graph: g.Graph, state: Any, condition: str, result: bool) -> None:
    skipped: set[str] = set()
    for node in graph.nodes.values():
        if (condition, not result) in node.when:
            skipped.add(node.name)
            skipped.update(graph.downstream(node.name))
    for name in skipped:
        if state.status.get(name) == g.PENDING:
            runs.update_step(ws, state.step_ids[name], status=g.SKIPPED, finished_at=runs.now(),
                             message=f"skipped: condition '{condition}' is {result}")


def _settle_run(ws: Workspace, run_id: str) -> str:
    record = runs.get_run(ws, run_id)
    failed = [s for s in record.steps if s.status == g.FAILED]
    if failed:
        status, error = g.FAILED, f"step '{failed[0].name}' failed: {failed[0].message}"
    elif all(s.status in g.DONE_OK for s in record.steps):
        status, error = g.SUCCEEDED, None
    else:
        return record.status
    runs.update_run(ws, run_id, status=status, error=error, finished_at=runs.now())
    return status


def exec_step(
    ws: Workspace, pipeline: str, run_id: str, step: str, params: dict[str, Any], *,
    graph_hash: str | None = None, result_file: Path | None = None, tracking: bool = True,
    principal: str | None = None,
) -> runs.StepRunRecord:
    """Execute one step of run `run_id` against the shared stores; record it.

    `principal` is who runs the task (proven by the caller); the first task records the run under
    it and every task of the run must be run by the same principal.

    Raises:
        Conflict: the image's pipeline code differs from the compiled definition.
        NotFound: unknown step.
        PermissionDenied: the run acts for another principal.
    """
    graph = load_pipeline(ws, pipeline).graph
    if graph_hash and not graph.digest().startswith(graph_hash):
        raise Conflict(f"pipeline '{pipeline}' in this image differs from the compiled one "
                       f"({graph.digest()[:16]} != {graph_hash})",
                       hint="Rebuild the image and recompile with `mloop compile`.")
    if step not in graph.nodes:
        raise NotFound(f"pipeline '{pipeline}' has no step '{step}'", hint=did_you_mean(step, graph.nodes))
    values = resolve_params(graph, params)
    owner = _ensure_run(ws, graph, run_id, values, principal)
    state = RunState(ws=ws, graph=graph, run_id=run_id, params=values, principal=owner)
    _load_state(ws, state)
    node = graph.nodes[step]
    if state.status[step] in (g.SUCCEEDED, g.CACHED):  # a retried pod: already done
        return runs.get_run(ws, run_id).step(step)
    state.status[step] = g.PENDING
    scheduler = Scheduler(state, default_hooks(tracking), 1, None)
    scheduler.start(node)
    while node.name in scheduler.running:
        try:
            name, outcome = scheduler.done.get(timeout=0.5)
        except queue.Empty:
            continue
        scheduler.finish(name, outcome)
    scheduler.call_hooks("run_finished", state.status[step])
    if node.kind == g.CONDITION and step in state.conditions:
        result = state.conditions[step]
        _skip_branch(ws, graph, state, step, result)
        if result_file is not None:
            result_file.parent.mkdir(parents=True, exist_ok=True)
            result_file.write_text("true" if result else "false", encoding="utf-8")
    _settle_run(ws, run_id)
    return runs.get_run(ws, run_id).step(step)
