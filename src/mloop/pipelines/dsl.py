"""The DSL: `@pipeline` wires `@step` functions (`stepdef.py`), with `If`/`Else` and `.after()`.

Calling steps inside a `@pipeline` function does not run them: it records nodes of a
`Graph` (outputs are references). Outside a pipeline a step is its plain function, so user code
stays testable. Every wiring mistake (unknown or missing argument, a step passed instead of its
output, an output type that does not fit the annotation, a cycle, an unknown parameter) raises
`PipelineDefinitionError` naming the step and the argument, before anything runs.
"""

from __future__ import annotations

import functools
import inspect
import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from mloop.errors import did_you_mean
from mloop.pipelines import graph as g
from mloop.pipelines.errors import PipelineDefinitionError
from mloop.pipelines.refs import (
    _BUILDER,
    Comparison,
    OutputRef,
    Outputs,
    ParamRef,
    StepCall,
    _current,
    _Operand,
)
from mloop.pipelines.stepdef import StepDef
from mloop.pipelines.typecheck import fits, hints_of, type_name

_PARAM_TYPES = {int: "int", float: "float", str: "str", bool: "bool", dict: "json", list: "json"}


@dataclass
class _Builder:
    graph: g.Graph
    conditions: list[tuple[str, bool]] = field(default_factory=list)
    last_if: str | None = None
    counter: int = 0

    def unique(self, base: str) -> str:
        name, n = base, 1
        while name in self.graph.nodes:
            n += 1
            name = f"{base}-{n}"
        return name

    def add_step(self, sdef: StepDef, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        name = self.unique(sdef.name)
        known = sdef.signature.parameters
        takes_any = any(p.kind is p.VAR_KEYWORD for p in known.values())
        for arg in kwargs:
            if arg not in known and not takes_any:
                raise PipelineDefinitionError(
                    f"step '{name}' has no argument '{arg}'", hint=did_you_mean(arg, known))
        try:
            bound = sdef.signature.bind(*args, **kwargs)
        except TypeError as exc:
            raise PipelineDefinitionError(
                f"step '{name}': {exc}",
                hint=f"its arguments are: {', '.join(sdef.signature.parameters) or 'none'}",
            ) from exc
        bound.apply_defaults()
        inputs = {arg: self.bind(name, sdef, arg, value) for arg, value in bound.arguments.items()}
        node = g.Node(
            name=name, func=sdef.func_ref, kind=sdef.kind, inputs=inputs,
            outputs={k: type_name(t) for k, t in sdef.outputs.items()},
            when=list(self.conditions), options=dict(sdef.options),
        )
        self.graph.nodes[name] = node
        self.last_if = None
        refs = [OutputRef(name, out, typ) for out, typ in sdef.outputs.items()]
        if not refs:
            return StepCall(name)
        if len(refs) == 1:
            return refs[0]
        result = Outputs(refs)
        result.step = name
        return result

    def bind(self, step_name: str, sdef: StepDef, arg: str, value: Any) -> g.Binding:
        where = f"argument '{arg}' of step '{step_name}'"
        expected = sdef.hints.get(arg, Any)
        if isinstance(value, StepDef):
            raise PipelineDefinitionError(
                f"{where} got the step '{value.name}' itself, not its output",
                hint=f"Call it and pass the result: {value.name}(...)",
            )
        if isinstance(value, StepCall | Outputs):
            what = "no outputs" if isinstance(value, StepCall) else f"{len(value)} outputs"
            raise PipelineDefinitionError(
                f"{where} got the call of step '{value.step}', which has {what}",
                hint="Unpack several outputs (a, b = step(...)); order steps without data "
                "with .after(other).",
            )
        if isinstance(value, Pipeline):
            raise PipelineDefinitionError(f"{where} got the pipeline '{value.name}'")
        if isinstance(value, OutputRef | ParamRef):
            if not fits(value.type, expected):
                source = (f"output '{value.name}' of step '{value.step}'"
                          if isinstance(value, OutputRef) else f"parameter '{value.name}'")
                raise PipelineDefinitionError(
                    f"{where} expects {type_name(expected)} but {source} is {type_name(value.type)}"
                )
            return value.binding()
        return g.Binding("value", value=_constant(where, value, expected))

    def add_after(self, step_name: str, others: tuple[Any, ...]) -> None:
        node = self.graph.nodes[step_name]
        for other in others:
            target = _step_of(other)
            if target is None:
                raise PipelineDefinitionError(
                    f"step '{step_name}'.after() got {other!r}; pass the result of a step call"
                )
            if target not in node.after:
                node.after.append(target)

    def add_condition(self, comparison: Any) -> str:
        if isinstance(comparison, Comparison):
            left, op, right = comparison.left, comparison.op, comparison.right
        elif isinstance(comparison, OutputRef | ParamRef):
            left, op, right = comparison, "truthy", None
        else:
            raise PipelineDefinitionError(
                f"If() needs a comparison on a step output or parameter, got {comparison!r}",
                hint='For example: with If(report["auc"] >= auc_threshold): ...',
            )
        self.counter += 1
        name = self.unique(f"condition-{self.counter}")
        operands = {"left": left, "right": right}
        inputs = {
            key: val.binding() if isinstance(val, _Operand) else
            g.Binding("value", value=_constant(f"the condition '{name}'", val, Any))
            for key, val in operands.items()
        }
        self.graph.nodes[name] = g.Node(
            name=name, func=g.CONDITION_FUNC, kind=g.CONDITION, inputs=inputs,
            outputs={"result": "bool"}, when=list(self.conditions),
            options={"cache": False, "op": op, "retries": 0, "isolation": "thread",
                     "expression": _describe(left, op, right)},
        )
        return name


def _describe(left: Any, op: str, right: Any) -> str:
    def text(x: Any) -> str:
        if isinstance(x, OutputRef):
            return f"{x.step}.{x.name}" + "".join(f"[{p!r}]" for p in x.path)
        if isinstance(x, ParamRef):
            return x.name
        return repr(x)

    return text(left) if op == "truthy" else f"{text(left)} {op} {text(right)}"


def _step_of(value: Any) -> str | None:
    if isinstance(value, OutputRef | StepCall | Outputs):
        return value.step
    return None


def _constant(where: str, value: Any, expected: Any) -> Any:
    try:
        json.dumps(value)
    except (TypeError, ValueError) as exc:
        raise PipelineDefinitionError(
            f"{where} got a {type(value).__name__}; constants must be JSON values",
            hint="Pass data between steps as step outputs, or make it a pipeline parameter.",
        ) from exc
    if value is not None and not fits(type(value), expected):
        raise PipelineDefinitionError(
            f"{where} expects {type_name(expected)} but got the constant {value!r}"
        )
    return value


class If:
    """`with If(report["auc"] >= threshold):` — the steps inside run only when it holds."""

    def __init__(self, condition: Any) -> None:
        self.condition = condition
        self.name: str | None = None

    def __enter__(self) -> If:
        builder = _current("If()")
        self.name = builder.add_condition(self.condition)
        builder.conditions.append((self.name, True))
        return self

    def __exit__(self, *exc: Any) -> None:
        builder = _current("If()")
        builder.conditions.pop()
        builder.last_if = self.name


class Else:
    """`with Else():` right after an `If` block — the steps inside run when it did not hold."""

    def __enter__(self) -> Else:
        builder = _current("Else()")
        if builder.last_if is None:
            raise PipelineDefinitionError("Else() must directly follow a `with If(...)` block")
        self.name = builder.last_if
        builder.conditions.append((self.name, False))
        return self

    def __exit__(self, *exc: Any) -> None:
        builder = _current("Else()")
        builder.conditions.pop()
        builder.last_if = None


class Pipeline:
    """A `@pipeline` function: its typed, defaulted parameters are the run parameters."""

    def __init__(self, func: Callable[..., Any], name: str, description: str) -> None:
        self.func = func
        self.name = name
        self.description = description
        self.params = _params(func, name)
        functools.update_wrapper(self, func)  # type: ignore[arg-type]
        self._graph: g.Graph | None = None

    @property
    def graph(self) -> g.Graph:
        """The validated graph (built once)."""
        if self._graph is None:
            self._graph = self.build()
        return self._graph

    def build(self) -> g.Graph:
        graph = g.Graph(
            name=self.name, params={p.name: p for p in self.params.values()},
            source=f"{self.func.__module__}:{self.func.__qualname__}", description=self.description,
        )
        builder = _Builder(graph)
        refs = {p: ParamRef(p, _PY_TYPES.get(spec.type, Any)) for p, spec in self.params.items()}
        with _building(builder):
            self.func(**refs)
        try:
            graph.validate()
        except PipelineDefinitionError:
            raise
        except Exception as exc:
            raise PipelineDefinitionError(str(exc), hint=getattr(exc, "hint", None)) from exc
        return graph

    def __repr__(self) -> str:
        return f"<pipeline {self.name}>"


_PY_TYPES = {"int": int, "float": float, "str": str, "bool": bool}


@contextmanager
def _building(builder: _Builder) -> Iterator[None]:
    token = _BUILDER.set(builder)
    try:
        yield
    finally:
        _BUILDER.reset(token)


def _params(func: Callable[..., Any], pipeline_name: str) -> dict[str, g.Param]:
    hints = hints_of(func)
    params: dict[str, g.Param] = {}
    for pname, p in inspect.signature(func).parameters.items():
        where = f"parameter '{pname}' of pipeline '{pipeline_name}'"
        if p.default is inspect.Parameter.empty:
            raise PipelineDefinitionError(f"{where} needs a default value")
        hint = hints.get(pname, type(p.default) if p.default is not None else str)
        base = getattr(hint, "__origin__", hint)
        if base not in _PARAM_TYPES:
            raise PipelineDefinitionError(
                f"{where} has type {type_name(hint)}; parameters are int, float, str, bool, dict "
                "or list"
            )
        params[pname] = g.Param(pname, _PARAM_TYPES[base], p.default)
    return params


def pipeline(
    func: Callable[..., Any] | None = None, *, name: str | None = None, description: str = ""
) -> Any:
    """Make a function a pipeline; `name` defaults to the function name with dashes."""

    def wrap(fn: Callable[..., Any]) -> Pipeline:
        doc = description or (inspect.getdoc(fn) or "").split("\n", 1)[0]
        return Pipeline(fn, name or fn.__name__.replace("_", "-"), doc)

    return wrap(func) if func is not None else wrap
