"""Approval policies: a small expression language over metrics, never `eval`."""

from __future__ import annotations

from pathlib import Path

import pytest

from mloop.errors import ConfigError
from mloop.registry.policy import evaluate, parse


@pytest.mark.parametrize(("expression", "metrics", "expected"), [
    ("r2 >= 0.8", {"r2": 0.81}, True),
    ("r2 >= 0.8", {"r2": 0.79}, False),
    ("r2 >= 0.8 and rmse < 0.5", {"r2": 0.9, "rmse": 0.4}, True),
    ("r2 >= 0.8 and rmse < 0.5", {"r2": 0.9, "rmse": 0.6}, False),
    ("auc > 0.7 or accuracy >= 0.95", {"auc": 0.6, "accuracy": 0.96}, True),
    ("not (logloss > 0.5)", {"logloss": 0.4}, True),
    ("0.7 <= auc < 0.99", {"auc": 0.995}, False),
    ("precision - recall <= 0.1", {"precision": 0.8, "recall": 0.75}, True),
    ("r2 >= 0.8", {}, False),  # a missing metric never approves
    ("r2 >= 0.8", {"r2": float("nan")}, False),
    ("r2 >= 0.8", {"r2": "0.9"}, False),  # text is not a number
    ("auc / rows > 0", {"auc": 0.8, "rows": 0}, False),  # division by zero: not approved
])
def test_evaluate(expression: str, metrics: dict, expected: bool) -> None:
    assert evaluate(expression, metrics)[0] is expected


def test_evaluate_reports_the_values_it_read() -> None:
    ok, read = evaluate("r2 >= 0.8 and rmse < 0.5", {"r2": 0.9, "rmse": 0.4, "mae": 0.3})
    assert ok and read == {"r2": 0.9, "rmse": 0.4}


@pytest.mark.parametrize("expression", [
    "__import__('os').system('true')", "r2.real > 0", "metrics['r2'] > 0.8", "r2 >= '0.8'",
    "lambda: 1", "r2 >= 0.8; x", "", "r2 >=", "[r2]", "r2 if r2 else 1", "r2 ** 2 > 0", "True",
    "r2 >= 0.8 " * 100,
])
def test_anything_outside_the_language_is_refused(expression: str) -> None:
    with pytest.raises(ConfigError) as err:
        parse(expression)
    assert err.value.hint and "r2 >= 0.8" in err.value.hint


def test_a_bad_policy_fails_when_the_settings_load(tmp_path: Path) -> None:
    from mloop.config import init_workspace, load_settings

    init_workspace(tmp_path)
    with open(tmp_path / "mloop.toml", "a", encoding="utf-8") as fh:
        fh.write('\n[registry.policies.housing]\nauto_approve = "r2 >= __import__(1)"\n')
    with pytest.raises(ConfigError) as err:
        load_settings(tmp_path)
    assert "mloop.toml" in err.value.message and "registry.policies.housing.auto_approve" in err.value.message
    assert "Call" in err.value.message
