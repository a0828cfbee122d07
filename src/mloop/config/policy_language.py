"""The language of approval policies: `[registry.policies.<model>] auto_approve = "r2 >= 0.8"`.

It lives with the settings (the bottom layer) because settings check every policy when they load,
so a typo fails then, not at the next registration; `mloop.registry.policy` applies it. The
expression is a small language over a version's metrics, evaluated by walking its syntax
tree (never `eval`): metric names, numbers, `+ - * /`, comparisons (`< <= > >= == !=`,
chained), `and`, `or`, `not` and parentheses. Anything else (calls, attributes, subscripts,
strings) is refused when the settings load. A version the policy approves is recorded like a
human approval, by the principal `policy:<model>`, with the expression and the values it read.
"""

from __future__ import annotations

import ast
import math
import operator
from collections.abc import Callable, Mapping
from typing import Any

from mloop.errors import ConfigError

_COMPARE: dict[type, Callable[[Any, Any], bool]] = {
    ast.Lt: operator.lt, ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge,
    ast.Eq: operator.eq, ast.NotEq: operator.ne,
}
_ARITHMETIC: dict[type, Callable[[float, float], float]] = {
    ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul, ast.Div: operator.truediv,
}
_MAX_LENGTH = 500
_ALLOWED = (ast.BoolOp, ast.And, ast.Or, ast.UnaryOp, ast.Not, ast.USub, ast.UAdd, ast.Compare,
            ast.BinOp, ast.Name, ast.Load, ast.Constant, *_COMPARE, *_ARITHMETIC)


class _Missing(Exception):
    """The expression reads a metric the version does not have."""


def parse(expression: str) -> ast.expr:
    """The checked syntax tree of `expression`.

    Raises:
        ConfigError: not an expression of the policy language (says what is allowed).
    """
    hint = 'Write e.g. auto_approve = "r2 >= 0.8 and rmse < 0.5" (metric names, numbers, ' \
           "+ - * /, comparisons, and/or/not)."
    if len(expression) > _MAX_LENGTH:
        raise ConfigError(f"approval policy is longer than {_MAX_LENGTH} characters", hint=hint)
    try:
        tree = ast.parse(expression.strip(), mode="eval").body
    except SyntaxError as exc:
        raise ConfigError(f"approval policy '{expression}' is not an expression: {exc.msg}", hint=hint) from exc
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ConfigError(f"approval policy '{expression}' uses {type(node).__name__}, "
                              "which policies do not allow", hint=hint)
        if isinstance(node, ast.Constant) and (isinstance(node.value, bool)
                                               or not isinstance(node.value, int | float)):
            raise ConfigError(f"approval policy '{expression}': only numbers are allowed as constants",
                              hint=hint)
    return tree


def evaluate(expression: str, metrics: Mapping[str, Any]) -> tuple[bool, dict[str, float]]:
    """Whether `metrics` satisfy `expression`, and the metric values it read.

    A metric the version lacks (or that is not a number) makes the policy not approve.
    """
    read: dict[str, float] = {}
    try:
        result = bool(_value(parse(expression), metrics, read))
    except (_Missing, ZeroDivisionError):
        return False, read
    return result, read


def _value(node: ast.expr, metrics: Mapping[str, Any], read: dict[str, float]) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.Name):
        raw = metrics.get(node.id)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or math.isnan(float(raw)):
            raise _Missing(node.id)
        read[node.id] = float(raw)
        return float(raw)
    if isinstance(node, ast.BoolOp):
        values = [_value(v, metrics, read) for v in node.values]
        return all(values) if isinstance(node.op, ast.And) else any(values)
    if isinstance(node, ast.UnaryOp):
        inner = _value(node.operand, metrics, read)
        return (not inner) if isinstance(node.op, ast.Not) else (-inner if isinstance(node.op, ast.USub) else inner)
    if isinstance(node, ast.BinOp):
        return _ARITHMETIC[type(node.op)](_value(node.left, metrics, read), _value(node.right, metrics, read))
    assert isinstance(node, ast.Compare)
    left = _value(node.left, metrics, read)
    for op, right_node in zip(node.ops, node.comparators, strict=True):
        right = _value(right_node, metrics, read)
        if not _COMPARE[type(op)](left, right):
            return False
        left = right
    return True
