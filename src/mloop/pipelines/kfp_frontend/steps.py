"""The functions mloop's executor calls for the steps of a KFP pipeline.

Each step's node carries its slice of the PipelineSpec (the task, the components and
executors it reaches) in its options, so the stored run graph is self-contained (retry and
clone need nothing else), and the slice's digest as the constant input `__kfp__`, so the
step's cache key covers the component spec; artifact inputs arrive as stored artifacts, keyed
by content digest.
"""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from mloop.pipelines.context import current_context
from mloop.pipelines.errors import StepFailed
from mloop.pipelines.kfp_frontend import cel
from mloop.pipelines.kfp_frontend.artifacts import StoredArtifact
from mloop.pipelines.kfp_frontend.engine import Runtime, Values, execute_task, select
from mloop.pipelines.kfp_frontend.errors import KfpTaskFailed
from mloop.pipelines.kfp_frontend.inner import Recorder
from mloop.pipelines.kfp_frontend.registry import RUN_ENV
from mloop.pipelines.kfp_frontend.task_nodes import ARTIFACT, PARAM, task_kind
from mloop.pipelines.kfp_frontend.tracking import TaskRuns
from mloop.pipelines.runs import run_graph


def _runtime(spec: dict[str, Any]) -> tuple[Runtime, list[str]]:
    ctx = current_context()
    ws = ctx.workspace
    root = Path(ws.state_dir) / "kfp" / ctx.run_id / ctx.step_name
    root.mkdir(parents=True, exist_ok=True)
    lines: list[str] = []
    lock = threading.Lock()

    def on_log(path: str, text: str, seconds: float | None, rc: int | None) -> None:
        head = f"--- {path}" + (f" (exit {rc}, {seconds:.3f} s)" if seconds is not None else "")
        entry = f"{head}\n{text}" + ("" if text.endswith("\n") or not text else "\n")
        with lock:
            lines.append(entry)
        if rt.recorder is not None and path != ctx.step_name:
            rt.recorder.log(path, entry)

    rt = Runtime(components=spec["components"], executors=spec["executors"], root=root,
                 cwd=str(ws.root), run_name=f"{spec['pipeline']}-{ctx.run_id}", on_log=on_log,
                 install_packages=bool(spec.get("install_packages")), state_dir=Path(ws.state_dir),
                 env={RUN_ENV: ctx.run_id})  # a component registering a model acts for the run's principal
    rt.recorder = Recorder(ws, ctx.run_id, ctx.step_name, lambda ref: task_kind(spec["components"].get(ref, {})))
    if ctx.mlflow_run_id and ctx.mlflow_experiment:  # the tracking hook opened the parent run
        rt.tasks_mlflow = TaskRuns(ws, ctx.mlflow_run_id, ctx.mlflow_experiment, ctx.run_id,
                                   spec["pipeline"], ctx.step_name)
    return rt, lines


def _inputs(kwargs: dict[str, Any], selectors: dict[str, str]) -> Values:
    values = Values()
    for key, value in kwargs.items():
        if key.startswith(ARTIFACT):
            values.artifacts[key[2:]] = value.to_dsl() if isinstance(value, StoredArtifact) else value
        elif key.startswith(PARAM):
            name = key[2:]
            values.params[name] = select(value, selectors[name]) if name in selectors else value
    return values


_SPECS: dict[tuple[str, str], dict[str, Any]] = {}
_SPECS_LOCK = threading.Lock()


def _spec(digest: str) -> dict[str, Any]:
    """This step's slice of the PipelineSpec, from the graph the run was recorded against."""
    ctx = current_context()
    key = (ctx.run_id, ctx.step_name)
    with _SPECS_LOCK:
        if key not in _SPECS:
            if len(_SPECS) > 10_000:  # steps that were cached or skipped never take theirs
                _SPECS.clear()
            for name, node in run_graph(ctx.workspace, ctx.run_id).nodes.items():
                if "kfp" in node.options:
                    _SPECS[(ctx.run_id, name)] = node.options["kfp"]
        spec = _SPECS.pop(key, None)
    if spec is None:
        raise StepFailed(f"step '{ctx.step_name}' has no KFP task in run {ctx.run_id}")
    del digest  # the cache key's part; the stored graph is the source of truth
    return spec


def run_task(**kwargs: Any) -> Any:
    """Execute one top-level KFP task (a component, a loop, a sub-DAG) as an mloop step."""
    spec = _spec(kwargs.pop("__kfp__"))
    rt, lines = _runtime(spec)
    inputs = _inputs(kwargs, spec.get("selectors", {}))
    try:
        result = execute_task(rt, spec["task"], inputs, spec["name"])
    except KfpTaskFailed as exc:
        raise StepFailed(str(exc)) from exc
    finally:
        for path, status, message in rt.tasks:
            if path.count("/") > 0 or status != "Succeeded":
                lines.append(f"task {path}: {status}{' - ' + message if message else ''}\n")
        print("".join(lines), end="")
        ctx = current_context()
        if rt.metrics:
            ctx.log_metrics(_metric_names(rt.metrics, spec["name"]))
        if rt.tasks_mlflow is not None and spec["name"] in rt.tasks_mlflow.opened:
            ctx.mlflow_run_id = rt.tasks_mlflow.opened[spec["name"]]  # the step is one task
    outputs = [_output(result, name) for name in spec["outputs"]]
    if not outputs:
        return None
    return outputs[0] if len(outputs) == 1 else tuple(outputs)


def _metric_names(metrics: dict[str, float], step: str) -> dict[str, float]:
    """A step's own metrics keep their names; an inner task's are prefixed with its name."""
    return {(k.split(".", 1)[1] if k.split(".", 1)[0] == step else k): v for k, v in metrics.items()}


def _output(result: Values, name: str) -> Any:
    if name in result.artifacts:
        return StoredArtifact.from_dsl(result.artifacts[name])
    return result.params.get(name)


def check_condition(**kwargs: Any) -> bool:
    """Evaluate a KFP trigger condition (`__expression__`) over the task's parameter inputs."""
    expression = kwargs.pop("__expression__")
    selectors = kwargs.pop("__selectors__", {})
    values = _inputs(kwargs, selectors).params
    return cel.evaluate(expression, values)
