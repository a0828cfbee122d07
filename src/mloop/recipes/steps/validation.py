"""Data validation checks (pure functions) and the report a failed validation leaves behind.

Checks: required columns, minimum rows, the target present and not too often missing, null
ratio per column, value ranges, and label balance for classification. The report is plain JSON:
`{"passed": bool, "rows": n, "checks": [{"check", "column", "passed", "value", "limit", "message"}]}`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError
from mloop.model_format import infer_task

if TYPE_CHECKING:
    import pandas as pd


class ValidationFailed(MloopError):
    """The training data failed validation; the report names every failed check."""

    code = "validation_failed"
    http_status = 422


def _check(name: str, passed: bool, message: str, column: str | None = None,
           value: Any = None, limit: Any = None) -> dict[str, Any]:
    return {"check": name, "column": column, "passed": bool(passed), "value": value,
            "limit": limit, "message": message}


def check_data(
    data: pd.DataFrame, *, target: str, min_rows: int = 100, max_null_ratio: float = 0.6,
    required: list[str] | None = None, ranges: dict[str, list[float]] | None = None,
    min_minority_ratio: float = 0.01, task: str = "auto", numeric: list[str] | None = None,
) -> dict[str, Any]:
    """Run every check and return the report (never raises for bad data).

    `numeric` columns must hold numbers (text that does not parse fails the schema check).
    """
    checks: list[dict[str, Any]] = []
    missing = [c for c in [*(required or []), target] if c not in data.columns]
    message = f"missing columns: {', '.join(missing)}" if missing else "all required columns present"
    if target not in data.columns:
        shown = ", ".join(map(str, list(data.columns)[:20]))
        message += f" (the target '{target}' is not a column; columns: {shown}; pass --param target=COLUMN)"
    checks.append(_check("required_columns", not missing, message, value=missing or None))
    rows = len(data)
    checks.append(_check("min_rows", rows >= min_rows, f"{rows} rows (minimum {min_rows})",
                         value=rows, limit=min_rows))
    if rows:
        checks.extend(_null_checks(data, target, max_null_ratio))
        checks.extend(_type_checks(data, numeric or []))
        checks.extend(_range_checks(data, ranges or {}))
        if target in data.columns:
            checks.extend(_balance_check(data[target], task, min_minority_ratio))
    return {"passed": all(c["passed"] for c in checks), "rows": rows, "columns": list(map(str, data.columns)),
            "target": target, "checks": checks}


def _null_checks(data: pd.DataFrame, target: str, max_null_ratio: float) -> list[dict[str, Any]]:
    out = []
    ratios = data.isna().mean()
    for column, ratio in ratios.items():
        limit = 0.5 if column == target else max_null_ratio
        out.append(_check("null_ratio", ratio <= limit, f"{ratio:.1%} missing (limit {limit:.0%})",
                          column=str(column), value=round(float(ratio), 4), limit=limit))
    return out


def _type_checks(data: pd.DataFrame, numeric: list[str]) -> list[dict[str, Any]]:
    import pandas as pd

    out = []
    for column in numeric:
        if column not in data.columns:
            continue
        values = data[column]
        if pd.api.types.is_numeric_dtype(values):
            bad, example = 0, ""
        else:
            wrong = values[pd.to_numeric(values, errors="coerce").isna() & values.notna()]
            bad, example = len(wrong), (f", e.g. {wrong.iloc[0]!r}" if len(wrong) else "")
        out.append(_check("numeric", bad == 0, f"{bad} values are not numbers{example}", column=column,
                          value=bad, limit=0))
    return out


def _range_checks(data: pd.DataFrame, ranges: dict[str, list[float]]) -> list[dict[str, Any]]:
    import pandas as pd

    out = []
    for column, bounds in ranges.items():
        if column not in data.columns:
            continue
        values = pd.to_numeric(data[column], errors="coerce").dropna()
        low, high = float(bounds[0]), float(bounds[1])
        outside = int(((values < low) | (values > high)).sum())
        out.append(_check("range", outside == 0, f"{outside} values outside [{low}, {high}]",
                          column=column, value=outside, limit=[low, high]))
    return out


def _balance_check(target: pd.Series, task: str, min_ratio: float) -> list[dict[str, Any]]:
    labels = target.dropna()
    if labels.empty or (task if task != "auto" else infer_task(labels)) != "classification":
        return []
    shares = labels.value_counts(normalize=True)
    smallest = float(shares.min())
    ok = len(shares) >= 2 and smallest >= min_ratio
    message = (f"{len(shares)} classes, smallest {shares.idxmin()!s} = {smallest:.1%} (minimum {min_ratio:.0%})"
               if len(shares) >= 2 else "only one class in the target")
    return [_check("label_balance", ok, message, column=str(target.name), value=round(smallest, 4),
                   limit=min_ratio)]


def summary(report: dict[str, Any]) -> str:
    """One readable paragraph: what failed and by how much."""
    failed = [c for c in report["checks"] if not c["passed"]]
    if not failed:
        return f"validation passed: {report['rows']} rows, {len(report['checks'])} checks"
    lines = [f"{c['check']}{'(' + c['column'] + ')' if c['column'] else ''}: {c['message']}" for c in failed]
    return f"validation failed ({len(failed)} of {len(report['checks'])} checks): " + "; ".join(lines)
