"""Executor hooks: tracking and other capture live here, not inside user steps.

The tracking hook makes a pipeline run an MLflow parent run (parameters; tags: pipeline, run id,
git commit) and every executed Training step a nested run with its inputs as parameters, its
metrics and whatever model it logs through `ctx.log_model` (in a KFP pipeline every task gets
one, from the KFP front end). The parent run opens with the first executed Training step or
the first step that logs metrics (in a KFP pipeline: the first executed task); a run whose
tracked steps were all cached (a clone, a re-run) opens it at the end, with the cached steps'
metrics and tags that link the step runs and MLflow runs it reused. A run with nothing tracked at all (no metrics, no
training) makes no MLflow run. The experiment is the `experiment_name` parameter, else the
pipeline name.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from types import SimpleNamespace
from typing import TYPE_CHECKING, Any

from mloop import tracking
from mloop.errors import MloopError
from mloop.pipelines import graph as g
from mloop.pipelines.runs import get_run
from mloop.pipelines.tracking_pending import mark_pending

if TYPE_CHECKING:
    from mloop.pipelines.context import StepContext
    from mloop.pipelines.scheduler import RunState
    from mloop.pipelines.worker import Outcome

log = logging.getLogger("mloop.pipelines")


class Hook:
    """Called by the executor (in its scheduling thread) around runs and executed steps."""

    def run_started(self, run: RunState) -> None: ...

    def step_started(self, run: RunState, node: g.Node, ctx: StepContext) -> None: ...

    def step_finished(self, run: RunState, node: g.Node, ctx: StepContext, outcome: Outcome) -> None:
        ...

    def run_finished(self, run: RunState, status: str) -> None: ...


class TrackingHook(Hook):
    """MLflow parent run per pipeline run, nested run per Training step (through mloop.tracking).

    When the tracking server stops answering mid-run, the run goes on untracked: the hook
    records a `tracking` outbox entry for it (shown as "tracking pending") and makes no further
    MLflow calls; `mloop runs sync-tracking RUN` (or the next run) replays it from mloop's records.
    """

    def __init__(self) -> None:
        self.parent: Any = None
        self.stack = ExitStack()
        self.nested: dict[str, tuple[ExitStack, Any]] = {}
        self.down: str | None = None  # why tracking stopped for this run

    @contextmanager
    def _guard(self, run: RunState) -> Iterator[None]:
        try:
            yield
        except MloopError as exc:
            self.down = exc.message
            log.warning("tracking stopped for run %s: %s", run.run_id, exc.message)
            mark_pending(run.ws, run.run_id, exc.message)

    def _ensure_parent(self, run: RunState) -> str:
        if self.parent is None and run.mlflow_run_id:  # opened by an earlier task of this run
            self.parent = SimpleNamespace(run_id=run.mlflow_run_id,
                                          experiment=run.experiment or run.graph.name)
        if self.parent is None:
            experiment = str(run.params.get("experiment_name") or run.graph.name)
            self.parent = self.stack.enter_context(tracking.start_run(
                run.ws, experiment=experiment, run_name=run.run_id, params=run.params,
                tags=parent_tags(run.ws, run.run_id, run.graph, run.git_commit)))
            run.set_mlflow(self.parent.run_id, experiment)
        return str(self.parent.run_id)

    def step_started(self, run: RunState, node: g.Node, ctx: StepContext) -> None:
        if "kfp" in node.options:  # a KFP step opens a nested run per task itself (kfp_frontend.tracking)
            if self.down is None:
                with self._guard(run):
                    ctx.mlflow_run_id = self._ensure_parent(run)
                    ctx.mlflow_experiment = self.parent.experiment
            return
        if node.kind != g.TRAINING:  # other steps open the parent only if they log metrics
            ctx.mlflow_run_id = self.parent.run_id if self.parent is not None else run.mlflow_run_id
            return
        if self.down is not None:
            return
        with self._guard(run):
            parent_id = self._ensure_parent(run)
            stack = ExitStack()
            nested = stack.enter_context(tracking.start_run(
                run.ws, experiment=self.parent.experiment, run_name=f"{run.run_id}/{node.name}",
                parent_run_id=parent_id, tags={"mloop.pipeline": run.graph.name,
                                               "mloop.run_id": run.run_id, "mloop.step": node.name,
                                               **_who(run)}))
            ctx.mlflow_run_id = nested.run_id
            self.nested[node.name] = (stack, nested)

    def step_finished(self, run: RunState, node: g.Node, ctx: StepContext, outcome: Outcome) -> None:
        entry = self.nested.pop(node.name, None)
        if self.down is not None and entry is None:
            return
        with self._guard(run):
            if entry is None and outcome.metrics and node.kind != g.CONDITION:
                self._ensure_parent(run)
            target = entry[1].run_id if entry else (self.parent.run_id if self.parent else None)
            if target is None:
                return
            try:
                log_step(run.ws, target, ctx.logged_params, run.values.get(node.name, {}),
                         outcome.metrics, nested=entry is not None, step=node.name)
            finally:
                if entry is not None:
                    if outcome.status == g.SUCCEEDED:
                        entry[0].close()
                    else:
                        entry[0].__exit__(RuntimeError, RuntimeError(outcome.message), None)

    def run_finished(self, run: RunState, status: str) -> None:
        if self.down is not None:
            self.nested.clear()
            return
        with self._guard(run):
            for stack, _ in self.nested.values():
                stack.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
        self.nested.clear()
        if self.parent is None and status != g.STOPPED:
            with self._guard(run):
                self._link_cached(run)
        if self.parent is None or self.down is not None:
            return
        with self._guard(run):
            if status == g.SUCCEEDED:
                self.stack.close()
            else:
                exc: BaseException = KeyboardInterrupt() if status == g.STOPPED else RuntimeError(status)
                self.stack.__exit__(type(exc), exc, None)


    def _link_cached(self, run: RunState) -> None:
        """A run whose tracked steps were all cached still gets its MLflow parent run: the
        cached steps' metrics, and tags naming the step runs and MLflow runs they reused."""
        cached = [s for s in get_run(run.ws, run.run_id).steps
                  if s.status == g.CACHED and s.kind != g.CONDITION and (s.metrics or s.mlflow_run_id)]
        if not cached:
            return
        parent = self._ensure_parent(run)
        tags = {f"mloop.cached.{s.name}": f"step run #{s.cached_from}"
                + (f", MLflow run {s.mlflow_run_id}" if s.mlflow_run_id else "") for s in cached}
        tracking.set_tags(run.ws, parent, tags)
        metrics = {f"{s.name}.{k}": v for s in cached for k, v in s.metrics.items()}
        if metrics:
            tracking.log_metrics(run.ws, parent, metrics)


def parent_tags(ws: Any, run_id: str, graph: g.Graph, git_commit: str | None) -> dict[str, str]:
    """The tags of a pipeline run's MLflow parent run."""
    tags = {"mloop.pipeline": graph.name, "mloop.run_id": run_id,
            "mloop.graph_hash": graph.digest()[:16]}
    if git_commit:
        tags["mlflow.source.git.commit"] = git_commit
    return tags


def log_step(ws: Any, target: str, logged: dict[str, Any], values: dict[str, Any],
             metrics: dict[str, float], *, nested: bool, step: str) -> None:
    """A step's params (nested runs) and metrics (prefixed with the step on the parent run)."""
    if nested:
        params = {k: v for k, v in values.items() if isinstance(v, str | int | float | bool)}
        params.update(logged)  # a step logs None to leave out an input that does not apply
        params = {k: v for k, v in params.items() if v is not None}
        if params:
            tracking.log_params(ws, target, params)
    if metrics:
        prefix = "" if nested else f"{step}."
        tracking.log_metrics(ws, target, {prefix + k: v for k, v in metrics.items()})


def default_hooks(tracking: bool = True) -> list[Hook]:
    return [TrackingHook()] if tracking else []


def _who(run: RunState) -> dict[str, str]:
    # MLflow's user is whoever started the run, not the process that executes it.
    return {"mlflow.user": run.principal, "mloop.principal": run.principal} if run.principal else {}
