"""`@step`: a typed function made a pipeline step (`StepDef`).

Outside a pipeline a step is its plain function, so user code stays testable; called while a
`@pipeline` function is being built (`dsl.py`), it records a node of the graph instead.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, get_type_hints

from mloop.pipelines import graph as g
from mloop.pipelines.errors import PipelineDefinitionError
from mloop.pipelines.refs import _BUILDER
from mloop.pipelines.typecheck import FEATURE_GROUP_MARK, hints_of, is_named_tuple

# func ref -> function, so in-process runs can call functions that are not importable by name.
FUNCTIONS: dict[str, Callable[..., Any]] = {}
_NEVER_CACHE = (g.REGISTER_MODEL, g.ALERT, g.CONDITION)


@dataclass
class StepDef:
    """A typed function wrapped by `@step`; called in a pipeline it records a node."""

    func: Callable[..., Any]
    name: str
    kind: str
    options: dict[str, Any]
    outputs: dict[str, Any]  # output name -> annotation
    hints: dict[str, Any]
    signature: inspect.Signature

    @property
    def func_ref(self) -> str:
        return f"{self.func.__module__}:{self.func.__qualname__}"

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        builder = _BUILDER.get()
        if builder is None:
            return self.func(*args, **kwargs)
        return builder.add_step(self, args, kwargs)

    def split(self, result: Any) -> dict[str, Any]:
        """The function's return value as named outputs."""
        names = list(self.outputs)
        if not names:
            return {}
        if len(names) == 1:
            return {names[0]: result}
        if not isinstance(result, tuple) or len(result) != len(names):
            raise PipelineDefinitionError(
                f"step '{self.name}' must return a tuple of {len(names)} values "
                f"({', '.join(names)}), got {type(result).__name__}"
            )
        return dict(zip(names, result, strict=True))


def step(
    func: Callable[..., Any] | None = None, *, name: str | None = None, kind: str = g.PROCESSING,
    cache: bool = True, retries: int = 0, retry_delay: float = 1.0, timeout: float | None = None,
    resources: dict[str, Any] | None = None, isolation: str = "thread", version: str | None = None,
    outputs: Sequence[str] | None = None, feature_groups: Sequence[str] = (),
) -> Any:
    """Make a typed function a pipeline step.

    Args:
        name: step name in graphs (default: the function name).
        kind: lineage type: Processing, Training, Evaluation, Condition, RegisterModel, Alert.
        cache: reuse a previous result with the same key (RegisterModel and Alert never cache).
        retries: extra attempts after a failure, with exponential backoff from `retry_delay` s.
        timeout: seconds per attempt (a process-isolated step is killed; a thread is abandoned).
        resources: hints for KFP (`cpu`, `memory`, `gpu`).
        isolation: "thread" (in-process, default) or "process" (a forked child per attempt).
        version: explicit code version for the cache key, instead of hashing the source.
        outputs: names for the elements of a tuple return.
        feature_groups: feature groups the step reads (their data version joins the cache key);
            inputs annotated `FeatureGroupName` are added automatically.
    """
    options = {
        "cache": bool(cache) and kind not in _NEVER_CACHE, "retries": int(retries),
        "retry_delay": float(retry_delay), "timeout": timeout, "resources": dict(resources or {}),
        "isolation": isolation, "version": version, "feature_groups": list(feature_groups),
    }
    if isolation not in ("thread", "process"):
        raise PipelineDefinitionError(f"isolation must be 'thread' or 'process', not '{isolation}'")
    if kind not in g.KINDS:
        raise PipelineDefinitionError(f"unknown step kind '{kind}'", hint=f"known: {', '.join(g.KINDS)}")

    def wrap(fn: Callable[..., Any]) -> StepDef:
        hints = hints_of(fn)
        definition = StepDef(
            func=fn, name=name or fn.__name__, kind=kind, options=dict(options),
            outputs=_output_spec(fn, hints.get("return", Any), outputs), hints=hints,
            signature=inspect.signature(fn),
        )
        definition.options["feature_group_args"] = [
            arg for arg, hint in hints.items() if arg != "return" and FEATURE_GROUP_MARK in
            getattr(hint, "__metadata__", ())
        ]
        FUNCTIONS[definition.func_ref] = fn
        functools.update_wrapper(definition, fn)  # type: ignore[arg-type]
        return definition

    return wrap(func) if func is not None else wrap


def _output_spec(fn: Callable[..., Any], ret: Any, names: Sequence[str] | None) -> dict[str, Any]:
    if ret is None or ret is type(None):
        return {}
    if is_named_tuple(ret):
        return dict(get_type_hints(ret))
    origin = getattr(ret, "__origin__", None)
    args = getattr(ret, "__args__", ())
    if origin is tuple and args and Ellipsis not in args:
        labels = list(names) if names else [f"output_{i}" for i in range(len(args))]
        if len(labels) != len(args):
            raise PipelineDefinitionError(
                f"step '{fn.__name__}' names {len(labels)} outputs but returns {len(args)} values"
            )
        return dict(zip(labels, args, strict=True))
    if names and len(names) != 1:
        raise PipelineDefinitionError(
            f"step '{fn.__name__}' names {len(names)} outputs; annotate the return as "
            f"tuple[{', '.join(['...'] * len(names))}]"
        )
    return {names[0] if names else "output": ret}
