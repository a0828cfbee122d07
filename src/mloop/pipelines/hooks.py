"""Executor hooks: tracking and other capture live here, not inside user steps.

The tracking hook makes a pipeline run an MLflow parent run (parameters; tags: pipeline, run id,
git commit) and every executed Training step a nested run with its inputs as parameters, its
metrics and whatever model it logs through `ctx.log_model`. The parent run opens with the first
executed Training step or the first step that logs metrics: a re-run whose training and
evaluation are cached has nothing new to track and stays fast (MLflow is not even imported).
The experiment is the `experiment_name` parameter, else the pipeline name.
"""

from __future__ import annotations

import logging
from contextlib import ExitStack
from typing import TYPE_CHECKING, Any

from mloop.pipelines import graph as g

if TYPE_CHECKING:
    from mloop.pipelines.context import StepContext
    from mloop.pipelines.executor import RunState
    from mloop.pipelines.worker import Outcome

log = logging.getLogger("mloop.pipelines")


class Hook:
    """Called by the executor (in its scheduling thread) around runs and executed steps."""

    def run_started(self, run: RunState) -> None: ...

    def step_started(self, run: RunState, node: g.Node, ctx: StepContext) -> None: ...

    def step_finished(self, run: RunState, node: g.Node, ctx: StepContext, outcome: Outcome) -> None:
        ...

    def run_finished(self, run: RunState, status: str) -> None: ...


def _scalar_params(ctx: StepContext, values: dict[str, Any]) -> dict[str, Any]:
    out = {k: v for k, v in values.items() if isinstance(v, str | int | float | bool)}
    out.update(ctx.logged_params)
    return out


class TrackingHook(Hook):
    """MLflow parent run per pipeline run, nested run per Training step (through mloop.tracking)."""

    def __init__(self) -> None:
        self.parent: Any = None
        self.stack = ExitStack()
        self.nested: dict[str, tuple[ExitStack, Any]] = {}

    def _ensure_parent(self, run: RunState) -> str:
        if self.parent is None and run.mlflow_run_id:  # opened by an earlier task of this run
            from types import SimpleNamespace

            self.parent = SimpleNamespace(run_id=run.mlflow_run_id,
                                          experiment=run.experiment or run.graph.name)
        if self.parent is None:
            from mloop import tracking

            experiment = str(run.params.get("experiment_name") or run.graph.name)
            tags = {"mloop.pipeline": run.graph.name, "mloop.run_id": run.run_id,
                    "mloop.graph_hash": run.graph.digest()[:16], **_who(run)}
            if run.git_commit:
                tags["mlflow.source.git.commit"] = run.git_commit
            self.parent = self.stack.enter_context(tracking.start_run(
                run.ws, experiment=experiment, run_name=run.run_id, params=run.params, tags=tags))
            run.set_mlflow(self.parent.run_id, experiment)
        return str(self.parent.run_id)

    def step_started(self, run: RunState, node: g.Node, ctx: StepContext) -> None:
        if node.kind != g.TRAINING:  # other steps open the parent only if they log metrics
            ctx.mlflow_run_id = self.parent.run_id if self.parent is not None else run.mlflow_run_id
            return
        from mloop import tracking

        parent_id = self._ensure_parent(run)
        stack = ExitStack()
        nested = stack.enter_context(tracking.start_run(
            run.ws, experiment=self.parent.experiment, run_name=f"{run.run_id}/{node.name}",
            parent_run_id=parent_id, tags={"mloop.pipeline": run.graph.name, "mloop.run_id": run.run_id,
                                           "mloop.step": node.name, **_who(run)}))
        ctx.mlflow_run_id = nested.run_id
        self.nested[node.name] = (stack, nested)

    def step_finished(self, run: RunState, node: g.Node, ctx: StepContext, outcome: Outcome) -> None:
        entry = self.nested.pop(node.name, None)
        if entry is None and outcome.metrics and node.kind != g.CONDITION:
            self._ensure_parent(run)
        target = entry[1].run_id if entry else (self.parent.run_id if self.parent else None)
        if target is None:
            return
        from mloop import tracking

        try:
            if target and entry is not None:
                params = _scalar_params(ctx, run.values.get(node.name, {}))
                if params:
                    tracking.log_params(run.ws, target, params)
            if target and outcome.metrics:
                prefix = "" if entry else f"{node.name}."
                tracking.log_metrics(run.ws, target, {prefix + k: v for k, v in outcome.metrics.items()})
        finally:
            if entry is not None:
                if outcome.status == g.SUCCEEDED:
                    entry[0].close()
                else:
                    entry[0].__exit__(RuntimeError, RuntimeError(outcome.message), None)

    def run_finished(self, run: RunState, status: str) -> None:
        for stack, _ in self.nested.values():
            stack.__exit__(KeyboardInterrupt, KeyboardInterrupt(), None)
        self.nested.clear()
        if self.parent is None:
            return
        if status == g.SUCCEEDED:
            self.stack.close()
        else:
            exc: BaseException = KeyboardInterrupt() if status == g.STOPPED else RuntimeError(status)
            self.stack.__exit__(type(exc), exc, None)


def default_hooks(tracking: bool = True) -> list[Hook]:
    return [TrackingHook()] if tracking else []


def _who(run: RunState) -> dict[str, str]:
    # MLflow's user is whoever started the run, not the process that executes it.
    return {"mlflow.user": run.principal, "mloop.principal": run.principal} if run.principal else {}
