"""Preprocessing fitted on the training split and shipped inside the model.

Numeric columns: median imputation, then standard scaling. Boolean columns: 0/1, missing -> the
training mode. Categorical columns: one-hot over the categories seen in training (the most
frequent `max_categories`); an unknown category encodes as all zeros; a missing value is its own
category when training had missing values, else the most frequent category.

Two transforms give bit-identical matrices: `transform_records` (lists of dicts or lists, no
pandas: the serving hot path) and `transform_frame` (pandas, for batches). `transform_records`
encodes small requests row by row in pure Python (one row: ~2 us) and larger ones column by column
with numpy; the column path only takes inputs it encodes exactly like the row path and hands
anything else (bad rows, values that do not parse) to the row path, which also reports the errors.
"""

from __future__ import annotations

import math
import sys
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, did_you_mean
from mloop.model_format import derived as derived_features
from mloop.model_format.preprocess_columns import encode_columns
from mloop.model_format.values import is_missing, parse_bool, parse_number

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd

MISSING_CATEGORY = "(missing)"
_INF = float("inf")
_MAX_FLOAT = sys.float_info.max  # ints beyond it cannot become floats
#: from this many rows on, `transform_records` encodes column by column (measured crossover: ~8 rows of 6 columns)
COLUMN_PATH_MIN_ROWS = 8


@dataclass
class ColumnSpec:
    """How one raw input column becomes one or more model inputs."""

    name: str
    kind: str  # "numeric" | "boolean" | "categorical"
    fill: Any = None  # numeric: median; boolean: 0.0/1.0; categorical: a category
    mean: float = 0.0
    scale: float = 1.0
    categories: list[str] = field(default_factory=list)

    @property
    def width(self) -> int:
        return len(self.categories) if self.kind == "categorical" else 1


def infer_kind(series: pd.Series) -> str:
    """numeric, boolean or categorical, from the training column's dtype."""
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_numeric_dtype(series):
        return "numeric"
    return "categorical"


class Preprocessor:
    """The fitted column transforms, in input order."""

    def __init__(self, columns: list[ColumnSpec], derived: list[dict[str, Any]] | None = None) -> None:
        self.columns = columns
        self.derived = derived_features.check(list(derived or []))
        made = {d["name"] for d in self.derived}
        raw = [c.name for c in columns if c.name not in made]
        #: raw input columns: what records carry (derived features are computed from them)
        self.feature_names = raw + [c for c in derived_features.input_columns(self.derived) if c not in raw]
        self.width = sum(c.width for c in columns)
        self._plan = self._compile()
        self._column_names = [c.name for c in columns]
        # the column path's category lookups: None (missing) finds the fill's slot at C speed
        self._lookups = [{**index, None: index.get(fill)} for (_, _, _, fill, _, _, index) in self._plan]

    @classmethod
    def fit(
        cls,
        frame: pd.DataFrame,
        features: list[str],
        *,
        categorical: list[str] | None = None,
        max_categories: int = 50,
        derived: list[dict[str, Any]] | None = None,
    ) -> Preprocessor:
        """Learn medians, scales, modes and categories from the training frame only.

        `derived` declares features computed from raw columns (see `mloop.model_format.derived`);
        they are appended to `features` and computed inside the model at prediction time.
        """
        forced = set(categorical or ())
        declared = derived_features.check(list(derived or []))
        absent = [c for c in derived_features.input_columns(declared) if c not in frame.columns]
        if absent:
            raise InvalidInput(f"derived features read columns not in the training data: {', '.join(absent)}")
        frame = with_derived(frame, declared)
        names = [f for f in features if f not in {d["name"] for d in declared}] + [d["name"] for d in declared]
        specs = []
        for name in names:
            if name not in frame.columns:
                raise InvalidInput(f"feature column '{name}' is not in the training data")
            kind = "categorical" if name in forced else infer_kind(frame[name])
            specs.append(_fit_column(frame[name], name, kind, max_categories))
        return cls(specs, declared)

    @property
    def output_names(self) -> list[str]:
        """Names of the encoded matrix columns (one-hot columns as `name=category`)."""
        names: list[str] = []
        for c in self.columns:
            names.extend([f"{c.name}={cat}" for cat in c.categories] if c.kind == "categorical" else [c.name])
        return names

    def to_dict(self) -> dict[str, Any]:
        return {"columns": [asdict(c) for c in self.columns], "derived": self.derived}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Preprocessor:
        return cls([ColumnSpec(**c) for c in data["columns"]], data.get("derived"))

    def _compile(self) -> list[tuple[Any, ...]]:
        plan: list[tuple[Any, ...]] = []
        offset = 0
        for c in self.columns:
            index = {cat: offset + i for i, cat in enumerate(c.categories)}
            plan.append((c.name, c.kind, offset, c.fill, c.mean, c.scale, index))
            offset += c.width
        return plan

    def transform_records(self, rows: list[Any]) -> np.ndarray:
        """Encode raw records (dicts by name, or lists in `feature_names` order).

        Raises:
            InvalidInput: a row of the wrong shape or a value that does not fit its column.
        """
        known = frozenset(self.feature_names)
        for number, row in enumerate(rows):
            if type(row) is dict and row and not known.issuperset(row):
                _check_fields(number, row, known)
        if self.derived:
            rows = [self._derive(row, number) for number, row in enumerate(rows)]
        if len(rows) >= COLUMN_PATH_MIN_ROWS:
            matrix = self._encode_columns(rows)
            if matrix is not None:
                return matrix
        return self._encode_rows(rows)

    def _encode_rows(self, rows: list[Any]) -> np.ndarray:
        """The row path: one pure-Python vector per row (fast for one row; reports every error)."""
        import numpy as np

        names = self.feature_names
        columns = self._column_names
        n_features = len(names)
        out: list[list[float]] = []
        for number, row in enumerate(rows):
            if isinstance(row, dict):
                values: Any = [row.get(name) for name in columns]
            elif isinstance(row, list | tuple):
                if len(row) != n_features:
                    raise InvalidInput(
                        f"row {number}: {len(row)} values, expected {n_features}",
                        hint="columns in order: " + ", ".join(names),
                    )
                values = row
            else:
                raise InvalidInput(f"row {number}: expected an object or a list, got {type(row).__name__}")
            out.append(self._encode(values, number))
        if not out:
            return np.zeros((0, self.width), dtype=np.float64)
        return np.array(out, dtype=np.float64)

    def _encode_columns(self, rows: list[Any]) -> np.ndarray | None:
        """The column path (numpy per column); None when the row path must decide (errors, odd shapes)."""
        return encode_columns(self._plan, self._lookups, self._column_names, len(self.feature_names),
                              self.width, rows)

    def _derive(self, row: Any, number: int) -> dict[str, Any]:
        """A record as a dict by column, with the derived features added."""
        if isinstance(row, dict):
            values = dict(row)
        elif isinstance(row, list | tuple) and len(row) == len(self.feature_names):
            values = dict(zip(self.feature_names, row, strict=True))
        else:
            return row  # the shape check below reports it

        def parse(value: Any, column: str) -> float:
            return parse_number(value, math.nan, column, number)

        for spec in self.derived:
            values[spec["name"]] = derived_features.compute(spec, values, parse)
        return values

    def _encode(self, values: Any, number: int) -> list[float]:
        # The serving hot path: common cases (finite floats and ints, known category strings)
        # are handled inline; everything else goes through the full parsers.
        vec = [0.0] * self.width
        for (name, kind, offset, fill, mean, scale, index), value in zip(self._plan, values, strict=True):
            kind_of_value = type(value)
            if kind == "numeric":
                if (kind_of_value is float or kind_of_value is int) and -_MAX_FLOAT < value < _MAX_FLOAT:
                    vec[offset] = (value - mean) / scale
                else:
                    vec[offset] = (parse_number(value, fill, name, number) - mean) / scale
            elif kind == "boolean":
                vec[offset] = parse_bool(value, fill, name, number)
            else:
                slot = index.get(value) if kind_of_value is str else None
                if slot is None:
                    slot = index.get(fill if is_missing(value) else str(value))
                if slot is not None:
                    vec[slot] = 1.0
        return vec

    def transform_frame(self, frame: pd.DataFrame) -> np.ndarray:
        """Encode a DataFrame column by column (same result as `transform_records`)."""
        import numpy as np

        missing = [name for name in self.feature_names if name not in frame.columns]
        if missing:
            raise InvalidInput(f"missing feature columns: {', '.join(missing)}",
                               hint="expected: " + ", ".join(self.feature_names))
        frame = with_derived(frame, self.derived)
        out = np.zeros((len(frame), self.width), dtype=np.float64)
        for (name, kind, offset, fill, mean, scale, index) in self._plan:
            column = frame[name]
            if kind == "numeric":
                out[:, offset] = (_numeric_column(column, fill, name) - mean) / scale
            elif kind == "boolean":
                out[:, offset] = [parse_bool(v, fill, name, i) for i, v in enumerate(column.tolist())]
            else:
                keys = [fill if is_missing(v) else str(v) for v in column.tolist()]
                slots = np.array([index.get(k, -1) for k in keys], dtype=np.int64)
                hit = slots >= 0
                out[np.nonzero(hit)[0], slots[hit]] = 1.0
        return out


def _check_fields(number: int, row: dict[Any, Any], known: frozenset[str]) -> None:
    """Fields that are not features are ignored (clients send whole records, ids and labels
    included), except when they look like a mistake: a record with none of the model's
    features (a typo, the wrong model), or an unknown field that is a near-spelling of a
    feature the record lacks (`agee` for a missing `age`) - silently predicting with that
    feature missing would hide the bug. `{}` still means "all missing"."""
    import difflib

    keys = [str(k) for k in row]
    if known.isdisjoint(row):
        raise InvalidInput(f"row {number} has none of the model's features (it has: {', '.join(keys[:8])})",
                           hint=did_you_mean(keys[0], known))
    absent = {name.lower(): name for name in known if name not in row}
    for key in keys:
        if key in known:
            continue
        close = difflib.get_close_matches(key.lower(), list(absent), n=1, cutoff=0.75)
        if close:
            raise InvalidInput(f"row {number} has an unknown field '{key}' and lacks the feature "
                               f"'{absent[close[0]]}'", hint=f"Did you mean '{absent[close[0]]}'?")


check_fields = _check_fields  # servers check records before the model sees them


def with_derived(frame: pd.DataFrame, derived: list[dict[str, Any]]) -> pd.DataFrame:
    """`frame` plus the derived columns (same scalar code as the record path)."""
    if not derived:
        return frame
    records = frame[derived_features.input_columns(derived)].to_dict("records")
    extra = {}
    for spec in derived:
        values = []
        for number, record in enumerate(records):
            def parse(value: Any, column: str, number: int = number) -> float:
                return parse_number(value, math.nan, column, number)

            values.append(derived_features.compute(spec, record, parse))
            record[spec["name"]] = values[-1]
        extra[spec["name"]] = values
    return frame.assign(**extra)


def _numeric_column(column: pd.Series, fill: float, name: str) -> np.ndarray:
    import numpy as np
    import pandas as pd

    if pd.api.types.is_numeric_dtype(column) and not pd.api.types.is_bool_dtype(column):
        values = column.to_numpy(dtype=np.float64, na_value=np.nan)
        if np.isinf(values).any():
            row = int(np.nonzero(np.isinf(values))[0][0])
            raise InvalidInput(f"row {row}: column '{name}' is infinite")
        return np.where(np.isnan(values), fill, values)
    return np.array([parse_number(v, fill, name, i) for i, v in enumerate(column.tolist())], dtype=np.float64)


def _fit_column(column: pd.Series, name: str, kind: str, max_categories: int) -> ColumnSpec:
    import numpy as np

    if kind == "numeric":
        values = _numeric_column(column, np.nan, name)
        present = values[~np.isnan(values)]
        median = float(np.median(present)) if present.size else 0.0
        filled = np.where(np.isnan(values), median, values)
        std = float(filled.std()) if filled.size else 0.0
        return ColumnSpec(name, kind, fill=median, mean=float(filled.mean()) if filled.size else 0.0,
                          scale=std if std > 0 and math.isfinite(std) else 1.0)
    if kind == "boolean":
        flags = [parse_bool(v, math.nan, name, i) for i, v in enumerate(column.tolist())]
        known = [f for f in flags if f == f]
        mode = 1.0 if known and sum(known) * 2 > len(known) else 0.0
        return ColumnSpec(name, kind, fill=mode)
    keys = [None if is_missing(v) else str(v) for v in column.tolist()]
    counts: dict[str, int] = {}
    for key in keys:
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], k))[:max_categories]
    if any(key is None for key in keys):
        fill = MISSING_CATEGORY
        ranked = [*ranked[: max_categories - 1], MISSING_CATEGORY]
    else:
        fill = ranked[0] if ranked else MISSING_CATEGORY
    return ColumnSpec(name, kind, fill=fill, categories=sorted(ranked))
