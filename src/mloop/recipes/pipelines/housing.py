"""`housing`: seed 003's course pipeline - house-price regression with RandomForest.

Load → Validate → Preprocess (split) → Feature Engineering (the course's three derived
features, its formulas exactly) → Train (RandomForest, MLflow) → Evaluate (R² gate) → Register →
Deploy, or Send Alert when R² misses the threshold. The run parameters are the course's:
data_source, experiment_name, model_name, namespace, n_estimators, max_depth (10), r2_threshold
(0.75). `data_source` is `sklearn` (California Housing through scikit-learn's
`fetch_california_housing`; `sklearn:/cache/dir` sets its cache folder), a CSV/Parquet path or
URL with the same columns, or `synthetic` (the default: SYNTHETIC rows, labelled as such in the
model metadata, the registry and the tracking run). `deploy_endpoint` deploys an Approved
version (see `[registry.policies.housing] auto_approve`); `namespace` is the Kubernetes
namespace of the KServe InferenceService the deploy step writes.
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
from mloop.recipes.steps.deploy import deploy_model

HOUSING_RANGES = {"Latitude": [32.0, 42.5], "Longitude": [-124.6, -114.0], "MedInc": [0, 100],
                  "HouseAge": [0, 200], "AveOccup": [0, 2000], "MedHouseVal": [0, 100]}


@pipeline(name="housing")
def housing(
    data_source: str = "synthetic",
    experiment_name: str = "housing",
    model_name: str = "housing",
    namespace: str = "",
    n_estimators: int = 100,
    max_depth: int = 10,
    r2_threshold: float = 0.75,
    test_size: float = 0.2,
    deploy_endpoint: str = "",
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
        deploy_model(register_model(model, model_uri, report, model_name, threshold=r2_threshold),
                     deploy_endpoint, namespace)
    with Else():
        send_alert(report, r2_threshold, model_name)
