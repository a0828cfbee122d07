"""The scheduler of one run: decides what is ready, skipped or cached, starts workers, records.

One scheduling thread owns the run: it decides what is ready, skipped (a condition went the
other way) or cached, starts workers, and writes every record. Workers only compute and store
content-addressed artifacts, so an interrupted or timed-out step never leaves a half-written
record. After a failure nothing new starts; running steps finish; the run is Failed. Ctrl-C
stops the run: running steps are Stopped (process-isolated ones killed), the run is Stopped.
`executor` records a run and drives it with this; `stepexec` drives one step of a KFP run.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError
from mloop.pipelines import cache, runs
from mloop.pipelines import graph as g
from mloop.pipelines.context import StepContext
from mloop.pipelines.hooks import Hook
from mloop.pipelines.materializers import ArtifactInfo, load_output
from mloop.pipelines.worker import Outcome, StepJob, execute, one_line, resolve_function

if TYPE_CHECKING:
    from mloop.store import Workspace

EventCallback = Callable[[str, str, dict[str, Any]], None]  # (step, status, details)
log = logging.getLogger("mloop.pipelines")


@dataclass
class RunState:
    """What the scheduler knows about one run while it executes."""

    ws: Workspace
    graph: g.Graph
    run_id: str
    params: dict[str, Any]
    no_cache: bool = False
    git_commit: str | None = None
    step_ids: dict[str, int] = field(default_factory=dict)
    status: dict[str, str] = field(default_factory=dict)
    outputs: dict[str, dict[str, ArtifactInfo]] = field(default_factory=dict)
    artifact_ids: dict[str, dict[str, int]] = field(default_factory=dict)
    values: dict[str, dict[str, Any]] = field(default_factory=dict)
    conditions: dict[str, bool] = field(default_factory=dict)
    reuse: dict[str, tuple[dict[str, Any], dict[str, ArtifactInfo]]] = field(default_factory=dict)
    mlflow_run_id: str | None = None  # set when another process opened the parent run (KFP)
    experiment: str | None = None
    principal: str | None = None  # who started the run: its steps (and what they register) act for them

    def set_mlflow(self, mlflow_run_id: str, experiment: str) -> None:
        runs.update_run(self.ws, self.run_id, mlflow_run_id=mlflow_run_id, experiment=experiment)


class Scheduler:
    def __init__(self, run: RunState, hooks: list[Hook], workers: int,
                 on_event: EventCallback | None) -> None:
        self.run = run
        self.hooks = hooks
        self.workers = max(1, workers)
        self.on_event = on_event
        self.done: queue.Queue[tuple[str, Outcome]] = queue.Queue()
        self.running: dict[str, tuple[StepContext, float]] = {}
        self.stop = threading.Event()
        self.failed: list[str] = []
        self.fatal: str | None = None  # why the run failed outside any step (a store refused)

    def emit(self, name: str, status: str, **details: Any) -> None:
        self.run.status[name] = status
        if self.on_event:
            self.on_event(name, status, details)

    def call_hooks(self, method: str, *args: Any) -> None:
        for hook in self.hooks:
            try:
                getattr(hook, method)(self.run, *args)
            except Exception as exc:  # noqa: BLE001 — a failing user hook is logged and must not fail the run
                log.warning("hook %s.%s failed: %s", type(hook).__name__, method, exc)

    def execute(self) -> str:
        """Run to completion; returns the run status.

        A store that refuses a record write mid-run (read-only folder, denied bucket, database
        gone) ends the run Failed with that error in `fatal`, never a run left Executing.
        Ctrl-C is honoured from the first hook on: starting the MLflow parent run takes seconds,
        and an interrupt there must stop the run like one between steps.
        """
        try:
            return self._loop()
        except Exception as exc:  # noqa: BLE001 — any failure of the scheduler ends the run as Failed with its message
            self.stop.set()
            self.fatal = one_line(exc)
            log.error("run %s failed: %s", self.run.run_id, self.fatal)
            for name, (ctx, started) in list(self.running.items()):
                self._record_quietly(name, ctx, started, Outcome(g.FAILED, message=self.fatal))
            self.running.clear()
            return g.FAILED

    def _record_quietly(self, name: str, ctx: StepContext, started: float, outcome: Outcome) -> None:
        try:
            self.record_end(name, ctx, started, outcome)
        except Exception as exc:  # noqa: BLE001 — the store is what failed: the run's error says so
            log.debug("cannot record step %s: %s", name, exc)

    def _loop(self) -> str:
        try:
            self.call_hooks("run_started")
            while True:
                self.schedule()
                if not self.running:
                    break
                try:  # a timeout keeps Ctrl-C responsive on every platform
                    name, outcome = self.done.get(timeout=0.5)
                except queue.Empty:
                    continue
                self.finish(name, outcome)
        except KeyboardInterrupt:
            self.stop.set()
            for name, (ctx, started) in list(self.running.items()):
                self.record_end(name, ctx, started, Outcome(g.STOPPED, message="stopped (interrupted)"))
            self.running.clear()
            return g.STOPPED
        return g.FAILED if self.failed else g.SUCCEEDED

    def schedule(self) -> None:
        progress = True
        while progress and not self.failed and not self.stop.is_set():
            progress = False
            for name, node in self.run.graph.nodes.items():
                if self.run.status[name] != g.PENDING or name in self.running:
                    continue
                ups = node.upstream()
                if any(self.run.status[u] not in g.DONE_OK for u in ups):
                    continue
                if len(self.running) >= self.workers and not self._is_instant(node):
                    continue
                self.start(node)
                progress = progress or self.run.status[name] != g.PENDING or name in self.running

    def _is_instant(self, node: g.Node) -> bool:
        return self._skip_reason(node) is not None

    def _skip_reason(self, node: g.Node) -> str | None:
        for cond, branch in node.when:
            if self.run.status[cond] == g.SKIPPED:
                return f"condition '{cond}' was skipped"
            if self.run.conditions.get(cond) != branch:
                expression = self.run.graph.nodes[cond].options.get("expression", cond)
                return f"{expression} is {not branch}"
        for up in node.upstream():
            if self.run.status[up] == g.SKIPPED:
                return f"upstream step '{up}' was skipped"
        return None

    def resolve(self, node: g.Node) -> tuple[dict[str, Any], dict[str, tuple[ArtifactInfo, list[Any]]]]:
        values: dict[str, Any] = {}
        inputs: dict[str, tuple[ArtifactInfo, list[Any]]] = {}
        for arg, binding in node.inputs.items():
            if binding.source == "param":
                values[arg] = self.run.params[str(binding.param)]
            elif binding.source == "value":
                values[arg] = binding.value
            else:
                info = self.run.outputs[str(binding.step)][str(binding.output)]
                inputs[arg] = (info, list(binding.path))
        return values, inputs

    def start(self, node: g.Node) -> None:
        run, sid = self.run, self.run.step_ids[node.name]
        reason = self._skip_reason(node)
        if reason is not None:
            runs.update_step(run.ws, sid, status=g.SKIPPED, message=f"skipped: {reason}",
                             finished_at=runs.now())
            self.emit(node.name, g.SKIPPED, message=reason)
            return
        values, inputs = self.resolve(node)
        run.values[node.name] = values
        key = self.cache_key(node, values, inputs)
        hit = self.lookup(node, key)
        if hit is not None:
            self.record_cached(node, key, values, inputs, *hit)
            return
        ctx = StepContext(workspace=run.ws, run_id=run.run_id, step_name=node.name,
                          params=dict(run.params), kind=node.kind, principal=run.principal)
        self.call_hooks("step_started", node, ctx)
        started = time.perf_counter()
        runs.update_step(run.ws, sid, status=g.EXECUTING, started_at=runs.now(), cache_key=key,
                         params=values, mlflow_run_id=ctx.mlflow_run_id)
        self.emit(node.name, g.EXECUTING)
        self.running[node.name] = (ctx, started)
        job = StepJob(node=node, values=values, inputs=inputs, ctx=ctx)
        threading.Thread(target=self._work, args=(job,), daemon=True,
                         name=f"mloop-{node.name}").start()

    def _work(self, job: StepJob) -> None:
        try:
            outcome = execute(self.run.ws, job, self.stop)
        except BaseException as exc:  # noqa: BLE001 — a step's failure (user code: anything) becomes its FAILED outcome
            outcome = Outcome(g.FAILED, message=f"{type(exc).__name__}: {exc}")
        self.done.put((job.node.name, outcome))

    def cache_key(self, node: g.Node, values: dict[str, Any],
                  inputs: dict[str, tuple[ArtifactInfo, list[Any]]]) -> str | None:
        if node.kind == g.CONDITION:
            return None
        try:
            code = cache.code_digest(resolve_function(node.func), node.options.get("version"))
            groups = cache.feature_group_versions(self.run.ws, node, values)
        except Exception as exc:  # noqa: BLE001 — no cache key (unhashable code or inputs) only means no caching
            log.debug("no cache key for %s: %s", node.name, exc)
            return None
        digests = {arg: (info.digest, path) for arg, (info, path) in inputs.items()}
        return cache.cache_key(node, code, values, digests, groups)

    def lookup(self, node: g.Node, key: str | None) -> tuple[dict[str, Any], dict[str, ArtifactInfo]] | None:
        reused = self.run.reuse.get(node.name)
        if reused is not None and cache.intact(self.run.ws, reused[1]):
            return reused
        if key is None or self.run.no_cache or not node.options.get("cache", True):
            return None
        return cache.find_cached(self.run.ws, key)

    def record_cached(self, node: g.Node, key: str | None, values: dict[str, Any],
                      inputs: dict[str, tuple[ArtifactInfo, list[Any]]],
                      origin: dict[str, Any], outputs: dict[str, ArtifactInfo]) -> None:
        source = origin.get("cached_from") or origin["id"]
        now = runs.now()
        ids = runs.finish_step(self.run.ws, self.run.step_ids[node.name], {
            "status": g.CACHED, "cache_key": key, "cached_from": source, "params": values,
            "metrics": origin.get("metrics") or {}, "mlflow_run_id": origin.get("mlflow_run_id"),
            "model_uri": origin.get("model_uri"), "started_at": now, "finished_at": now,
            "duration_s": 0.0, "message": f"reused step run #{source} (run {origin['run_id']})",
        }, outputs, self.uses(node))
        self.accept(node, outputs, ids)
        self.emit(node.name, g.CACHED, cached_from=source)

    def uses(self, node: g.Node) -> dict[str, int]:
        return {arg: self.run.artifact_ids[str(b.step)][str(b.output)]
                for arg, b in node.inputs.items() if b.source == "output"}

    def accept(self, node: g.Node, outputs: dict[str, ArtifactInfo], ids: dict[str, int]) -> None:
        self.run.outputs[node.name] = outputs
        self.run.artifact_ids[node.name] = ids
        if node.kind == g.CONDITION and "result" in outputs:
            self.run.conditions[node.name] = bool(load_output(self.run.ws, outputs["result"]))

    def _store_logs(self, outcome: Outcome) -> str | None:
        """The full log as an artifact; the database keeps its tail even when the store refuses."""
        if not outcome.logs:
            return None
        try:
            return self.run.ws.artifacts.put(outcome.logs.encode(), durable=False)
        except MloopError as exc:
            outcome.logs += f"\n[mloop] the full log was not stored: {exc.message}\n"
            return None

    def finish(self, name: str, outcome: Outcome) -> None:
        ctx, started = self.running.pop(name)
        self.record_end(name, ctx, started, outcome)

    def record_end(self, name: str, ctx: StepContext, started: float, outcome: Outcome) -> None:
        node = self.run.graph.nodes[name]
        self.call_hooks("step_finished", node, ctx, outcome)
        ok = outcome.status == g.SUCCEEDED
        log_digest = self._store_logs(outcome)
        values = {
            "status": outcome.status, "attempts": outcome.attempts, "metrics": outcome.metrics,
            "finished_at": runs.now(), "duration_s": round(time.perf_counter() - started, 4),
            "message": (outcome.message or "")[:1000] or None, "error": outcome.error,
            "logs": outcome.logs[-200_000:], "log_digest": log_digest,
            "model_uri": outcome.model_uri, "mlflow_run_id": ctx.mlflow_run_id,
        }
        if node.kind == g.CONDITION and ok:
            values["metrics"] = {"result": float(bool(outcome.result))}
        outputs = outcome.outputs if ok else {}
        ids = runs.finish_step(self.run.ws, self.run.step_ids[name], values, outputs,
                               self.uses(node) if ok else {})
        if ok:
            self.accept(node, outputs, ids)
        elif outcome.status == g.FAILED:
            self.failed.append(name)
        self.emit(name, outcome.status, message=outcome.message, attempts=outcome.attempts)
