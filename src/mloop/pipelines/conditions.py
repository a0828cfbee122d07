"""The function behind `If(...)` nodes: compare two operands, return a bool."""

from __future__ import annotations

import operator
from typing import Any

from mloop.pipelines.errors import StepFailed

OPERATORS = {
    ">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt,
    "==": operator.eq, "!=": operator.ne,
}


def evaluate(left: Any, right: Any = None, *, op: str = "truthy") -> bool:
    """Evaluate one condition; a missing value or incomparable types fail the step readably."""
    if op == "truthy":
        return bool(left)
    try:
        return bool(OPERATORS[op](left, right))
    except TypeError as exc:
        raise StepFailed(
            f"cannot compare {left!r} {op} {right!r}: {exc}",
            hint="The condition's operands must be numbers or strings of the same kind.",
        ) from exc
