"""Open Inference Protocol (KServe V2): tensors in, tensors out.

Two request layouts are accepted: one 2-D tensor `[N, F]` holding whole records in feature order,
or one tensor per feature, named after it, of shape `[N]` or `[N, 1]` (MLServer's column layout).
Data may be flat (row-major) or nested. FP16/FP32/FP64, INT8-64, UINT8-64, BOOL and BYTES
tensors are accepted; each value is checked against its declared datatype.
"""

from __future__ import annotations

import math
from typing import Any

from mloop.errors import InvalidInput
from mloop.serving.server.protocols.common import Rows, dumps, loads_json

FLOATS = frozenset({"FP16", "FP32", "FP64"})
INTS = frozenset({"INT8", "INT16", "INT32", "INT64", "UINT8", "UINT16", "UINT32", "UINT64"})
DATATYPES = FLOATS | INTS | {"BOOL", "BYTES"}


def parse_v2(body: bytes, feature_names: list[str]) -> tuple[Rows, Any, list[str] | None]:
    """(records, request id, requested output names) from an infer request.

    Raises:
        InvalidInput: malformed request, shape/data mismatch, a value of the wrong datatype.
    """
    doc = loads_json(body)
    if not isinstance(doc, dict) or not isinstance(doc.get("inputs"), list) or not doc["inputs"]:
        raise InvalidInput('infer request needs "inputs": a non-empty list of tensors')
    tensors = [_tensor(t, i) for i, t in enumerate(doc["inputs"])]
    request_id = doc.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInput('"id" must be a string')
    outputs = doc.get("outputs")
    names: list[str] | None = None
    if isinstance(outputs, list):
        names = [str(o["name"]) for o in outputs if isinstance(o, dict) and isinstance(o.get("name"), str)]
    if len(tensors) == 1 and tensors[0][0] not in feature_names:
        return _matrix(tensors[0], len(feature_names)), request_id, names
    return _columns(tensors, feature_names), request_id, names


def _tensor(t: Any, i: int) -> tuple[str, list[int], str, list[Any]]:
    if not isinstance(t, dict):
        raise InvalidInput(f"inputs[{i}] must be an object with name, shape, datatype, data")
    name, shape, datatype, data = t.get("name"), t.get("shape"), t.get("datatype"), t.get("data")
    if not isinstance(name, str):
        raise InvalidInput(f"inputs[{i}].name must be a string")
    if not isinstance(shape, list) or not shape or not all(type(d) is int and d >= 0 for d in shape):
        raise InvalidInput(f"input '{name}': shape must be a non-empty list of non-negative integers")
    if datatype not in DATATYPES:
        raise InvalidInput(f"input '{name}': unsupported datatype {datatype!r}",
                           hint="one of: " + ", ".join(sorted(DATATYPES)))
    if not isinstance(data, list):
        raise InvalidInput(f"input '{name}': data must be a list")
    flat = _flatten(data, name)
    expected = math.prod(shape)
    if len(flat) != expected:
        raise InvalidInput(f"input '{name}': shape {shape} needs {expected} values, got {len(flat)}")
    _check_values(flat, datatype, name)
    return name, shape, datatype, flat


def _flatten(data: list[Any], name: str) -> list[Any]:
    if not any(isinstance(v, list) for v in data):
        return data
    out: list[Any] = []
    stack = [iter(data)]
    while stack:
        for value in stack[-1]:
            if isinstance(value, list):
                if len(stack) > 32:
                    raise InvalidInput(f"input '{name}': data is nested too deeply")
                stack.append(iter(value))
                break
            out.append(value)
        else:
            stack.pop()
    return out


def _check_values(flat: list[Any], datatype: str, name: str) -> None:
    if datatype in FLOATS:
        ok = all((type(v) is float or type(v) is int) for v in flat)
        what = "numbers"
    elif datatype in INTS:
        ok = all(type(v) is int for v in flat)
        what = "integers"
    elif datatype == "BOOL":
        ok = all(type(v) is bool for v in flat)
        what = "booleans"
    else:
        ok = all(type(v) is str or v is None for v in flat)
        what = "strings"
    if not ok:
        bad = next(v for v in flat if not _fits(v, datatype))
        raise InvalidInput(f"input '{name}' is {datatype}: values must be {what}, got {bad!r}")


def _fits(v: Any, datatype: str) -> bool:
    if datatype in FLOATS:
        return type(v) is float or type(v) is int
    if datatype in INTS:
        return type(v) is int
    if datatype == "BOOL":
        return type(v) is bool
    return type(v) is str or v is None


def _matrix(tensor: tuple[str, list[int], str, list[Any]], n_features: int) -> Rows:
    name, shape, _datatype, flat = tensor
    if len(shape) == 1:
        shape = [1, shape[0]] if shape[0] == n_features else shape
    if len(shape) != 2 or shape[1] != n_features:
        raise InvalidInput(
            f"input '{name}' has shape {shape}; a record tensor must be [N, {n_features}]",
            hint="or send one tensor per feature, named after it",
        )
    if shape[0] == 0:
        raise InvalidInput(f"input '{name}' holds no records")
    return [flat[i : i + n_features] for i in range(0, len(flat), n_features)]


def _columns(tensors: list[tuple[str, list[int], str, list[Any]]], feature_names: list[str]) -> Rows:
    known = set(feature_names)
    size = None
    for name, shape, _dt, flat in tensors:
        if name not in known:
            raise InvalidInput(f"input '{name}' is not a feature of this model",
                               hint="features: " + ", ".join(feature_names))
        if len(shape) > 2 or (len(shape) == 2 and shape[1] != 1):
            raise InvalidInput(f"feature tensor '{name}' must have shape [N] or [N, 1], got {shape}")
        if size is None:
            size = len(flat)
        elif len(flat) != size:
            raise InvalidInput(f"feature tensors differ in length ({size} vs {len(flat)} for '{name}')")
    if not size:
        raise InvalidInput("the input tensors hold no records")
    names = [t[0] for t in tensors]
    columns = [t[3] for t in tensors]
    return [dict(zip(names, values, strict=True)) for values in zip(*columns, strict=True)]


def render_v2(predictions: list[Any], model_name: str, version: int, request_id: Any,
              output_names: list[str] | None, input_issues: dict[str, Any] | None = None) -> bytes:
    """An infer response with one FP64 tensor (`predict`; shape [N] or [N, classes]).

    Input issues go in the response's `parameters`, whose values the protocol keeps scalar: the
    count, and the report as a JSON string.
    """
    if predictions and isinstance(predictions[0], list):
        shape = [len(predictions), len(predictions[0])]
        data = [v for row in predictions for v in row]
    else:
        shape, data = [len(predictions)], predictions
    name = output_names[0] if output_names else "predict"
    body: dict[str, Any] = {"model_name": model_name, "model_version": str(version),
                            "outputs": [{"name": name, "shape": shape, "datatype": "FP64", "data": data}]}
    if request_id is not None:
        body["id"] = request_id
    if input_issues:
        body["parameters"] = {"input_issues": input_issues["count"],
                              "input_issues_report": dumps(input_issues).decode()}
    return dumps(body)
