"""References the DSL hands out while a pipeline is being built: step outputs, parameters, the
comparisons `If` takes, and the builder they report to. None of them holds a value: values exist
only when the pipeline runs, which is why using one in a Python `if` is an error."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mloop.pipelines import graph as g
from mloop.pipelines.errors import PipelineDefinitionError

if TYPE_CHECKING:
    from mloop.pipelines.dsl import _Builder

_BUILDER: contextvars.ContextVar[_Builder | None] = contextvars.ContextVar("mloop_builder", default=None)


def _current(what: str) -> _Builder:
    builder = _BUILDER.get()
    if builder is None:
        raise PipelineDefinitionError(f"{what} only works inside a @pipeline function")
    return builder


class _Operand:
    """Something a condition can compare: a step output or a pipeline parameter."""

    def binding(self) -> g.Binding:
        raise NotImplementedError

    def _cmp(self, op: str, other: Any) -> Comparison:
        return Comparison(self, op, other)

    def __ge__(self, other: Any) -> Comparison:  # type: ignore[override]
        return self._cmp(">=", other)

    def __gt__(self, other: Any) -> Comparison:  # type: ignore[override]
        return self._cmp(">", other)

    def __le__(self, other: Any) -> Comparison:  # type: ignore[override]
        return self._cmp("<=", other)

    def __lt__(self, other: Any) -> Comparison:  # type: ignore[override]
        return self._cmp("<", other)

    def __eq__(self, other: Any) -> Comparison:  # type: ignore[override]
        return self._cmp("==", other)

    def __ne__(self, other: Any) -> Comparison:  # type: ignore[override]
        return self._cmp("!=", other)

    __hash__ = object.__hash__

    def __bool__(self) -> bool:
        raise PipelineDefinitionError(
            "a step output or parameter was used in a Python `if`/`and`/`or` while building the "
            "pipeline; its value is only known when the pipeline runs",
            hint="Use `with If(output >= value):` and `with Else():` instead.",
        )


@dataclass(eq=False)
class OutputRef(_Operand):
    """A reference to one output of a step call (optionally indexed: `report["auc"]`)."""

    step: str
    name: str  # the output's name (`output` is KFP's spelling of the reference itself)
    type: Any = Any
    path: tuple[Any, ...] = ()

    def __getitem__(self, key: Any) -> OutputRef:
        return OutputRef(self.step, self.name, Any, (*self.path, key))

    def binding(self) -> g.Binding:
        return g.Binding("output", step=self.step, output=self.name, path=self.path)

    @property
    def outputs(self) -> _ByName:
        """KFP's `task.outputs["name"]`: this step's one output by its name."""
        if self.path:
            raise wiring_error(self.step, [self.name], "outputs", "an indexed output has no outputs")
        return _ByName(self.step, {self.name: self})

    @property
    def output(self) -> OutputRef:
        """KFP's `task.output`: the step's only output, so KFP-style wiring works unchanged."""
        if self.path:
            raise wiring_error(self.step, [self.name], "output", "an indexed output has no output")
        return self

    def after(self, *others: Any) -> OutputRef:
        """Run this step only after `others` finished (ordering without data)."""
        _current("after()").add_after(self.step, others)
        return self

    def __repr__(self) -> str:
        index = "".join(f"[{p!r}]" for p in self.path)
        return f"<output {self.step}.{self.name}{index}>"


@dataclass(eq=False)
class ParamRef(_Operand):
    """A reference to a pipeline parameter."""

    name: str
    type: Any = Any

    def binding(self) -> g.Binding:
        return g.Binding("param", param=self.name)

    def __repr__(self) -> str:
        return f"<param {self.name}>"


@dataclass(eq=False)
class StepCall:
    """The result of calling a step with no outputs: only good for `.after()`."""

    step: str

    def after(self, *others: Any) -> StepCall:
        _current("after()").add_after(self.step, others)
        return self

    @property
    def outputs(self) -> Any:
        raise PipelineDefinitionError(f"step '{self.step}' returns nothing, so it has no outputs",
                                      hint="Give the step a return annotation to pass data on, or "
                                      f"order steps without data: `next_step(...).after({self.step}_call)`.")

    output = outputs


class Outputs(tuple):  # type: ignore[type-arg]
    """Several outputs of one step call; unpack it, index it by position or by output name
    (`pre["train"]`, KFP's `pre.outputs["train"]`), or use `.after()` on it."""

    step: str

    def after(self, *others: Any) -> Outputs:
        _current("after()").add_after(self.step, others)
        return self

    def __getitem__(self, key: Any) -> Any:
        if isinstance(key, str):
            return self.outputs[key]
        return super().__getitem__(key)

    @property
    def outputs(self) -> _ByName:
        """The outputs by name (KFP's `task.outputs`)."""
        return _ByName(self.step, {ref.name: ref for ref in self})

    @property
    def output(self) -> Any:
        """KFP's `task.output` names a step's only output; this step has several."""
        names = [ref.name for ref in self]
        raise wiring_error(self.step, names, "output", f"step '{self.step}' has {len(names)} outputs")


@dataclass(eq=False)
class _ByName:
    step: str
    refs: dict[str, OutputRef]

    def __getitem__(self, name: Any) -> OutputRef:
        if name in self.refs:
            return self.refs[name]
        raise wiring_error(self.step, list(self.refs), repr(name), f"step '{self.step}' has no output {name!r}")

    def keys(self) -> list[str]:
        return list(self.refs)


def wiring_error(step: str, names: list[str], used: str, what: str) -> PipelineDefinitionError:
    """The error for reaching a step output the step does not have, with the ways that work."""
    listed = ", ".join(names)
    ways = f'`{step}_out.outputs["{names[0]}"]` or `{step}_out["{names[0]}"]`'
    if len(names) > 1:
        ways += f", or unpack: `{', '.join(names)} = {step}(...)`"
    return PipelineDefinitionError(
        f"{what} (asked for {used}); its outputs: {listed}",
        hint=f"Refer to one by name: {ways}.",
    )


@dataclass
class Comparison:
    left: Any
    op: str
    right: Any

    def __bool__(self) -> bool:
        raise PipelineDefinitionError(
            "a comparison on a step output or parameter was used in a Python `if` while building "
            "the pipeline; its value is only known when the pipeline runs",
            hint="Use `with If(output >= value):` and `with Else():` instead.",
        )
