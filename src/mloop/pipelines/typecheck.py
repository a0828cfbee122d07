"""Type names and the "does this output fit that input" check of the DSL."""

from __future__ import annotations

import types
import typing
from collections.abc import Callable
from typing import Annotated, Any

FEATURE_GROUP_MARK = "mloop:feature-group"
# An input annotated FeatureGroupName names a feature group: its data version joins the cache key.
FeatureGroupName = Annotated[str, FEATURE_GROUP_MARK]

_SHORT = {"builtins": ""}


def type_name(tp: Any) -> str:
    """A readable, stable name for an annotation (stored in graphs, shown in errors)."""
    if tp is Any or tp is inspect_empty():
        return "Any"
    if tp is None or tp is type(None):
        return "None"
    if hasattr(tp, "__metadata__"):
        return type_name(tp.__origin__)
    if isinstance(tp, type) and not getattr(tp, "__args__", None):
        module = tp.__module__
        if module == "builtins":
            return tp.__qualname__
        if module.startswith("pandas"):
            module = "pandas"
        return f"{module}.{tp.__qualname__}"
    return str(tp).replace("typing.", "")


def inspect_empty() -> Any:
    import inspect

    return inspect.Parameter.empty


def _base(tp: Any) -> Any:
    if hasattr(tp, "__metadata__"):
        tp = tp.__origin__
    return typing.get_origin(tp) or tp


def _members(tp: Any) -> tuple[Any, ...] | None:
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        return typing.get_args(tp)
    return None


def fits(produced: Any, expected: Any) -> bool:
    """Whether a value annotated `produced` may be passed where `expected` is annotated.

    Lenient where it cannot know (Any, TypeVars, strings): a false alarm would block a valid
    pipeline, a missed one surfaces when the step runs.
    """
    if produced in (Any, inspect_empty()) or expected in (Any, inspect_empty()):
        return True
    expected_members = _members(expected)
    if expected_members is not None:
        return any(fits(produced, member) for member in expected_members)
    produced_members = _members(produced)
    if produced_members is not None:
        return all(fits(member, expected) for member in produced_members)
    out, into = _base(produced), _base(expected)
    if not isinstance(out, type) or not isinstance(into, type):
        return True
    if into is float and out in (int, bool):
        return True
    if out is type(None):
        return False
    try:
        return issubclass(out, into) or out is into
    except TypeError:
        return True


def is_named_tuple(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, tuple) and hasattr(tp, "_fields")


def hints_of(fn: Callable[..., Any]) -> dict[str, Any]:
    """A function's resolved annotations (with `Annotated` extras), else its raw ones."""
    try:
        return typing.get_type_hints(fn, include_extras=True)
    except Exception:  # noqa: BLE001 — unresolvable forward references: fall back to raw annotations
        return dict(getattr(fn, "__annotations__", {}))
