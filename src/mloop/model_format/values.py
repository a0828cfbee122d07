"""How one raw value is read: missing or not, as a number, as a boolean.

The row path and the column path of `Preprocessor.transform_records`, `transform_frame` and the
input profile all read values through these functions, so they agree on every input.
"""

from __future__ import annotations

import math
from typing import Any

from mloop.errors import InvalidInput

NA_STRINGS = frozenset({"", "na", "nan", "null", "none", "n/a", "?"})
_TRUE = frozenset({"true", "t", "yes", "y", "1", "1.0"})
_FALSE = frozenset({"false", "f", "no", "n", "0", "0.0"})


def is_missing(value: Any) -> bool:
    """None, NaN, NaT/pd.NA and the usual missing-value strings."""
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    if isinstance(value, str):
        return value.strip().lower() in NA_STRINGS
    try:
        return bool(value != value)  # numpy NaN, pd.NA raise or return NA
    except (TypeError, ValueError):
        return True


def parse_number(value: Any, fill: float, name: str, row: int) -> float:
    """A finite float, the fill value when missing, InvalidInput for text or infinities."""
    kind = type(value)
    if kind is float:
        if value != value:
            return fill
        result = value
    elif kind is int or kind is bool:
        try:
            return float(value)
        except OverflowError:  # a 400-digit integer: not a usable feature value
            raise InvalidInput(f"row {row}: column '{name}' value is too large for a number") from None
    elif value is None:
        return fill
    elif kind is str:
        text = value.strip()
        if text.lower() in NA_STRINGS:
            return fill
        try:
            result = float(text)
        except ValueError:
            raise InvalidInput(f"row {row}: column '{name}' expects a number, got {value!r}") from None
    else:
        if is_missing(value):
            return fill
        try:
            result = float(value)
        except (TypeError, ValueError, OverflowError):
            raise InvalidInput(f"row {row}: column '{name}' expects a number, got {value!r}") from None
    if result != result:
        return fill
    if math.isinf(result):
        raise InvalidInput(f"row {row}: column '{name}' is infinite")
    return result


def parse_bool(value: Any, fill: float, name: str, row: int) -> float:
    """1.0 / 0.0 from booleans, 0/1 and true/false-like text; the fill value when missing."""
    if value is True or value is False:
        return float(value)
    if is_missing(value):
        return fill
    text = str(value).strip().lower()
    if text in _TRUE:
        return 1.0
    if text in _FALSE:
        return 0.0
    raise InvalidInput(f"row {row}: column '{name}' expects true/false, got {value!r}")
