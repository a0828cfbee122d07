"""Compile a pipeline to a Kubeflow Pipelines v2 spec with the kfp SDK.

Every node becomes a container task running `mloop step exec` in the project's image (see the
Dockerfile at the repository root); data flows through the shared metadata database and
artifact store, not KFP artifacts, so a cluster run is recorded like a local one and appears in
`mloop runs` and lineage. Pipeline parameters become KFP parameters passed to every task; the
run id is the KFP job id. A condition node's task writes `true`/`false` as an output parameter
and the gated tasks sit in `dsl.If` groups on it. Retries, timeouts and caching stay mloop's
(KFP caching is off: tasks record to the database).
"""

from __future__ import annotations

import inspect
import json
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.pipelines import graph as g

if TYPE_CHECKING:
    from mloop.pipelines.dsl import Pipeline
    from mloop.store import Workspace

DEFAULT_IMAGE = "mloop-project:latest"
_KFP_TYPES = {"int": "Integer", "float": "Float", "bool": "Boolean", "str": "String", "json": "String"}
_PY_TYPES = {"int": int, "float": float, "bool": bool, "str": str, "json": str}


def _component_text(pipeline: str, graph: g.Graph, node: g.Node, image: str) -> str:
    inputs = [{"name": "run_id", "type": "String"}]
    args: list[Any] = ["--pipeline", pipeline, "--run-id", {"inputValue": "run_id"},
                       "--step", node.name, "--graph-hash", graph.digest()[:16]]
    for name, param in graph.params.items():
        inputs.append({"name": f"p_{name}", "type": _KFP_TYPES[param.type]})
        args += ["--param", {"concat": [f"{name}=", {"inputValue": f"p_{name}"}]}]
    # "step-" prefix: KFP names its own condition groups condition-1, condition-2...
    spec: dict[str, Any] = {"name": f"step-{node.name}", "inputs": inputs}
    if node.kind == g.CONDITION:
        spec["outputs"] = [{"name": "result", "type": "String"}]
        args += ["--result-file", {"outputPath": "result"}]
    spec["implementation"] = {"container": {
        "image": image, "command": ["mloop", "step", "exec"], "args": args}}
    return json.dumps(spec)  # JSON is YAML


def _param_value(param: g.Param, value: Any) -> Any:
    return json.dumps(value) if param.type == "json" else value


def _apply_resources(task: Any, resources: dict[str, Any]) -> None:
    if resources.get("cpu"):
        task.set_cpu_limit(str(resources["cpu"]))
    if resources.get("memory"):
        task.set_memory_limit(str(resources["memory"]))
    if resources.get("gpu"):
        task.set_accelerator_limit(int(resources["gpu"]))


def _grouped(graph: g.Graph) -> list[g.Node]:
    """The nodes with those under the same conditions next to each other, where the data flow
    allows it (a branch's register and deploy in one group); else the graph's own order."""
    nodes = list(graph.nodes.values())
    first: dict[tuple[Any, ...], int] = {}
    for index, node in enumerate(nodes):
        first.setdefault(tuple(node.when), index)
    order = sorted(range(len(nodes)), key=lambda i: (first[tuple(nodes[i].when)], i))
    placed: set[str] = set()
    for i in order:
        if any(u not in placed for u in nodes[i].upstream()):
            return nodes
        placed.add(nodes[i].name)
    return [nodes[i] for i in order]


def _body(pipeline: str, graph: g.Graph, image: str) -> Any:
    from kfp import components, dsl

    def body(*args: Any, **params: Any) -> None:
        params.update(zip(graph.params, args, strict=False))  # kfp passes them positionally
        tasks: dict[str, Any] = {}
        # Consecutive nodes under the same conditions share one dsl.If group: KFP refuses a task
        # that depends on a task inside another If group (register -> deploy in one branch).
        stack, open_when = ExitStack(), None
        with stack:
            for node in _grouped(graph):
                factory = components.load_component_from_text(_component_text(pipeline, graph, node, image))
                if node.when != open_when:
                    stack.close()
                    stack, open_when = ExitStack(), node.when
                    for cond, branch in node.when:
                        stack.enter_context(dsl.If(tasks[cond].outputs["result"] == str(branch).lower()))
                task = factory(run_id=dsl.PIPELINE_JOB_ID_PLACEHOLDER,
                               **{f"p_{k}": v for k, v in params.items()})
                task.set_display_name(node.name)
                task.set_caching_options(False)
                _apply_resources(task, node.options.get("resources") or {})
                ups = [tasks[u] for u in node.upstream() if u in tasks]
                if ups:
                    task.after(*ups)
                tasks[node.name] = task
            stack.close()

    parameters = [
        inspect.Parameter(name, inspect.Parameter.POSITIONAL_OR_KEYWORD,
                          default=_param_value(p, p.default), annotation=_PY_TYPES[p.type])
        for name, p in graph.params.items()
    ]
    body.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    body.__annotations__ = {p.name: p.annotation for p in parameters}
    body.__name__ = graph.name.replace("-", "_")
    return body


def compile_kfp(
    ws: Workspace | None, pipeline: Pipeline | g.Graph, output: Path, *, image: str | None = None,
    name: str | None = None,
) -> dict[str, Any]:
    """Write the KFP v2 pipeline spec of `pipeline` to `output`.

    Args:
        pipeline: a `@pipeline` object or a graph.
        image: the project image every task runs (default `mloop-project:latest`).
        name: the pipeline reference tasks pass to `mloop step exec` (name or module:function;
            default: the pipeline's name).

    Returns:
        `{path, image, tasks, params, conditions}`.
    """
    from kfp import compiler, dsl

    graph = pipeline if isinstance(pipeline, g.Graph) else pipeline.graph
    image = image or DEFAULT_IMAGE
    body = _body(name or graph.name, graph, image)
    kfp_pipeline = dsl.pipeline(name=graph.name, description=graph.description or None)(body)
    output = Path(output)
    output.parent.mkdir(parents=True, exist_ok=True)
    compiler.Compiler().compile(kfp_pipeline, str(output))
    return {
        "path": str(output), "image": image, "tasks": list(graph.nodes),
        "params": {k: p.default for k, p in graph.params.items()},
        "conditions": [n.name for n in graph.nodes.values() if n.kind == g.CONDITION],
    }
