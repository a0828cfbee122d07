"""Which columns a model learns from: identifiers and personal data are left out by default.

A record id, an event time, and a column that names a row or a person (a text column with
about as many distinct values as there are ids or rows, a whole-number column unique per row)
teach a model to recognise who it has seen, not the pattern to predict: on the seed's ad-click
file `full_name` became the top feature. Each left-out column is reported with its reason;
`features` (use exactly these) and `exclude` (leave these out too) override the rule.

The roles of the id and event-time columns travel with the frame in `frame.attrs["mloop"]`
(set by the extract step, kept through the step's Parquet artifact).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, did_you_mean

if TYPE_CHECKING:
    import pandas as pd

ATTRS = "mloop"
#: a text column with at least this many distinct values per id (or per row) identifies one
PER_ID = 0.9
PER_ROW = 0.5
MIN_ROWS = 20


def set_roles(frame: pd.DataFrame, id_column: str, event_time: str, group: str = "") -> pd.DataFrame:
    """Mark which columns are the record id and the event time (read back by `roles`)."""
    frame.attrs[ATTRS] = {"id": id_column, "event_time": event_time, "group": group}
    return frame


def roles(frame: pd.DataFrame) -> dict[str, str]:
    """{"id": ..., "event_time": ...} of a frame the extract step produced (empty values if unknown)."""
    found = frame.attrs.get(ATTRS) or {}
    return {"id": str(found.get("id") or ""), "event_time": str(found.get("event_time") or "")}


def identifier_reason(frame: pd.DataFrame, column: str, ids: int | None) -> str | None:
    """Why `column` identifies a row or a person, or None when it may be a feature."""
    import pandas as pd

    series = frame[column]
    rows = int(series.notna().sum())
    if rows < MIN_ROWS:
        return None
    distinct = int(series.nunique(dropna=True))
    if pd.api.types.is_bool_dtype(series):
        return None
    if pd.api.types.is_numeric_dtype(series):
        whole = pd.api.types.is_integer_dtype(series)
        return f"unique per row ({distinct:,} values in {rows:,} rows)" if whole and distinct == rows else None
    if ids and distinct >= PER_ID * ids:
        return f"identifies a person or row ({distinct:,} distinct values for {ids:,} ids)"
    if distinct > PER_ROW * rows:
        return f"identifies a row ({distinct:,} distinct values in {rows:,} rows)"
    return None


def choose_features(frame: pd.DataFrame, target: str, *, features: list[str] | None = None,
                    exclude: list[str] | None = None) -> tuple[list[str], dict[str, str]]:
    """The columns to learn from, and {left-out column: reason}.

    Args:
        frame: training rows (the id and event time may be among the columns).
        target: the label column (never a feature).
        features: use exactly these columns (overrides the identifier rule).
        exclude: leave these out as well.

    Raises:
        InvalidInput: a named column is not in the frame, or no feature is left.
    """
    import pandas as pd

    columns = [c for c in frame.columns if c != target]
    for name in [*(features or []), *(exclude or [])]:
        if name not in frame.columns:
            raise InvalidInput(f"column '{name}' (features/exclude) is not in the training data",
                               hint=did_you_mean(name, columns) or "columns: " + ", ".join(map(str, columns)))
    left_out: dict[str, str] = {}
    role = roles(frame)
    if features:
        left_out = {c: "not in features" for c in columns if c not in features}
        chosen = [c for c in features if c != target]
    else:
        ids = int(frame[role["id"]].nunique()) if role["id"] in frame.columns else None
        for column in columns:
            reason = ("record id" if column == role["id"] else "event time" if column == role["event_time"]
                      else "a date/time" if pd.api.types.is_datetime64_any_dtype(frame[column])
                      else identifier_reason(frame, column, ids))
            if reason:
                left_out[column] = reason
        chosen = [c for c in columns if c not in left_out]
    for name in exclude or []:
        if name in chosen:
            chosen.remove(name)
            left_out[name] = "excluded (exclude=)"
    if not chosen:
        raise InvalidInput("no feature left to train on: " + "; ".join(f"{k}: {v}" for k, v in left_out.items()),
                           hint="Name the columns with --param features='[...]'.")
    return chosen, left_out


def describe_left_out(left_out: dict[str, Any]) -> str:
    return ", ".join(f"{name} ({why})" for name, why in left_out.items()) or "none"
