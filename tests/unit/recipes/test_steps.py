"""Step helpers that need no running pipeline: split, derived columns, reading sources, scoring."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mloop.errors import InvalidInput
from mloop.recipes.datasets import ad_clicks, housing
from mloop.recipes.steps import HOUSING_DERIVED, add_derived, fit_model, read_source, score_model, split_frame


def test_split_drops_unlabelled_rows_and_keeps_identifiers_for_the_train_step() -> None:
    df = ad_clicks(600, seed=2).drop(columns=["id", "event_time"])
    df.loc[:9, "click"] = None
    train, test = split_frame(df, "click", test_size=0.25, seed=1)
    assert "full_name" in train.columns and len(train) + len(test) == 590  # left out by fit_model
    share = df["click"].dropna().mean()
    assert abs(test["click"].mean() - share) < 0.02  # stratified
    with pytest.raises(InvalidInput, match="target column 'label'"):
        split_frame(df, "label")
    with pytest.raises(InvalidInput, match="test_size"):
        split_frame(df, "click", test_size=1.5)


def test_add_derived_follows_the_course_formulas_exactly() -> None:
    """Seed 003's `add_features`, verbatim: ratios over (denominator + 1e-6), dist_to_bay the
    Euclidean distance in degrees to (37.77, -122.42)."""
    df = housing(50, seed=1)
    df.loc[0, "AveRooms"] = 0.0  # the course's + 1e-6 keeps this finite
    out = add_derived(df, HOUSING_DERIVED)
    np.testing.assert_array_equal(out["bedroom_ratio"], df["AveBedrms"] / (df["AveRooms"] + 1e-6))
    np.testing.assert_array_equal(out["people_per_household"], df["Population"] / (df["AveOccup"] + 1e-6))
    bay_lat, bay_long = 37.77, -122.42
    expected = np.sqrt((df["Latitude"] - bay_lat) ** 2 + (df["Longitude"] - bay_long) ** 2)
    np.testing.assert_allclose(out["dist_to_bay"], expected, rtol=0, atol=1e-12)
    with pytest.raises(InvalidInput, match="not in the data"):
        add_derived(df.drop(columns="AveRooms"), HOUSING_DERIVED)


def test_read_source(tmp_path) -> None:
    assert len(read_source(None, "synthetic:120:3")) == 120
    assert read_source(None, "synthetic:120:3").attrs["synthetic"] is True
    path = tmp_path / "x.csv"
    housing(30).to_csv(path, index=False)
    assert read_source(None, str(path)).shape == (30, 9)
    with pytest.raises(InvalidInput, match="cannot read"):
        read_source(None, str(tmp_path / "missing.csv"))
    with pytest.raises(InvalidInput, match="synthetic"):
        read_source(None, "synthetic:many")


def test_score_model_reports_the_gated_metric() -> None:
    df = housing(800, seed=4)
    model = fit_model(df.iloc[:600], "MedHouseVal", n_estimators=20, dataset="synthetic")
    report = score_model(model, df.iloc[600:])
    assert report["metric"] == "r2" and report["score"] == report["r2"] and report["rows"] == 200
    assert model.metadata["synthetic"] is True
    clicks = ad_clicks(800, seed=4).drop(columns=["id", "full_name", "event_time"])
    clf = fit_model(clicks.iloc[:600], "click", n_estimators=10)
    report = score_model(clf, clicks.iloc[600:], metric="logloss")
    assert report["metric"] == "logloss" and 0 < report["auc"] <= 1
    with pytest.raises(InvalidInput, match="rmse"):
        score_model(clf, pd.DataFrame(clicks.iloc[600:]), metric="rmse")
