"""What training saw of each raw input: its kind, whether it was ever missing, its range or categories.

The model format stores this profile next to the fitted preprocessing so that a server can tell a
record the model has seen the like of from one it has not (an unknown category, a number outside
the training range, an empty field in a column that was never empty). The preprocessing alone
cannot: it imputes and one-hot encodes everything, so the unseen would be scored silently.

Models saved before the profile existed get one derived from their preprocessing (kinds and
categories; no ranges, and every numeric input may be missing), so they keep serving unchanged.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

from mloop.model_format.preprocess import MISSING_CATEGORY
from mloop.model_format.values import is_missing, parse_number

if TYPE_CHECKING:
    import pandas as pd

    from mloop.model_format.preprocess import Preprocessor


@dataclass
class InputSpec:
    """One raw input column as training saw it."""

    name: str
    kind: str  # "numeric" | "boolean" | "categorical"
    missing: bool = True  # training had rows with this input empty
    min: float | None = None  # numeric: the training range (None: unknown)
    max: float | None = None
    categories: list[str] = field(default_factory=list)  # categorical: the categories the model knows
    values: str = "text"  # categorical: "text" or "number" (a numeric column one-hot encoded)

    @cached_property
    def known(self) -> frozenset[str]:
        """The categories as a set (what a record's category is looked up in)."""
        return frozenset(self.categories)

    def expected(self) -> str:
        """What a value of this input looks like, for messages ("a number in 18-64", "one of ...")."""
        if self.kind == "numeric":
            if self.min is None or self.max is None:
                return "a number"
            return f"a number in {_num(self.min)}..{_num(self.max)}"
        if self.kind == "boolean":
            return "true or false"
        shown = ", ".join(self.categories[:12]) + (", ..." if len(self.categories) > 12 else "")
        return f"one of {shown}" if shown else "a category"


class InputProfile:
    """The raw inputs of a model, in the order list-shaped records follow."""

    def __init__(self, inputs: list[InputSpec]) -> None:
        self.inputs = inputs
        self.by_name = {spec.name: spec for spec in inputs}

    @cached_property
    def names(self) -> list[str]:
        return [spec.name for spec in self.inputs]

    @cached_property
    def bounds(self) -> list[tuple[str, str, frozenset[str], float, float]]:
        """(name, kind, categories, low, high) per input, unknown bounds infinite: what a check of
        one record loops over."""
        inf = math.inf
        return [(s.name, s.kind, s.known, -inf if s.min is None else s.min, inf if s.max is None else s.max)
                for s in self.inputs]

    @classmethod
    def fit(cls, frame: pd.DataFrame, preprocessor: Preprocessor) -> InputProfile:
        """Profile the raw inputs of `preprocessor` on the training rows it was fitted on."""
        columns = {c.name: c for c in preprocessor.columns}
        specs = []
        for name in preprocessor.feature_names:
            column = columns.get(name)
            kind = column.kind if column is not None else "numeric"  # read only by derived features
            values = frame[name].tolist()
            spec = InputSpec(name, kind, missing=any(is_missing(v) for v in values))
            if kind == "numeric":
                spec.min, spec.max = _range(values, name)
            elif kind == "categorical" and column is not None:
                spec.categories = [c for c in column.categories if c != MISSING_CATEGORY]
                present = [v for v in values if not is_missing(v)]
                spec.values = "number" if present and all(_is_number(v) for v in present) else "text"
            specs.append(spec)
        return cls(specs)

    @classmethod
    def from_preprocessor(cls, preprocessor: Preprocessor) -> InputProfile:
        """The profile of a model saved without one: kinds and categories, no ranges."""
        columns = {c.name: c for c in preprocessor.columns}
        specs = []
        for name in preprocessor.feature_names:
            column = columns.get(name)
            if column is None or column.kind != "categorical":
                specs.append(InputSpec(name, column.kind if column else "numeric"))
                continue
            known = [c for c in column.categories if c != MISSING_CATEGORY]
            specs.append(InputSpec(name, "categorical", missing=MISSING_CATEGORY in column.categories,
                                   categories=known,
                                   values="number" if known and all(map(_is_number, known)) else "text"))
        return cls(specs)

    def to_dict(self) -> list[dict[str, Any]]:
        return [asdict(spec) for spec in self.inputs]

    @classmethod
    def from_dict(cls, data: list[dict[str, Any]]) -> InputProfile:
        return cls([InputSpec(**spec) for spec in data])

    def describe(self) -> list[dict[str, Any]]:
        """The inputs as a model's metadata lists them (name, kind, missing allowed, range or categories)."""
        out = []
        for spec in self.inputs:
            item: dict[str, Any] = {"name": spec.name, "kind": spec.kind, "missing_allowed": spec.missing}
            if spec.kind == "numeric" and spec.min is not None:
                item["range"] = [spec.min, spec.max]
            if spec.kind == "categorical":
                item["categories"] = spec.categories
            out.append(item)
        return out


def _range(values: list[Any], name: str) -> tuple[float | None, float | None]:
    numbers = [x for x in (parse_number(v, math.nan, name, i) for i, v in enumerate(values)) if x == x]
    return (min(numbers), max(numbers)) if numbers else (None, None)


def _is_number(value: Any) -> bool:
    if isinstance(value, bool):
        return False
    if isinstance(value, int | float):
        return True
    try:
        float(str(value))
    except ValueError:
        return False
    return True


def _num(value: float) -> str:
    return str(int(value)) if float(value).is_integer() and abs(value) < 1e15 else f"{value:g}"
