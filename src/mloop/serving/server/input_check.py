"""Finding what a model never saw in the raw records of one request.

`inspect(profile, rows)` compares each value with what training saw (`InputProfile`) and returns
findings: an empty field in an input that training never had empty (`missing`), a category the
model does not know (`unknown_category`), a number outside the training range (`out_of_range`),
a value of the wrong kind (`wrong_kind`: a boolean anywhere but a boolean input, a number in a
text category), and a record that carries fewer than half of the inputs (`few_features`). Values
the model cannot take at all - NaN, infinities, numbers that overflow a float - raise
`InvalidInput` whatever the policy. So does a list-shaped record of the wrong length, with a
message that lists the raw values the model takes (an encoded body such as `25,1,0,1,0,0,1,1`).

Each column is first checked as a whole (a set lookup, or min/max of plain numbers; empty
values set aside): a clean column - the usual request - costs no per-value Python work.
"""

from __future__ import annotations

import math
from itertools import chain, repeat
from typing import TYPE_CHECKING, Any, NamedTuple

from mloop.errors import InvalidInput
from mloop.model_format import NA_STRINGS, check_fields

if TYPE_CHECKING:
    from collections.abc import Iterator

    from mloop.model_format import InputProfile, InputSpec

ISSUES = ("missing", "unknown_category", "out_of_range", "wrong_kind", "few_features")
RECORD = "_record"  # the feature name of record-level findings (few_features)
_NUMBERS = frozenset({int, float})
_NAN_WORDS = frozenset({"nan", "-nan", "+nan"})
_INF_WORDS = frozenset({"inf", "+inf", "-inf", "infinity", "+infinity", "-infinity"})


class Finding(NamedTuple):
    """One value (or record) the model never saw the like of."""

    row: int
    feature: str
    issue: str
    value: Any
    expected: str


def inspect(profile: InputProfile, rows: list[Any]) -> list[Finding]:
    """Findings for `rows` (dicts by input name, or lists in input order), in column order.

    Rows of other shapes are left to the model, which reports them.

    Raises:
        InvalidInput: NaN, an infinity or an overflowing number; a list row of the wrong length; a
            record with none of the inputs, or a field spelled like an input it lacks.
    """
    if len(rows) == 1 and type(rows[0]) is dict and _plain_record(profile, rows[0]):
        return []
    names = profile.names
    columns = _columns(rows, names, profile)
    if columns is None:
        return []
    findings: list[Finding] = []
    absent = [0] * len(rows)
    for spec, values in zip(profile.inputs, columns, strict=True):
        empty = [i for i, v in enumerate(values) if v is None or v == ""] if None in values or "" in values else []
        if (spec.missing or not empty) and _clean(spec, [v for v in values if v is not None and v != ""]
                                                  if empty else values):
            for number in empty:
                absent[number] += 1
        else:
            findings.extend(_check_values(spec, values, absent))
    most = len(names) / 2  # a record may miss at most half of the inputs
    if names and max(absent) > most:
        for number, count in enumerate(absent):
            if count > most:
                findings.append(Finding(number, RECORD, "few_features", f"{len(names) - count} of {len(names)}",
                                        "at least half of: " + ", ".join(names)))
    return findings


def _columns(rows: list[Any], names: list[str], profile: InputProfile) -> list[list[Any]] | None:
    kinds = set(map(type, rows))
    if kinds == {dict}:
        known = frozenset(names)
        if not known.issuperset(chain.from_iterable(rows)):  # some record has a field that is no input
            for number, row in enumerate(rows):
                if row and not known.issuperset(row):
                    check_fields(number, row, known)  # a typo or the wrong model: said before any finding
        return [list(map(dict.get, rows, repeat(name, len(rows)))) for name in names]
    if not kinds <= {list, tuple}:
        return None
    for number, row in enumerate(rows):
        if len(row) != len(names):
            raise InvalidInput(f"row {number}: {len(row)} values, expected {len(names)}: this model takes "
                               f"raw values in this order: {raw_values(profile)}",
                               hint="Send raw values (the categories as text), not one-hot or label-encoded "
                                    "numbers: the model encodes them itself.")
    return [list(column) for column in zip(*rows, strict=True)] if rows else None


def _plain_record(profile: InputProfile, row: dict[str, Any]) -> bool:
    """True for one record of known categories and in-range plain numbers, every input present and
    no other field (the usual single-record request: checked without building columns)."""
    if len(row) != len(profile.inputs):
        return False
    for name, kind, known, low, high in profile.bounds:
        value = row.get(name)
        kind_of_value = type(value)
        if kind == "categorical":
            if kind_of_value is not str or value not in known:
                return False
        elif kind == "numeric":
            if not (kind_of_value is float or kind_of_value is int) or not low <= value <= high:  # type: ignore[operator]
                return False  # NaN fails the comparison too
        elif kind_of_value is not bool:
            return False
    return True


def raw_values(profile: InputProfile) -> str:
    """The inputs a record carries, each with what it looks like ("age (a number in 18-64), ...")."""
    return "; ".join(f"{spec.name} ({spec.expected()})" for spec in profile.inputs)


def _clean(spec: InputSpec, values: list[Any]) -> bool:
    """True when the whole column needs no per-value look (plain known values, nothing missing)."""
    if not values:
        return True
    try:
        if spec.kind == "categorical":
            return spec.values == "text" and set(map(type, values)) == {str} and \
                spec.known.issuperset(values)
        if spec.kind == "numeric":
            if not set(map(type, values)) <= _NUMBERS:
                return False
            low, high = min(values), max(values)
            return (math.isfinite(sum(values)) and (spec.min is None or spec.min <= low)
                    and (spec.max is None or high <= spec.max))
        return set(map(type, values)) == {bool}
    except (TypeError, OverflowError):  # unhashable values, integers beyond a float
        return False


def _check_values(spec: InputSpec, values: list[Any], absent: list[int]) -> Iterator[Finding]:
    check = _numeric if spec.kind == "numeric" else _categorical if spec.kind == "categorical" else _boolean
    for number, value in enumerate(values):
        if _is_missing(value, spec, number):
            absent[number] += 1
            if not spec.missing:
                yield Finding(number, spec.name, "missing", None, "a value (training never had it empty)")
            continue
        issue = check(spec, value, number)
        if issue is not None:
            yield Finding(number, spec.name, issue, value, spec.expected())


def _is_missing(value: Any, spec: InputSpec, number: int) -> bool:
    if value is None:
        return True
    if type(value) is float and value != value:
        raise InvalidInput(f"row {number}: '{spec.name}' is NaN, which is not a value",
                           hint="Leave the field empty (or null) when the value is missing.")
    if type(value) is str:
        text = value.strip().lower()
        if text in _NAN_WORDS and spec.kind != "categorical":
            raise InvalidInput(f"row {number}: '{spec.name}' is {value!r}, which is not a value",
                               hint="Leave the field empty (or null) when the value is missing.")
        return text in NA_STRINGS
    return False


def _numeric(spec: InputSpec, value: Any, number: int) -> str | None:
    if type(value) is bool:
        return "wrong_kind"
    if type(value) is str:
        text = value.strip()
        if text.lower().lstrip() in _INF_WORDS:
            raise InvalidInput(f"row {number}: '{spec.name}' is infinite ({value!r})")
        try:
            value = float(text)
        except ValueError:
            return None  # not a number at all: the model refuses it with its own message
    try:
        x = float(value)
    except OverflowError:
        raise InvalidInput(f"row {number}: '{spec.name}' is too large for a number",
                           hint="Numbers must fit a 64-bit float.") from None
    except (TypeError, ValueError):
        return None
    if math.isinf(x):
        raise InvalidInput(f"row {number}: '{spec.name}' is infinite or overflows a 64-bit float ({_short(value)})")
    if (spec.min is not None and x < spec.min) or (spec.max is not None and x > spec.max):
        return "out_of_range"
    return None


def _categorical(spec: InputSpec, value: Any, number: int) -> str | None:
    if type(value) is str:
        if value in spec.known:
            return None
        return "wrong_kind" if spec.values == "text" and _looks_numeric(value) else "unknown_category"
    if type(value) is bool or type(value) not in _NUMBERS:
        return "wrong_kind"
    if spec.values == "text":
        return "wrong_kind"
    return None if str(value) in spec.known else "unknown_category"


def _boolean(spec: InputSpec, value: Any, number: int) -> str | None:
    return None  # true/false-like text and 0/1 are booleans; anything else the model refuses


def _looks_numeric(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
