"""Interpreting a KFP DAG: task ordering, conditions, loops, nested pipelines, exit handlers.

`run_component` executes one component of the PipelineSpec with its inputs and returns its
outputs. A DAG runs its tasks on threads as their upstream tasks finish (leaf executions are
bounded by `Runtime.limit`); after a failure no new task starts except those KFP runs anyway
(`ALL_UPSTREAM_TASKS_COMPLETED`: exit handlers, `ignore_upstream_failure`), and the DAG fails.
Values are plain: parameters as JSON values, artifacts as `kfp.dsl.Artifact` objects (lists
for `dsl.Collected` and artifact-list outputs).
"""

from __future__ import annotations

import json
import logging
import re
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from mloop.pipelines.kfp_frontend import cel
from mloop.pipelines.kfp_frontend.errors import KfpTaskFailed
from mloop.pipelines.kfp_frontend.inner import Recorder, cache_key
from mloop.pipelines.kfp_frontend.leaf import run_leaf
from mloop.pipelines.kfp_frontend.task_nodes import ALL_DONE
from mloop.pipelines.kfp_frontend.tracking import TaskRuns, artifact_metrics

log = logging.getLogger("mloop.pipelines")
OK, FAILED, SKIPPED, NOT_RUN = "Succeeded", "Failed", "Skipped", "NotRun"
_MISSING = object()


@dataclass
class Runtime:
    """What every task of one step's execution shares."""

    components: dict[str, Any]
    executors: dict[str, Any]
    root: Path
    cwd: str
    run_name: str
    env: dict[str, str] = field(default_factory=dict)  # for every task
    tasks_mlflow: TaskRuns | None = None  # a nested MLflow run per task (tracking on)
    install_packages: bool = False  # missing packages_to_install: a cached venv (venvs.py)
    state_dir: Path | None = None
    stop: threading.Event = field(default_factory=threading.Event)
    limit: threading.Semaphore = field(default_factory=lambda: threading.Semaphore(4))
    on_log: Callable[[str, str, float | None, int | None], None] | None = None
    metrics: dict[str, float] = field(default_factory=dict)
    tasks: list[tuple[str, str, str]] = field(default_factory=list)  # (path, status, message)
    recorder: Recorder | None = None  # a step-run row per inner task (inner.py)

    def log(self, path: str, text: str, seconds: float | None = None, rc: int | None = None) -> None:
        if self.on_log is not None:
            self.on_log(path, text, seconds, rc)

    def record(self, path: str, status: str, message: str = "") -> None:
        self.tasks.append((path, status, message))


@dataclass
class Values:
    params: dict[str, Any] = field(default_factory=dict)
    artifacts: dict[str, Any] = field(default_factory=dict)


def run_component(rt: Runtime, name: str, inputs: Values, path: str,
                  retry: dict[str, Any] | None = None) -> Values:
    """Execute component `name` (a DAG or an executor) with `inputs`; its outputs.

    Raises:
        KfpTaskFailed: a task failed (inside a DAG: after the tasks KFP runs anyway).
    """
    comp = rt.components[name]
    if "dag" in comp:
        return _run_dag(rt, comp, inputs, path)
    arguments = {**inputs.params, **inputs.artifacts}
    env = rt.tasks_mlflow.open(path) if rt.tasks_mlflow is not None else {}
    result: Values | None = None
    try:
        out = run_leaf(rt, path, comp, rt.executors[comp["executorLabel"]], arguments, retry, env)
        declared = comp.get("outputDefinitions", {})
        result = Values({k: v for k, v in out.items() if k in declared.get("parameters", {})},
                        {k: v for k, v in out.items() if k in declared.get("artifacts", {})})
    finally:
        if rt.tasks_mlflow is not None:
            rt.tasks_mlflow.close(path, _typed(comp, inputs.params),
                                  {**result.params, **result.artifacts} if result else None, result is not None)
    assert result is not None  # run_leaf returned
    prefix = path.rsplit("/", 1)[-1]
    rt.metrics.update({f"{prefix}.{k}": v for k, v in artifact_metrics(result.artifacts).items()})
    return result


def _typed(comp: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    """Parameters as the component receives them (an integer input stored as 4.0 is 4)."""
    types = comp.get("inputDefinitions", {}).get("parameters", {})
    return {k: int(v) if isinstance(v, float) and v.is_integer()
            and types.get(k, {}).get("parameterType") == "NUMBER_INTEGER" else v
            for k, v in params.items()}


class _Dag:
    def __init__(self, rt: Runtime, comp: dict[str, Any], inputs: Values, path: str) -> None:
        self.rt, self.comp, self.inputs, self.path = rt, comp, inputs, path
        self.tasks: dict[str, Any] = comp["dag"].get("tasks", {})
        self.state = {name: "" for name in self.tasks}
        self.results: dict[str, Values] = {}
        self.errors: dict[str, str] = {}
        self.cv = threading.Condition()
        self.deps = {name: _upstream(task) for name, task in self.tasks.items()}

    def run(self) -> Values:
        with self.cv:
            while True:
                self._schedule()
                if not any(s == "running" for s in self.state.values()):
                    break
                self.cv.wait()
        failed = [n for n, s in self.state.items() if s == FAILED]
        if failed:
            raise KfpTaskFailed(self.errors[failed[0]])
        return _dag_outputs(self.comp, self.results, self.state)

    def _schedule(self) -> None:
        failed = any(s == FAILED for s in self.state.values()) or self.rt.stop.is_set()
        for name, task in self.tasks.items():
            if self.state[name]:
                continue
            anyway = task.get("triggerPolicy", {}).get("strategy") == ALL_DONE
            if failed and not anyway:
                self.state[name] = NOT_RUN
                self._note(name, NOT_RUN, "not run: an upstream task failed")
                continue
            ups = [self.state.get(u, OK) for u in self.deps[name]]
            if any(s in ("", "running") for s in ups):
                continue
            if not anyway and any(s in (FAILED, NOT_RUN) for s in ups):
                self.state[name] = NOT_RUN
                self._note(name, NOT_RUN, "not run: an upstream task failed")
            elif not anyway and any(s == SKIPPED for s in ups):
                self.state[name] = SKIPPED
                self.rt.record(f"{self.path}/{name}", SKIPPED, "an upstream task was skipped")
                self._note(name, SKIPPED, "skipped: an upstream task was skipped")
            else:
                self.state[name] = "running"
                threading.Thread(target=self._task, args=(name,), daemon=True,
                                 name=f"kfp-{name}").start()

    def _task(self, name: str) -> None:
        path = f"{self.path}/{name}"
        inputs, result, reused = Values(), None, False
        try:
            inputs = self._inputs(self.tasks[name])
            status, result, reused = self._execute(name, path, inputs)
        except KfpTaskFailed as exc:
            status, result = FAILED, None
            self.errors[name] = str(exc)
        except Exception as exc:  # noqa: BLE001 — a bad spec or a kfp helper error: the task fails readably
            status, result = FAILED, None
            self.errors[name] = f"task '{path}': {type(exc).__name__}: {exc}"
        self.rt.record(path, status, self.errors.get(name, ""))
        if not reused:
            why = "skipped: its condition is false" if status == SKIPPED else self.errors.get(name, "")
            self._note(name, status, why, result, inputs)
        with self.cv:
            if result is not None:
                self.results[name] = result
            self.state[name] = status
            self.cv.notify_all()

    def _execute(self, name: str, path: str, inputs: Values) -> tuple[str, Values | None, bool]:
        """(status, outputs, whether they were reused from the run being retried)."""
        task = self.tasks[name]
        condition = task.get("triggerPolicy", {}).get("condition")
        if condition and not cel.evaluate(condition, inputs.params):
            return SKIPPED, None, False
        rec, ref = self.rt.recorder, task["componentRef"]["name"]
        if rec is not None:
            comp = self.rt.components[ref]
            key = None
            if "executorLabel" in comp and not ("parameterIterator" in task or "artifactIterator" in task):
                # an exit task (runs after failures too) runs again at the end of a retry
                anyway = task.get("triggerPolicy", {}).get("strategy") == ALL_DONE
                key = cache_key({"task": task, "component": comp}, self.rt.executors.get(comp["executorLabel"]),
                                inputs.params, {k: rec.digest(v) for k, v in inputs.artifacts.items()})
                found = None if anyway else rec.reuse(path, ref, key, inputs.params)
                if found is not None:
                    declared = comp.get("outputDefinitions", {}).get("artifacts", {})
                    return OK, Values({k: v for k, v in found.items() if k not in declared},
                                      {k: v for k, v in found.items() if k in declared}), True
            rec.begin(path, ref, inputs.params, key)
        return OK, execute_task(self.rt, task, inputs, path), False

    def _note(self, name: str, status: str, message: str, result: Values | None = None,
              inputs: Values | None = None) -> None:
        """The task's row in the run store (never stops the DAG: a failed write is logged)."""
        rec = self.rt.recorder
        if rec is None:
            return
        path, ref = f"{self.path}/{name}", self.tasks[name]["componentRef"]["name"]
        try:
            if status == SKIPPED:
                rec.skipped(path, ref, self.rt.components, message)
                return
            mlflow = self.rt.tasks_mlflow.opened.get(path) if self.rt.tasks_mlflow else None
            outputs = {**result.params, **result.artifacts} if result is not None else None
            rec.end(path, ref, status, message, outputs, dict(inputs.artifacts) if inputs else {}, mlflow)
        except Exception as exc:  # noqa: BLE001 — recording is best effort: the run goes on, its record of this task is incomplete
            log.warning("could not record task %s: %s", path, exc)

    def _inputs(self, task: dict[str, Any]) -> Values:
        spec = task.get("inputs", {})
        out = Values()
        for key, source in spec.get("parameters", {}).items():
            value = self._param(source)
            if value is not _MISSING:
                out.params[key] = value
        for key, source in spec.get("artifacts", {}).items():
            value = self._artifact(source)
            if value is not _MISSING:
                out.artifacts[key] = value
        return out

    def _param(self, source: dict[str, Any]) -> Any:
        if "componentInputParameter" in source:
            value = self.inputs.params.get(source["componentInputParameter"], _MISSING)
        elif "taskOutputParameter" in source:
            ref = source["taskOutputParameter"]
            got = self.results.get(ref["producerTask"])
            value = got.params.get(ref["outputParameterKey"], _MISSING) if got else _MISSING
        elif "runtimeValue" in source:
            value = source["runtimeValue"].get("constant")
        elif "taskFinalStatus" in source:
            producer = source["taskFinalStatus"]["producerTask"]
            failed = self.state.get(producer) == FAILED
            value = {"state": "FAILED" if failed else "SUCCEEDED",
                     "pipelineJobResourceName": self.rt.run_name, "pipelineTaskName": producer,
                     "error": {"code": 1, "message": self.errors[producer]} if failed else {}}
        else:
            value = _MISSING
        selector = source.get("parameterExpressionSelector")
        return select(value, selector) if selector and value is not _MISSING else value

    def _artifact(self, source: dict[str, Any]) -> Any:
        if "componentInputArtifact" in source:
            return self.inputs.artifacts.get(source["componentInputArtifact"], _MISSING)
        if "taskOutputArtifact" in source:
            ref = source["taskOutputArtifact"]
            got = self.results.get(ref["producerTask"])
            return got.artifacts.get(ref["outputArtifactKey"], _MISSING) if got else _MISSING
        return _MISSING


def execute_task(rt: Runtime, task: dict[str, Any], inputs: Values, path: str) -> Values:
    """Run a task whose inputs are resolved (and whose condition held): a loop or a component."""
    ref = task["componentRef"]["name"]
    if "parameterIterator" in task or "artifactIterator" in task:
        return _run_loop(rt, task, ref, inputs, path)
    return run_component(rt, ref, inputs, path, task.get("retryPolicy"))


def _run_dag(rt: Runtime, comp: dict[str, Any], inputs: Values, path: str) -> Values:
    return _Dag(rt, comp, inputs, path).run()


def _upstream(task: dict[str, Any]) -> list[str]:
    found = list(task.get("dependentTasks", []))
    spec = task.get("inputs", {})
    for source in [*spec.get("parameters", {}).values(), *spec.get("artifacts", {}).values()]:
        for key in ("taskOutputParameter", "taskOutputArtifact", "taskFinalStatus"):
            producer = source.get(key, {}).get("producerTask")
            if producer and producer not in found:
                found.append(producer)
    return found


def select(value: Any, selector: str) -> Any:
    """`parseJson(string_value)["key"]` (a loop item's field), as KFP writes it."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            pass
    for key in re.findall(r"\[\s*[\"']([^\"']*)[\"']\s*\]|\[(\d+)\]", selector):
        value = value[key[0]] if key[0] or not key[1] else value[int(key[1])]
    return value


def _items(task: dict[str, Any], inputs: Values) -> tuple[str, list[Any], bool]:
    if "parameterIterator" in task:
        it = task["parameterIterator"]
        items = it["items"]
        raw = json.loads(items["raw"]) if "raw" in items else inputs.params.get(items["inputParameter"])
        if isinstance(raw, str):
            raw = json.loads(raw)
        return it["itemInput"], list(raw or []), False
    it = task["artifactIterator"]
    found = inputs.artifacts.get(it["items"]["inputArtifact"]) or []
    return it["itemInput"], list(found if isinstance(found, list) else [found]), True


def _run_loop(rt: Runtime, task: dict[str, Any], ref: str, inputs: Values, path: str) -> Values:
    item_input, items, artifacts = _items(task, inputs)
    limit = int(task.get("iteratorPolicy", {}).get("parallelismLimit") or 0) or len(items) or 1
    gate = threading.Semaphore(limit)
    results: list[Values | None] = [None] * len(items)
    errors: list[str] = []

    def one(index: int, item: Any) -> None:
        with gate:
            if errors or rt.stop.is_set():
                return
            scope = Values(dict(inputs.params), dict(inputs.artifacts))
            (scope.artifacts if artifacts else scope.params)[item_input] = item
            try:
                results[index] = run_component(rt, ref, scope, f"{path}[{index}]")
            except KfpTaskFailed as exc:
                errors.append(str(exc))

    threads = [threading.Thread(target=one, args=(i, item), daemon=True) for i, item in enumerate(items)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    if errors:
        raise KfpTaskFailed(errors[0])
    collected = Values()
    for name in rt.components[ref].get("outputDefinitions", {}).get("parameters", {}):
        collected.params[name] = [r.params[name] for r in results if r is not None and name in r.params]
    for name in rt.components[ref].get("outputDefinitions", {}).get("artifacts", {}):
        flat: list[Any] = []
        for r in results:
            value = r.artifacts.get(name) if r is not None else None
            flat.extend(value if isinstance(value, list) else [value] if value is not None else [])
        collected.artifacts[name] = flat
    return collected


def _dag_outputs(comp: dict[str, Any], results: dict[str, Values], state: dict[str, str]) -> Values:
    spec = comp["dag"].get("outputs", {})
    out = Values()
    for name, source in spec.get("parameters", {}).items():
        selectors = ([source["valueFromParameter"]] if "valueFromParameter" in source
                     else source.get("valueFromOneof", {}).get("parameterSelectors", []))
        for sel in selectors:
            got = results.get(sel["producerSubtask"])
            if got is not None and sel["outputParameterKey"] in got.params:
                out.params[name] = got.params[sel["outputParameterKey"]]
                break
    for name, source in spec.get("artifacts", {}).items():
        for sel in source.get("artifactSelectors", []):
            got = results.get(sel["producerSubtask"])
            if got is not None and sel["outputArtifactKey"] in got.artifacts:
                out.artifacts[name] = got.artifacts[sel["outputArtifactKey"]]
                break
    return out
