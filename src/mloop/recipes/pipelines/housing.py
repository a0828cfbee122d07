"""`housing`: house-price regression with RandomForest, derived features and an R² gate.

`data_source` is a CSV/Parquet path or URL with the California Housing columns, or `synthetic`
(the default: SYNTHETIC rows from `mloop.recipes.datasets.housing`, labelled as such in the
model metadata, the registry and the tracking run).
"""

from __future__ import annotations

from mloop.pipelines import Else, If, pipeline
from mloop.recipes.datasets.housing import FEATURES, TARGET
from mloop.recipes.steps import (
    HOUSING_DERIVED,
    engineer_features,
    evaluate,
    load_table,
    register_model,
    send_alert,
    split,
    train_model,
    validate,
)

HOUSING_RANGES = {"Latitude": [32.0, 42.5], "Longitude": [-124.6, -114.0], "MedInc": [0, 100],
                  "HouseAge": [0, 200], "AveOccup": [0, 2000], "MedHouseVal": [0, 100]}


@pipeline(name="housing")
def housing(
    data_source: str = "synthetic",
    experiment_name: str = "housing",
    model_name: str = "housing",
    n_estimators: int = 100,
    max_depth: int = 12,
    r2_threshold: float = 0.75,
    test_size: float = 0.2,
) -> None:
    """Load housing rows, validate, split, derive features, train RandomForest; register if R² passes."""
    raw = load_table(data_source)
    data, _checks = validate(raw, TARGET, required=FEATURES, max_null_ratio=0.2, ranges=HOUSING_RANGES,
                             numeric=[*FEATURES, TARGET])
    train, test = split(data, TARGET, test_size=test_size)
    train_fe, test_fe = engineer_features(train, test, HOUSING_DERIVED)
    model, model_uri = train_model(train_fe, TARGET, estimator="random_forest", task="regression",
                                   n_estimators=n_estimators, max_depth=max_depth,
                                   derived=HOUSING_DERIVED, dataset=data_source)
    report = evaluate(model, test_fe, metric="r2")
    with If(report["r2"] >= r2_threshold):
        register_model(model, model_uri, report, model_name, threshold=r2_threshold)
    with Else():
        send_alert(report, r2_threshold, model_name)
