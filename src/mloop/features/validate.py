"""Row validation: raw text columns in, typed Arrow columns plus a reason per bad row out.

Each column takes a vectorized fast path (one Arrow cast); only when that fails does the batch
fall back to a per-value parser that finds which rows are bad and why. Clean data therefore
costs a few casts per batch, and broken rows still get an exact reason.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, did_you_mean
from mloop.features.schema import ROW_COLUMN, Feature, FeatureGroupSpec
from mloop.store.timestamps import as_utc

if TYPE_CHECKING:
    import numpy as np
    import pyarrow as pa

TRUE = ("true", "t", "yes", "y", "1")
FALSE = ("false", "f", "no", "n", "0")
INT64 = (-(2**63), 2**63 - 1)
#: an integral number written as a float ("22.0", "-3.", "7.00"): a valid int (spreadsheets write them)
INTEGRAL_FLOAT = r"^\s*([+-]?\d+)\.0*\s*$"


def arrow_type(kind: str) -> pa.DataType:
    import pyarrow as pa

    return {
        "int": pa.int64(), "float": pa.float64(), "string": pa.string(), "bool": pa.bool_(),
        "timestamp": pa.timestamp("us", tz="UTC"),
    }[kind]


def arrow_schema(spec: FeatureGroupSpec, with_row: bool = True) -> pa.Schema:
    """The schema of the group's offline Parquet files."""
    import pyarrow as pa

    fields = [pa.field(f.name, arrow_type(f.type)) for f in spec.features]
    if with_row:
        fields.append(pa.field(ROW_COLUMN, pa.int64()))
    return pa.schema(fields)


class Problems:
    """The first reason each bad row failed, by row index within the batch."""

    def __init__(self, n: int) -> None:
        import numpy as np

        self.bad = np.zeros(n, dtype=bool)
        self.reasons: dict[int, str] = {}
        self.kinds: dict[int, str] = {}  # the reason without the value: what reports count
        self.filled_event_times = 0  # rows whose event time is the ingest time

    def add(self, mask: np.ndarray, reason: Callable[[int], str], kind: str = "") -> None:
        import numpy as np

        for i in np.flatnonzero(mask & ~self.bad):
            self.reasons[int(i)] = reason(int(i))
            self.kinds[int(i)] = kind or self.reasons[int(i)]
        self.bad |= mask


def _mask(arr: pa.Array) -> np.ndarray:
    import numpy as np
    import pyarrow.compute as pc

    return np.asarray(pc.fill_null(arr, False).to_numpy(zero_copy_only=False), dtype=bool)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "...'"


def _to_text(raw: pa.Array, feature: Feature, problems: Problems) -> pa.Array:
    """Binary -> UTF-8 strings; rows with invalid UTF-8 become null and bad."""
    import pyarrow as pa

    if pa.types.is_string(raw.type) or pa.types.is_large_string(raw.type):
        return raw
    if not pa.types.is_binary(raw.type) and not pa.types.is_large_binary(raw.type):
        return raw.cast(pa.string())
    try:
        return raw.cast(pa.string())
    except pa.ArrowInvalid:
        values: list[str | None] = []
        bad: list[bool] = []
        for v in raw.to_pylist():
            try:
                values.append(None if v is None else v.decode("utf-8"))
                bad.append(False)
            except UnicodeDecodeError:
                values.append(None)
                bad.append(True)
        import numpy as np

        problems.add(np.array(bad), lambda i: f"{feature.name}: not valid UTF-8 text")
        return pa.array(values, pa.string())


def _parse_one(kind: str, text: str) -> Any:
    s = text.strip()
    if kind == "int":
        whole = re.match(INTEGRAL_FLOAT, s)
        if whole is not None:
            s = whole.group(1)
        if not s.lstrip("+-").isdigit():
            raise ValueError
        value = int(s)
        if not INT64[0] <= value <= INT64[1]:
            raise ValueError
        return value
    if kind == "float":
        return float(s)
    if kind == "bool":
        low = s.lower()
        if low in TRUE:
            return True
        if low in FALSE:
            return False
        raise ValueError
    stamp = datetime.fromisoformat(s.replace("Z", "+00:00").replace("z", "+00:00"))
    return as_utc(stamp).astimezone(UTC)


def _fast_cast(text: pa.Array, kind: str) -> pa.Array:
    import pyarrow as pa
    import pyarrow.compute as pc

    if kind == "bool":
        low = pc.utf8_lower(pc.utf8_trim_whitespace(text))
        is_true = pc.is_in(low, value_set=pa.array(TRUE))
        ok = pc.or_(is_true, pc.is_in(low, value_set=pa.array(FALSE)))
        if not pc.all(pc.or_(ok, pc.is_null(text))).as_py():
            raise pa.ArrowInvalid("not a bool")
        return pc.if_else(pc.is_null(text), pa.scalar(None, pa.bool_()), is_true)
    trimmed = pc.utf8_trim_whitespace(text)
    if kind == "timestamp":
        try:
            return trimmed.cast(pa.timestamp("us")).cast(pa.timestamp("us", tz="UTC"))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            return trimmed.cast(pa.timestamp("us", tz="UTC"))
    return trimmed.cast(arrow_type(kind))


def _typed(text: pa.Array, feature: Feature, problems: Problems) -> pa.Array:
    """Parse text to the feature's type: vectorized, else value by value with reasons."""
    import numpy as np
    import pyarrow as pa

    if feature.type == "string":
        return text
    try:
        return _fast_cast(text, feature.type)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    if feature.type == "int":  # "22.0": still vectorized, only for columns that need it
        import pyarrow.compute as pc

        try:
            return _fast_cast(pc.replace_substring_regex(text, pattern=INTEGRAL_FLOAT, replacement="\\1"), "int")
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
            pass
    values: list[Any] = []
    bad = np.zeros(len(text), dtype=bool)
    for i, v in enumerate(text.to_pylist()):
        if v is None:
            values.append(None)
            continue
        try:
            values.append(_parse_one(feature.type, v))
        except (ValueError, OverflowError):
            values.append(None)
            bad[i] = True
    raw = text
    problems.add(bad, lambda i: f"{feature.name}: {_show(raw[i].as_py())} is not a valid {feature.type}",
                 f"{feature.name}: not a valid {feature.type}")
    return pa.array(values, arrow_type(feature.type))


def _constraints(typed: pa.Array, text: pa.Array, feature: Feature, problems: Problems) -> None:
    """Check nullability, length, allowed values and bounds; each check first asks one
    vectorized yes/no question and builds per-row masks only when something fails."""
    import pyarrow as pa
    import pyarrow.compute as pc

    if not feature.nullable and typed.null_count:
        missing = _mask(pc.is_null(typed)) & ~problems.bad
        problems.add(missing, lambda i: f"{feature.name}: missing value (not nullable)")
    if feature.type == "string" and len(text) and (pc.max(pc.binary_length(text)).as_py() or 0) > feature.max_length:
        long = _mask(pc.greater(pc.binary_length(text), feature.max_length))
        problems.add(long, lambda i: f"{feature.name}: value is {len(text[i].as_py().encode())} "
                     f"bytes, longer than max_length {feature.max_length}")
    if feature.allowed is not None:
        allowed = pa.array(feature.allowed).cast(typed.type)
        inside = pc.is_in(typed, value_set=allowed)
        if not pc.all(pc.or_(inside, pc.is_null(typed))).as_py():
            out = _mask(pc.invert(inside)) & _mask(pc.is_valid(typed))
            problems.add(out, lambda i: f"{feature.name}: {_show(typed[i].as_py())} not in allowed "
                         f"values {feature.allowed}", f"{feature.name}: not in allowed values {feature.allowed}")
    if feature.type in ("int", "float") and (feature.min is not None or feature.max is not None):
        low, high = pc.min_max(typed).values()
        checks = ((feature.min, pc.less, "below min", low), (feature.max, pc.greater, "above max", high))
        for bound, op, word, seen in checks:
            if bound is None or seen.as_py() is None or not op(seen, pa.scalar(float(bound))).as_py():
                continue
            out = _mask(op(typed, pa.scalar(float(bound))))
            problems.add(out, _bound_reason(feature.name, typed, word, float(bound)),
                         f"{feature.name}: {word} {float(bound):g}")
    if feature.type == "float" and pc.any(pc.is_inf(typed)).as_py():
        # inf would reach the offline store but not the online one (JSON has no inf): refuse it.
        problems.add(_mask(pc.is_inf(typed)), lambda i: f"{feature.name}: {typed[i].as_py()} is not a finite number",
                     f"{feature.name}: not a finite number")
    if feature.type == "float" and not feature.nullable and pc.any(pc.is_nan(typed)).as_py():
        problems.add(_mask(pc.is_nan(typed)), lambda i: f"{feature.name}: NaN (not nullable)")


def _bound_reason(name: str, typed: pa.Array, word: str, bound: float) -> Callable[[int], str]:
    return lambda i: f"{name}: {typed[i].as_py()} {word} {bound:g}"


def validate(
    spec: FeatureGroupSpec, columns: dict[str, pa.Array], n: int, ingest_time: datetime,
) -> tuple[pa.Table, Problems]:
    """Type and check `n` rows of raw columns against `spec`.

    Returns:
        A table with every row in the group's schema (bad rows hold nulls where they failed)
        and the problems: `problems.bad` marks rows to quarantine, `.reasons` says why.
    """
    import pyarrow as pa

    problems = Problems(n)
    arrays = []
    for feature in spec.features:
        raw = columns.get(feature.name)
        if raw is None:  # only the event time may be absent (checked with the header)
            raw = pa.nulls(n, pa.string())
        text = _to_text(raw, feature, problems)
        typed = _typed(text, feature, problems)
        if feature.name == spec.event_time and typed.null_count:
            import pyarrow.compute as pc

            problems.filled_event_times = typed.null_count
            typed = pc.fill_null(typed, pa.scalar(ingest_time, arrow_type("timestamp")))
        _constraints(typed, text, feature, problems)
        arrays.append(typed)
    return pa.Table.from_arrays(arrays, schema=arrow_schema(spec, with_row=False)), problems


def check_record(spec: FeatureGroupSpec, record: dict[str, Any], now: datetime) -> dict[str, Any]:
    """Validate and normalize one record for `put_records` (pure Python: no Arrow per row).

    Raises:
        InvalidInput: unknown field, wrong type, missing required value, constraint broken.
    """
    names = _names(spec)
    for key in record:
        if key not in names:
            raise InvalidInput(f"record has unknown field '{key}' for group '{spec.name}'",
                               hint=did_you_mean(key, spec.names))
    out: dict[str, Any] = {}
    for feature, exact in _plan(spec):
        value: Any = record.get(feature.name)
        kind = type(value)
        if kind is exact and (kind is not float or value - value == 0.0) and (
                kind is not str or len(value) <= feature.max_length // 4):
            out[feature.name] = value  # the common case: already the right type, nothing to check
            continue
        if value is None or (kind is float and math.isnan(value)):
            if feature.name == spec.event_time:
                value = now
            elif not feature.nullable:
                raise InvalidInput(f"record lacks '{feature.name}' (not nullable) in group '{spec.name}'")
            else:
                out[feature.name] = None
                continue
        out[feature.name] = _coerce(feature, value)
    return out


_plans: dict[int, tuple[FeatureGroupSpec, list[tuple[Feature, type | None]]]] = {}


def _plan(spec: FeatureGroupSpec) -> list[tuple[Feature, type | None]]:
    """Per feature, the Python type a value may have to be taken as is (None: always check)."""
    hit = _plans.get(id(spec))
    if hit is not None and hit[0] is spec:
        return hit[1]
    plain = {"int": int, "float": float, "string": str, "bool": bool}
    plan = [(f, plain.get(f.type) if f.allowed is None and f.min is None and f.max is None else None)
            for f in spec.features]
    if len(_plans) > 256:  # specs are replaced when the group cache refreshes
        _plans.clear()
    _plans[id(spec)] = (spec, plan)
    return plan


def _names(spec: FeatureGroupSpec) -> frozenset[str]:
    return spec.name_set


def _coerce(feature: Feature, value: Any) -> Any:
    kind = feature.type
    try:
        if kind == "string":
            result: Any = value if isinstance(value, str) else str(value)
            if len(result.encode()) > feature.max_length:
                raise InvalidInput(f"'{feature.name}': a string of {len(result.encode())} bytes, "
                                   f"longer than max_length {feature.max_length}")
        elif (kind == "bool" and isinstance(value, bool)) or (
            kind == "int" and isinstance(value, int) and not isinstance(value, bool)
        ):
            result = value
        elif kind == "int" and isinstance(value, float) and value.is_integer() and abs(value) <= 2**53:
            result = int(value)  # 22.0 is the int 22 (exact up to 2**53)
        elif kind == "float" and isinstance(value, int | float) and not isinstance(value, bool):
            result = float(value)
        elif kind == "timestamp" and isinstance(value, datetime):
            result = as_utc(value).astimezone(UTC)
        elif isinstance(value, str):
            result = _parse_one(kind, value)
        elif hasattr(value, "item"):  # numpy scalars
            return _coerce(feature, value.item())
        elif hasattr(value, "to_pydatetime"):  # pandas Timestamp
            return _coerce(feature, value.to_pydatetime())
        else:
            raise ValueError
    except (ValueError, OverflowError) as exc:
        raise InvalidInput(f"'{feature.name}': {_show(value)} is not a valid {kind}") from exc
    if kind == "float" and math.isinf(result):
        raise InvalidInput(f"'{feature.name}': {result} is not a finite number")
    if feature.allowed is not None and result not in feature.allowed:
        raise InvalidInput(f"'{feature.name}': {_show(result)} not in allowed values {feature.allowed}")
    if kind in ("int", "float") and (
        (feature.min is not None and result < feature.min)
        or (feature.max is not None and result > feature.max)
    ):
        raise InvalidInput(f"'{feature.name}': {result} outside [{feature.min}, {feature.max}]")
    return result
