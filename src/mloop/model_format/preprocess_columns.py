"""The column path of `Preprocessor.transform_records`: batches encoded column by column with numpy.

Only inputs it encodes exactly like the row path (`Preprocessor._encode_rows`) are taken: every
value goes through the same parse as there (`float()` agrees with `parse_number` on every finite
number; categories are looked up the same way), so the matrices are bit-identical. Anything
irregular (rows of mixed shapes, a value that does not parse, an infinity) returns None and the
row path encodes the batch and reports the first bad row, as it always did. 100 ad-click rows:
~60-75 us instead of ~155-175 us; 800 rows (a micro-batch of eight requests): ~0.4 ms instead of 1.3 ms.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput
from mloop.model_format.values import is_missing, parse_bool, parse_number

if TYPE_CHECKING:
    import numpy as np

NoneType = type(None)
_NUMBER_TYPES = frozenset({float, int, bool, str, NoneType})
_TEXT_TYPES = frozenset({str, NoneType})


def encode_columns(plan: list[tuple[Any, ...]], lookups: list[dict[Any, Any]], names: list[str],
                   n_features: int, width: int, rows: list[Any]) -> np.ndarray | None:
    """The encoded matrix of `rows`, or None when the row path must decide (errors, odd shapes).

    `plan` is the preprocessor's compiled columns; `lookups[j]` column j's category -> matrix
    column map plus None -> the fill's column.
    """
    import numpy as np

    columns = _columns_of(rows, names, n_features)
    if columns is None:
        return None
    n = len(rows)
    out = np.zeros(n * width, dtype=np.float64)  # row-major: cell (i, j) is i * width + j
    starts = range(0, n * width, width)
    hits: list[int] = []  # flat positions of the one-hot ones, set together at the end
    try:
        for (name, kind, offset, fill, mean, scale, _index), lookup, values in zip(plan, lookups, columns,
                                                                                   strict=True):
            if kind == "numeric":
                column = _numbers(values, fill, name)
                column -= mean
                column /= scale
                out[offset::width] = column
            elif kind == "boolean":
                out[offset::width] = [parse_bool(v, fill, name, i) for i, v in enumerate(values)]
            else:
                hits.extend(_one_hot_positions(values, fill, lookup, starts))
    except Exception:  # noqa: BLE001 — the row path raises the same error for the first bad row, in row order
        return None
    if hits:
        out[np.fromiter(hits, dtype=np.intp, count=len(hits))] = 1.0
    return out.reshape(n, width)


def _columns_of(rows: list[Any], names: list[str], n_features: int) -> list[Any] | None:
    """Column value sequences of same-shaped rows: all dicts, or all lists/tuples the row path takes."""
    kinds = set(map(type, rows))
    if kinds == {dict}:
        return [list(map(dict.get, rows, [name] * len(rows))) for name in names]
    if kinds <= {list, tuple} and len(names) == n_features and set(map(len, rows)) == {n_features}:
        return list(zip(*rows, strict=True))
    return None


def _numbers(values: Any, fill: float, name: str) -> np.ndarray:
    """A numeric column as parse_number reads each value (float() agrees on every finite number;
    None and NaN take the fill)."""
    import numpy as np

    try:
        kinds = set(map(type, values))
        if kinds <= _NUMBER_TYPES:
            if NoneType in kinds:
                values = [math.nan if v is None else v for v in values]
            array = np.fromiter(map(float, values), dtype=np.float64, count=len(values))
            if np.isfinite(array).all():
                return array
            if np.isinf(array).any():
                raise InvalidInput(f"column '{name}' is infinite")  # the caller defers to the row path
            return np.where(np.isnan(array), fill, array)
    except (ValueError, OverflowError):
        pass  # missing-value words, text: value by value below
    return np.array([parse_number(v, fill, name, i) for i, v in enumerate(values)], dtype=np.float64)


def _one_hot_positions(values: Any, fill: Any, index: dict[Any, int | None], starts: range) -> list[int]:
    """Flat matrix positions of a categorical column's ones (an unknown category has none), each
    value looked up as the row path does. `index`: category -> matrix column, and None -> the fill's."""
    lookup = index.get
    if set(map(type, values)) <= _TEXT_TYPES:
        slots = list(map(lookup, values))
        if None not in slots:
            return list(map(operator.add, starts, slots))  # type: ignore[arg-type]
        filled = lookup(fill)
        slots = [filled if slot is None and (v is None or is_missing(v)) else slot
                 for v, slot in zip(values, slots, strict=True)]
    else:
        keys = [v if type(v) is str and v in index else fill if is_missing(v) else str(v) for v in values]
        slots = list(map(lookup, keys))
    return [start + slot for start, slot in zip(starts, slots, strict=True) if slot is not None]
