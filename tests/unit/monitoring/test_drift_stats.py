"""Drift statistics: no drift on the same distribution, drift on a shifted one."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mloop.config import MonitoringSettings
from mloop.monitoring.drift import compare
from mloop.monitoring.html import render
from mloop.monitoring.stats import psi

FEATURES = ["age", "device_type", "ad_position"]


def sample(n: int, seed: int, *, age_shift: float = 0.0, mobile: float = 0.5, missing_age: float = 0.0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    age = rng.normal(38 + age_shift, 10, n).round()
    age[rng.random(n) < missing_age] = np.nan
    device = np.where(rng.random(n) < mobile, "Mobile", rng.choice(["Desktop", "Tablet"], n))
    return pd.DataFrame({
        "age": age, "device_type": device, "ad_position": rng.choice(["Top", "Side", "Bottom"], n),
        "prediction": rng.beta(2, 5, n), "click": rng.integers(0, 2, n),
    })


def test_psi_is_zero_for_identical_shares_and_grows_with_shift() -> None:
    assert psi([0.5, 0.5], [0.5, 0.5]) == pytest.approx(0.0)
    assert psi([0.5, 0.5], [0.9, 0.1]) > psi([0.5, 0.5], [0.6, 0.4]) > 0


def test_same_distribution_does_not_drift() -> None:
    report = compare(sample(3000, 1), sample(400, 2), FEATURES, MonitoringSettings(), label_column="click")
    assert not report.drifted, report.reasons
    assert all(f.psi < 0.1 for f in report.features)
    assert report.prediction["count"] == 400
    assert 0 <= report.prediction["training_positive_rate"] <= 1


def test_shifted_distribution_drifts_and_names_the_features() -> None:
    shifted = sample(400, 2, age_shift=15, mobile=0.95)
    report = compare(sample(3000, 1), shifted, FEATURES, MonitoringSettings())
    assert report.drifted
    drifted = {f.feature for f in report.features if f.drifted}
    assert drifted == {"age", "device_type"}
    age = next(f for f in report.features if f.feature == "age")
    assert age.ks_statistic is not None and age.ks_statistic > 0.2 and age.ks_pvalue < 0.01


def test_missing_values_are_reported_apart_from_psi() -> None:
    report = compare(sample(3000, 1), sample(400, 2, missing_age=0.4), FEATURES, MonitoringSettings())
    age = next(f for f in report.features if f.feature == "age")
    assert age.missing_current == pytest.approx(0.4, abs=0.07)
    assert age.psi < 0.1 and age.drifted and "missing rate" in age.reasons[0]


def test_too_few_rows_are_reported_but_not_judged() -> None:
    report = compare(sample(3000, 1), sample(10, 2, age_shift=30), FEATURES, MonitoringSettings(min_rows=30))
    assert not report.drifted and "min_rows" in report.reasons[0]


def test_html_page_has_svg_plots_and_the_verdict() -> None:
    report = compare(sample(3000, 1), sample(400, 2, mobile=0.95), FEATURES, MonitoringSettings(),
                     endpoint="ctr")
    page = render(report)
    assert page.count("<svg") == len(FEATURES) + 1
    assert "DRIFT" in page and "device_type" in page


def test_prediction_psi_against_the_models_scores_on_training_data() -> None:
    import numpy as np

    ref, cur = sample(3000, 1), sample(400, 2)
    same = compare(ref, cur, FEATURES, MonitoringSettings(), reference_predictions=list(ref["prediction"]))
    assert same.prediction["psi"] < 0.1 and not same.drifted
    cur["prediction"] = np.clip(cur["prediction"] + 0.4, 0, 0.999)
    moved = compare(ref, cur, FEATURES, MonitoringSettings(), reference_predictions=list(ref["prediction"]))
    assert moved.drifted and any(r.startswith("prediction: PSI") for r in moved.reasons)
    assert "against the model" in render(moved)
