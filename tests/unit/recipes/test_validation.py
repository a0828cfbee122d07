"""Validation checks: each failure is named in a readable report."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mloop.recipes.steps.validation import check_data, summary


def _frame(n: int = 200) -> pd.DataFrame:
    rng = np.random.default_rng(0)
    return pd.DataFrame({"age": rng.integers(18, 80, n).astype(float), "city": rng.choice(["a", "b"], n),
                         "label": rng.integers(0, 2, n)})


def test_clean_data_passes() -> None:
    report = check_data(_frame(), target="label", ranges={"age": [0, 120]}, required=["age", "city"])
    assert report["passed"] and report["rows"] == 200
    assert "validation passed" in summary(report)


def test_every_problem_is_reported() -> None:
    df = _frame(50)
    df.loc[:40, "city"] = None
    df.loc[0, "age"] = 150
    df["label"] = 0
    df.loc[0, "label"] = 1
    report = check_data(df, target="label", min_rows=100, max_null_ratio=0.5, required=["age", "income"],
                        ranges={"age": [0, 120]}, min_minority_ratio=0.05)
    failed = {(c["check"], c["column"]) for c in report["checks"] if not c["passed"]}
    assert failed == {("required_columns", None), ("min_rows", None), ("null_ratio", "city"),
                      ("range", "age"), ("label_balance", "label")}
    text = summary(report)
    assert text.startswith("validation failed (5 of")
    assert "missing columns: income" in text and "1 values outside [0.0, 120.0]" in text
    assert "50 rows (minimum 100)" in text


def test_missing_target_and_regression_skip_balance() -> None:
    report = check_data(_frame().drop(columns="label"), target="label")
    assert not report["passed"] and "missing columns: label" in summary(report)
    reg = _frame().assign(label=np.linspace(0, 1, 200))
    assert all(c["check"] != "label_balance" for c in check_data(reg, target="label")["checks"])


def test_text_in_a_numeric_column_fails_the_schema_check() -> None:
    df = _frame().astype({"age": object})
    df.loc[3, "age"] = "forty"
    report = check_data(df, target="label", numeric=["age"])
    assert not report["passed"]
    assert "age): 1 values are not numbers, e.g. 'forty'" in summary(report)
    assert check_data(_frame(), target="label", numeric=["age"])["passed"]
