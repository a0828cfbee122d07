"""The flat XGBoost evaluator answers exactly what XGBoost answers, or steps aside."""

from __future__ import annotations

import numpy as np
import pytest
import xgboost as xgb

from mloop.model_format.estimators import XGBoostEstimator
from mloop.model_format.forest import FlatBooster


def _data(seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    X = rng.normal(size=(3000, 6))
    X[:, 2] = rng.integers(0, 5, size=3000)  # integer codes: values sit exactly on split points
    X[rng.random(X.shape) < 0.15] = np.nan
    score = np.nan_to_num(X[:, 0]) + 0.5 * np.nan_to_num(X[:, 2]) + rng.normal(size=3000) * 0.5
    return X, score


@pytest.mark.parametrize(("objective", "extra", "label"), [
    ("binary:logistic", {}, lambda s: (s > 0.8).astype(int)),
    ("multi:softprob", {"num_class": 3}, lambda s: np.digitize(s, [0.0, 1.5])),
])
def test_flat_booster_matches_xgboost_with_missing_values(objective, extra, label) -> None:
    X, score = _data()
    booster = xgb.train({"max_depth": 6, "objective": objective, "nthread": 1, **extra},
                        xgb.DMatrix(X, label=label(score)), num_boost_round=60)
    flat = FlatBooster.from_booster(booster, X.shape[1])
    assert flat is not None
    expected = booster.inplace_predict(X)
    for rows in (X[:1], X[:7], X):
        got = flat.predict(rows)
        assert got.shape == expected[: len(rows)].shape
        np.testing.assert_allclose(got, expected[: len(rows)], rtol=0, atol=1e-6)


def test_an_unsupported_booster_falls_back_to_xgboost() -> None:
    X, score = _data(2)
    linear = xgb.train({"booster": "gblinear", "objective": "reg:squarederror", "nthread": 1},
                       xgb.DMatrix(np.nan_to_num(X), label=score), num_boost_round=5)
    assert FlatBooster.from_booster(linear, X.shape[1]) is None


def test_estimator_small_and_large_batches_agree_with_xgboost() -> None:
    X, score = _data(3)
    est = XGBoostEstimator.fit(X, (score > 0.8).astype(int), task="classification", n_classes=2,
                               params={"n_estimators": 40})
    assert est._flat is not None  # small batches take the numpy path
    expected = est.booster.inplace_predict(X, validate_features=False)
    np.testing.assert_allclose(est.predict(X[:1]), expected[:1], rtol=0, atol=1e-6)
    np.testing.assert_allclose(est.predict(X[:500]), expected[:500], rtol=0, atol=1e-6)
