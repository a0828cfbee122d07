"""The SYNTHETIC California-Housing-schema generator: schema, ranges, determinism, learnability."""

from __future__ import annotations

import numpy as np

from mloop.model_format import TabularModel
from mloop.recipes.datasets import housing
from mloop.recipes.datasets.housing import COLUMNS, distance_to_coast_km


def test_schema_ranges_and_label() -> None:
    df = housing(5000, seed=3)
    assert list(df.columns) == COLUMNS
    assert df.attrs["synthetic"] is True and "SYNTHETIC" in df.attrs["dataset"]
    assert df.notna().all().all()
    assert df["MedHouseVal"].between(0.14, 5.00001).all()
    assert df["Latitude"].between(32.5, 42).all() and df["Longitude"].between(-124.4, -114.3).all()
    assert df["HouseAge"].between(1, 52).all()
    assert (df["AveBedrms"] < df["AveRooms"]).all()
    assert 2.0 < df["MedHouseVal"].mean() < 2.7 and 3.0 < df["MedInc"].mean() < 4.5


def test_deterministic_per_seed() -> None:
    assert housing(200, seed=7).equals(housing(200, seed=7))
    assert not housing(200, seed=7).equals(housing(200, seed=8))


def test_relationships_make_it_learnable() -> None:
    df = housing(6000, seed=0)
    assert np.corrcoef(df["MedInc"], df["MedHouseVal"])[0, 1] > 0.5
    coast = distance_to_coast_km(df["Latitude"].to_numpy(), df["Longitude"].to_numpy())
    assert np.corrcoef(coast, df["MedHouseVal"])[0, 1] < -0.2
    train, test = df.iloc[:4800], df.iloc[4800:]
    model = TabularModel.fit(train, "MedHouseVal", estimator="random_forest",
                             params={"n_estimators": 30, "max_depth": 10})
    pred = model.predict_frame(test)
    y = test["MedHouseVal"].to_numpy()
    r2 = 1 - ((y - pred) ** 2).sum() / ((y - y.mean()) ** 2).sum()
    assert 0.7 < r2 < 0.92
