"""The numpy metrics agree with scikit-learn."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as sk

from mloop.model_format.metrics import binary_scores, log_loss, multiclass_scores, regression_scores, roc_auc


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_binary_metrics_match_sklearn(seed: int) -> None:
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, 500)
    scores = np.round(np.clip(y * 0.3 + rng.random(500) * 0.7, 0, 1), 2)  # rounded: many ties
    got = binary_scores(y, scores)
    pred = (scores >= 0.5).astype(int)
    assert got["auc"] == pytest.approx(sk.roc_auc_score(y, scores), abs=1e-12)
    assert got["logloss"] == pytest.approx(sk.log_loss(y, np.clip(scores, 1e-15, 1 - 1e-15)), abs=1e-9)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, pred))
    assert got["precision"] == pytest.approx(sk.precision_score(y, pred, zero_division=0))
    assert got["recall"] == pytest.approx(sk.recall_score(y, pred, zero_division=0))
    assert got["f1"] == pytest.approx(sk.f1_score(y, pred, zero_division=0))


def test_auc_of_one_class_is_nan() -> None:
    assert np.isnan(roc_auc(np.ones(5), np.linspace(0, 1, 5)))


def test_multiclass_and_regression_match_sklearn() -> None:
    rng = np.random.default_rng(4)
    proba = rng.dirichlet([1, 1, 1], 300)
    y = rng.integers(0, 3, 300)
    got = multiclass_scores(y, proba)
    assert got["accuracy"] == pytest.approx(sk.accuracy_score(y, proba.argmax(1)))
    assert got["logloss"] == pytest.approx(sk.log_loss(y, proba), abs=1e-9)
    assert got["f1_macro"] == pytest.approx(sk.f1_score(y, proba.argmax(1), average="macro"))
    truth, pred = rng.normal(size=200), rng.normal(size=200)
    reg = regression_scores(truth, pred)
    assert reg["r2"] == pytest.approx(sk.r2_score(truth, pred))
    assert reg["rmse"] == pytest.approx(np.sqrt(sk.mean_squared_error(truth, pred)))
    assert reg["mae"] == pytest.approx(sk.mean_absolute_error(truth, pred))
    assert log_loss(np.array([1, 0]), np.array([1.0, 0.0])) < 1e-10
