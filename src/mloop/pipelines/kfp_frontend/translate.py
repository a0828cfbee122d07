"""A KFP PipelineSpec becomes mloop's executor graph.

Every task of the root DAG is one step (loops, conditions and nested pipelines run their inner
tasks inside that step); a task's inputs become bindings to pipeline parameters, constants or
upstream step outputs, so the executor orders, caches, records and retries them like any
mloop step. A trigger condition becomes two steps: one evaluating the KFP expression and an
mloop Condition gating the task. A root DAG with tasks that run after failures (exit
handlers, `ignore_upstream_failure`) runs as one step, since KFP runs those after a failure.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

from mloop.pipelines import graph as g
from mloop.pipelines.kfp_frontend import cel
from mloop.pipelines.kfp_frontend.errors import KfpUnsupported
from mloop.pipelines.kfp_frontend.spec import KfpSpec
from mloop.pipelines.kfp_frontend.task_nodes import ALL_DONE, ARTIFACT, PARAM, task_kind

RUN_TASK = "mloop.pipelines.kfp_frontend.steps:run_task"
CHECK = "mloop.pipelines.kfp_frontend.steps:check_condition"
ROOT = "__root__"
_TYPES = {"STRING": "str", "NUMBER_INTEGER": "int", "NUMBER_DOUBLE": "float",
          "BOOLEAN": "bool", "LIST": "json", "STRUCT": "json"}


def to_graph(spec: KfpSpec, *, install_packages: bool = False) -> g.Graph:
    """The executor graph of a compiled KFP pipeline (`install_packages`: components lacking
    their packages_to_install run in a cached venv; stored with each step, so retry and clone
    keep it).

    Raises:
        KfpUnsupported: pipeline-level input artifacts (there is nothing local to bind them to).
    """
    root = spec.root
    graph = g.Graph(name=spec.name, source=spec.source,
                    description=spec.pipeline.get("pipelineInfo", {}).get("description", ""))
    definitions = root.get("inputDefinitions", {})
    if definitions.get("artifacts"):
        names = ", ".join(definitions["artifacts"])
        raise KfpUnsupported(f"pipeline '{spec.name}' takes input artifacts ({names}); "
                             "mloop runs take parameters only")
    for name, param in definitions.get("parameters", {}).items():
        if param.get("parameterType") == "TASK_FINAL_STATUS":
            raise KfpUnsupported(f"pipeline '{spec.name}' takes a PipelineTaskFinalStatus input "
                                 f"('{name}'), which only an ExitHandler can provide")
        required = "defaultValue" not in param and not param.get("isOptional")
        graph.params[name] = g.Param(name, _TYPES.get(param.get("parameterType", ""), "json"),
                                     param.get("defaultValue"), required=required)
    tasks = root.get("dag", {}).get("tasks", {})
    if any(t.get("triggerPolicy", {}).get("strategy") == ALL_DONE for t in tasks.values()):
        _whole(spec, graph)
    else:
        for name, task in tasks.items():
            _task(spec, graph, name, task)
    if install_packages:
        for node in graph.nodes.values():
            if "kfp" in node.options:
                node.options["kfp"]["install_packages"] = True
                _attach(node, node.options["kfp"])
    graph.validate()
    return graph


def _reachable(spec: KfpSpec, start: str) -> tuple[dict[str, Any], dict[str, Any]]:
    components, executors = spec.components, spec.executors
    comps: dict[str, Any] = {}
    frontier = [start]
    while frontier:
        name = frontier.pop()
        if name in comps:
            continue
        comp = components[name] if name != ROOT else spec.root
        comps[name] = comp
        frontier += [t["componentRef"]["name"] for t in comp.get("dag", {}).get("tasks", {}).values()]
    labels = {c["executorLabel"] for c in comps.values() if "executorLabel" in c}
    return comps, {label: executors[label] for label in sorted(labels)}


def _cacheable(comps: dict[str, Any], task: dict[str, Any]) -> bool:
    tasks = [task, *(t for c in comps.values() for t in c.get("dag", {}).get("tasks", {}).values())]
    leaves = [t for t in tasks if "executorLabel" in comps.get(t["componentRef"]["name"], {})]
    return bool(leaves) and all(t.get("cachingOptions", {}).get("enableCache") for t in leaves)


def _outputs(comp: dict[str, Any]) -> dict[str, str]:
    out = comp.get("outputDefinitions", {})
    types = {k: _TYPES.get(v.get("parameterType", ""), "json") for k, v in out.get("parameters", {}).items()}
    for k, v in out.get("artifacts", {}).items():
        types[k] = v.get("artifactType", {}).get("schemaTitle", "system.Artifact")
    return types


def _bindings(graph: g.Graph, task: dict[str, Any]) -> tuple[dict[str, g.Binding], dict[str, str]]:
    inputs: dict[str, g.Binding] = {}
    selectors: dict[str, str] = {}
    spec = task.get("inputs", {})
    for key, source in spec.get("parameters", {}).items():
        if "componentInputParameter" in source:
            inputs[PARAM + key] = g.Binding("param", param=source["componentInputParameter"])
        elif "taskOutputParameter" in source:
            ref = source["taskOutputParameter"]
            inputs[PARAM + key] = g.Binding("output", step=ref["producerTask"],
                                            output=ref["outputParameterKey"])
        elif "runtimeValue" in source:
            inputs[PARAM + key] = g.Binding("value", value=source["runtimeValue"].get("constant"))
        if "parameterExpressionSelector" in source:
            selectors[key] = source["parameterExpressionSelector"]
    for key, source in spec.get("artifacts", {}).items():
        if "taskOutputArtifact" in source:
            ref = source["taskOutputArtifact"]
            inputs[ARTIFACT + key] = g.Binding("output", step=ref["producerTask"],
                                               output=ref["outputArtifactKey"])
    return inputs, selectors


def _task(spec: KfpSpec, graph: g.Graph, name: str, task: dict[str, Any]) -> None:
    comps, executors = _reachable(spec, task["componentRef"]["name"])
    comp = comps[task["componentRef"]["name"]]
    inputs, selectors = _bindings(graph, task)
    bound = {b.step for b in inputs.values() if b.source == "output"}
    node = g.Node(
        name=name, func=RUN_TASK, kind=task_kind(comp), inputs=inputs, outputs=_outputs(comp),
        after=[t for t in task.get("dependentTasks", []) if t not in bound],
        options={"cache": _cacheable(comps, task), "retries": 0, "isolation": "thread",
                 "display_name": task.get("taskInfo", {}).get("name", name)},
    )
    condition = task.get("triggerPolicy", {}).get("condition")
    if condition:
        node.when = [(_condition(graph, name, condition, inputs, selectors), True)]
    _attach(node, {"name": name, "pipeline": spec.name, "task": task, "components": comps,
                   "executors": executors, "selectors": selectors, "outputs": list(node.outputs)})
    graph.nodes[name] = node


def _attach(node: g.Node, spec: dict[str, Any]) -> None:
    """The step's spec slice lives in its options (stored with the graph); its digest is a
    constant input, so the cache key covers the component spec without the spec in the params."""
    node.options["kfp"] = spec
    body = json.dumps(spec, sort_keys=True, separators=(",", ":"), default=str)
    node.inputs["__kfp__"] = g.Binding("value", value=hashlib.sha256(body.encode()).hexdigest())


def _condition(graph: g.Graph, name: str, expression: str, inputs: dict[str, g.Binding],
               selectors: dict[str, str]) -> str:
    """Steps `<task>.check` (evaluates the KFP expression) and `<task>.if` (gates the task)."""
    used = {PARAM + key: inputs[PARAM + key] for key in cel.references(expression) if PARAM + key in inputs}
    check = g.Node(name=f"{name}.check", func=CHECK, kind=g.PROCESSING,
                   inputs={**used, "__expression__": g.Binding("value", value=expression),
                           "__selectors__": g.Binding("value", value=selectors)},
                   outputs={"result": "bool"}, options={"cache": False, "retries": 0})
    gate = g.Node(name=f"{name}.if", func=g.CONDITION_FUNC, kind=g.CONDITION,
                  inputs={"left": g.Binding("output", step=check.name, output="result")},
                  outputs={"result": "bool"},
                  options={"cache": False, "op": "truthy", "retries": 0, "isolation": "thread",
                           "expression": expression})
    graph.nodes[check.name], graph.nodes[gate.name] = check, gate
    return gate.name


def _whole(spec: KfpSpec, graph: g.Graph) -> None:
    """The whole root DAG as one step (it has tasks that run after a failure)."""
    comps, executors = _reachable(spec, ROOT)
    task = {"componentRef": {"name": ROOT},
            "inputs": {"parameters": {p: {"componentInputParameter": p} for p in graph.params}}}
    inputs, _ = _bindings(graph, task)
    node = g.Node(name=spec.name, func=RUN_TASK, kind=g.PROCESSING, inputs=inputs,
                  outputs=_outputs(spec.root), options={"cache": False, "retries": 0})
    _attach(node, {"name": spec.name, "pipeline": spec.name, "task": task, "components": comps,
                   "executors": executors, "selectors": {}, "outputs": list(node.outputs)})
    graph.nodes[node.name] = node
