"""Derived features declared as data, computed inside the model from raw inputs.

Feature engineering that needs no fitting (ratios, distances, logs) is declared as
`{"name": "bedroom_ratio", "op": "ratio_plus", "args": ["AveBedrms", "AveRooms", 1e-6]}` and stored in the
model spec, so an endpoint accepts the raw columns and computes the same features as training.
Both transforms call the same scalar functions, so batch and single-record results are
bit-identical; a derived value that cannot be computed (missing input, division by zero) is
missing and gets the training median like any numeric column.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Any

from mloop.errors import InvalidInput, did_you_mean

NAN = float("nan")


def _ratio(a: float, b: float) -> float:
    return a / b if b != 0 and a == a and b == b else NAN


def _product(a: float, b: float) -> float:
    return a * b


def _difference(a: float, b: float) -> float:
    return a - b


def _log1p(a: float) -> float:
    return math.log1p(a) if a > -1 else NAN


def _haversine_km(lat: float, lon: float, lat0: float, lon0: float) -> float:
    if lat != lat or lon != lon:
        return NAN
    p1, p2 = math.radians(lat), math.radians(lat0)
    dlat, dlon = p2 - p1, math.radians(lon0 - lon)
    a = math.sin(dlat / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dlon / 2) ** 2
    return 2 * 6371.0 * math.asin(math.sqrt(min(max(a, 0.0), 1.0)))


def _ratio_plus(a: float, b: float, eps: float) -> float:
    """a / (b + eps): the course's guarded ratio (seed 003: `AveBedrms / (AveRooms + 1e-6)`)."""
    denominator = b + eps
    return a / denominator if denominator != 0 and a == a and b == b else NAN


def _euclidean(x: float, y: float, x0: float, y0: float) -> float:
    """Straight-line distance in the inputs' own units (the course's `dist_to_bay`, in degrees)."""
    if x != x or y != y:
        return NAN
    return math.sqrt((x - x0) ** 2 + (y - y0) ** 2)


# op -> (function, number of column arguments, number of numeric constants after them).
OPS: dict[str, tuple[Callable[..., float], int, int]] = {
    "ratio": (_ratio, 2, 0),
    "ratio_plus": (_ratio_plus, 2, 1),
    "product": (_product, 2, 0),
    "difference": (_difference, 2, 0),
    "log1p": (_log1p, 1, 0),
    "haversine_km": (_haversine_km, 2, 2),
    "euclidean": (_euclidean, 2, 2),
}


def check(derived: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Validate declarations: known op, right number of arguments, unique names."""
    seen: set[str] = set()
    out = []
    for spec in derived:
        name, op, args = spec.get("name"), spec.get("op"), list(spec.get("args", []))
        if not name or op not in OPS:
            raise InvalidInput(f"derived feature {spec!r}: unknown op '{op}'", hint=did_you_mean(str(op), OPS))
        _fn, columns, constants = OPS[op]
        expected = columns + constants
        if len(args) != expected:
            raise InvalidInput(f"derived feature '{name}' ({op}) takes {expected} arguments, got {len(args)}")
        if name in seen:
            raise InvalidInput(f"derived feature '{name}' is declared twice")
        seen.add(name)
        out.append({"name": name, "op": op, "args": args})
    return out


def input_columns(derived: list[dict[str, Any]]) -> list[str]:
    """The raw columns the declarations read."""
    cols: list[str] = []
    for spec in derived:
        for arg in spec["args"][: OPS[spec["op"]][1]]:
            if arg not in cols:
                cols.append(arg)
    return cols


def compute(spec: dict[str, Any], values: dict[str, Any], parse: Callable[[Any, str], float]) -> float:
    """One derived value from a record's raw values (`parse` turns raw text into a float/NaN)."""
    fn, columns, _constants = OPS[spec["op"]]
    args = spec["args"]
    numbers = [parse(values.get(col), col) for col in args[:columns]]
    return fn(*numbers, *(float(c) for c in args[columns:]))
