"""KFP trigger conditions: the small CEL subset the KFP compiler writes, evaluated safely.

The compiler emits expressions such as
`!(int(inputs.parameter_values['pipelinechannel--x']) < 5) && inputs.parameter_values['y'] == 'heads'`.
They are parsed into a Python AST of comparisons, boolean operators, literals, subscripts of
`inputs.parameter_values` and the conversion calls `int`, `double`, `string`, then evaluated by
walking that tree (no `eval`), so a pipeline file cannot run code through its conditions.
"""

from __future__ import annotations

import ast
import operator
import re
from typing import Any

from mloop.pipelines.kfp_frontend.errors import KfpUnsupported

_CALLS = {"int": int, "double": float, "string": str, "bool": bool}
_COMPARE = {ast.Eq: operator.eq, ast.NotEq: operator.ne, ast.Lt: operator.lt,
            ast.LtE: operator.le, ast.Gt: operator.gt, ast.GtE: operator.ge}
_TOKEN = re.compile(r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\"|&&|\|\||!=|!|[^'\"&|!]+|.", re.S)
_WORDS = {"true": "True", "false": "False", "null": "None"}


def _to_python(expression: str) -> str:
    out: list[str] = []
    for token in _TOKEN.findall(expression):
        if token == "&&":
            out.append(" and ")
        elif token == "||":
            out.append(" or ")
        elif token == "!":
            out.append(" not ")
        elif token[:1] in "'\"":
            out.append(token)
        else:
            out.append(re.sub(r"\b(true|false|null)\b", lambda m: _WORDS[m.group(1)], token))
    return "".join(out)


def references(expression: str) -> list[str]:
    """The input names an expression reads (`inputs.parameter_values['NAME']`)."""
    return re.findall(r"parameter_values\[['\"]([^'\"]+)['\"]\]", expression)


def evaluate(expression: str, values: dict[str, Any]) -> bool:
    """Evaluate a KFP trigger condition over the task's parameter inputs.

    Raises:
        KfpUnsupported: the expression uses something outside the subset KFP compiles.
    """
    try:
        tree = ast.parse(_to_python(expression).strip(), mode="eval")
    except SyntaxError as exc:
        raise KfpUnsupported(f"condition expression {expression!r} is not understood") from exc
    return bool(_walk(tree.body, values, expression))


def _walk(node: ast.AST, values: dict[str, Any], text: str) -> Any:
    if isinstance(node, ast.Constant):
        return node.value
    if isinstance(node, ast.BoolOp):
        items = (_walk(v, values, text) for v in node.values)
        return all(items) if isinstance(node.op, ast.And) else any(items)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
        return not _walk(node.operand, values, text)
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return -_walk(node.operand, values, text)
    if isinstance(node, ast.Compare):
        left = _walk(node.left, values, text)
        for op, right_node in zip(node.ops, node.comparators, strict=True):
            right = _walk(right_node, values, text)
            if type(op) not in _COMPARE or not _COMPARE[type(op)](left, right):
                return False
            left = right
        return True
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in _CALLS:
        return _CALLS[node.func.id](*(_walk(a, values, text) for a in node.args))
    if isinstance(node, ast.Subscript) and ast.unparse(node.value) == "inputs.parameter_values":
        key = _walk(node.slice, values, text)
        if key not in values:
            raise KfpUnsupported(f"condition {text!r} reads '{key}', which has no value")
        return values[key]
    raise KfpUnsupported(f"condition {text!r}: '{ast.unparse(node)}' is outside what KFP compiles")
