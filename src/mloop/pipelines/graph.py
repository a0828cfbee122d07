"""The executor's graph: plain data, independent of the DSL that built it.

A `Graph` is what gets stored (JSON, hashed), compiled to KFP and executed. Any front end (the
`@pipeline` DSL, a YAML file, another tool) can build one. Nodes reference their function by
`module:qualname`; inputs are bindings to a step output, a pipeline parameter or a constant.
Conditions are nodes of kind `Condition` whose boolean `result` gates the nodes that list them
in `when`.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

from mloop.errors import InvalidInput

# Step kinds (lineage node types).
PROCESSING = "Processing"
TRAINING = "Training"
EVALUATION = "Evaluation"
CONDITION = "Condition"
REGISTER_MODEL = "RegisterModel"
ALERT = "Alert"
KINDS = (PROCESSING, TRAINING, EVALUATION, CONDITION, REGISTER_MODEL, ALERT, "Transform", "Deploy")

# Step run statuses (SageMaker / KFP words).
PENDING, EXECUTING, SUCCEEDED, FAILED = "Pending", "Executing", "Succeeded", "Failed"
CACHED, SKIPPED, STOPPED = "Cached", "Skipped", "Stopped"
DONE_OK = (SUCCEEDED, CACHED, SKIPPED)
TERMINAL = (SUCCEEDED, CACHED, SKIPPED, FAILED, STOPPED)

CONDITION_FUNC = "mloop.pipelines.conditions:evaluate"


@dataclass(frozen=True)
class Binding:
    """Where an input's value comes from: a step output (optionally indexed), a parameter, a constant."""

    source: str  # "output" | "param" | "value"
    step: str | None = None
    output: str | None = None
    path: tuple[Any, ...] = ()
    param: str | None = None
    value: Any = None

    def to_dict(self) -> dict[str, Any]:
        if self.source == "output":
            out: dict[str, Any] = {"step": self.step, "output": self.output}
            if self.path:
                out["path"] = list(self.path)
            return out
        if self.source == "param":
            return {"param": self.param}
        return {"value": self.value}

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Binding:
        if "step" in data:
            return Binding("output", step=data["step"], output=data["output"],
                           path=tuple(data.get("path", ())))
        if "param" in data:
            return Binding("param", param=data["param"])
        return Binding("value", value=data["value"])


@dataclass
class Node:
    """One step of the graph."""

    name: str
    func: str  # "module:qualname"
    kind: str = PROCESSING
    inputs: dict[str, Binding] = field(default_factory=dict)
    outputs: dict[str, str] = field(default_factory=dict)  # output name -> type name
    after: list[str] = field(default_factory=list)
    when: list[tuple[str, bool]] = field(default_factory=list)  # (condition node, branch)
    options: dict[str, Any] = field(default_factory=dict)

    def upstream(self) -> list[str]:
        """Every node this one waits for (data, ordering and conditions), in a stable order."""
        names: list[str] = []
        for binding in self.inputs.values():
            if binding.source == "output" and binding.step not in names:
                names.append(str(binding.step))
        for name in [*self.after, *(cond for cond, _ in self.when)]:
            if name not in names:
                names.append(name)
        return names

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["inputs"] = {k: b.to_dict() for k, b in self.inputs.items()}
        data["when"] = [[c, b] for c, b in self.when]
        return data

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Node:
        return Node(
            name=data["name"], func=data["func"], kind=data.get("kind", PROCESSING),
            inputs={k: Binding.from_dict(v) for k, v in data.get("inputs", {}).items()},
            outputs=dict(data.get("outputs", {})), after=list(data.get("after", [])),
            when=[(c, bool(b)) for c, b in data.get("when", [])],
            options=dict(data.get("options", {})),
        )


@dataclass
class Param:
    """A run parameter: its type name (int, float, str, bool, json) and default."""

    name: str
    type: str
    default: Any
    required: bool = False  # no default: the run must give a value (KFP inputs without defaults)


@dataclass
class Graph:
    """A pipeline definition: parameters and nodes in a topological order."""

    name: str
    params: dict[str, Param] = field(default_factory=dict)
    nodes: dict[str, Node] = field(default_factory=dict)
    source: str | None = None  # "module:function" that builds it, when known
    description: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name, "source": self.source, "description": self.description,
            "params": {k: _param_dict(p) for k, p in self.params.items()},
            "nodes": [n.to_dict() for n in self.nodes.values()],
        }

    @staticmethod
    def from_dict(data: dict[str, Any]) -> Graph:
        graph = Graph(
            name=data["name"], source=data.get("source"), description=data.get("description", ""),
            params={k: Param(**p) for k, p in data.get("params", {}).items()},
        )
        for raw in data.get("nodes", []):
            node = Node.from_dict(raw)
            graph.nodes[node.name] = node
        return graph

    def digest(self) -> str:
        """sha256 of the canonical JSON definition (what runs are recorded against)."""
        body = json.dumps(self.to_dict(), sort_keys=True, separators=(",", ":"), default=str)
        return hashlib.sha256(body.encode()).hexdigest()

    def downstream(self, name: str) -> list[str]:
        """Every node that (transitively) waits for `name`."""
        found: list[str] = []
        frontier = [name]
        while frontier:
            current = frontier.pop()
            for node in self.nodes.values():
                if current in node.upstream() and node.name not in found:
                    found.append(node.name)
                    frontier.append(node.name)
        return found

    def validate(self) -> None:
        """Check references and acyclicity, then store nodes in topological order.

        Raises:
            InvalidInput: an unknown step, output or parameter reference, or a cycle.
        """
        for node in self.nodes.values():
            for arg, binding in node.inputs.items():
                _check_binding(self, node, arg, binding)
            for name in [*node.after, *(c for c, _ in node.when)]:
                if name not in self.nodes:
                    raise InvalidInput(f"step '{node.name}' waits for unknown step '{name}'")
        self.nodes = {name: self.nodes[name] for name in topological_order(self)}


def _param_dict(param: Param) -> dict[str, Any]:
    data = asdict(param)
    if not param.required:  # keeps the digests of graphs made before `required` existed
        del data["required"]
    return data


def _check_binding(graph: Graph, node: Node, arg: str, binding: Binding) -> None:
    where = f"argument '{arg}' of step '{node.name}'"
    if binding.source == "param" and binding.param not in graph.params:
        raise InvalidInput(f"{where} refers to unknown parameter '{binding.param}'")
    if binding.source == "output":
        upstream = graph.nodes.get(str(binding.step))
        if upstream is None:
            raise InvalidInput(f"{where} refers to unknown step '{binding.step}'")
        if binding.output not in upstream.outputs:
            raise InvalidInput(
                f"{where} refers to output '{binding.output}' that step '{upstream.name}' "
                f"does not produce (outputs: {', '.join(upstream.outputs) or 'none'})"
            )


def topological_order(graph: Graph) -> list[str]:
    """Kahn's algorithm, keeping definition order among ready nodes.

    Raises:
        InvalidInput: the graph has a cycle (names the steps on it).
    """
    waiting = {name: set(node.upstream()) for name, node in graph.nodes.items()}
    order: list[str] = []
    while waiting:
        ready = [name for name, deps in waiting.items() if not deps]
        if not ready:
            cycle = " -> ".join(sorted(waiting))
            raise InvalidInput(
                f"pipeline '{graph.name}' has a cycle among steps: {cycle}",
                hint="Remove the .after() call that makes a step wait for its own downstream.",
            )
        for name in ready:
            order.append(name)
            del waiting[name]
        for deps in waiting.values():
            deps.difference_update(ready)
    return order
