"""`ad-click-ctr`: click-through-rate prediction with XGBoost and an AUC gate (the seed's use case)."""

from __future__ import annotations

from mloop.pipelines import Else, If, pipeline
from mloop.recipes.steps import evaluate, extract, register_model, send_alert, split, train_model, validate

AD_CLICK_RANGES = {"age": [0, 120]}


@pipeline(name="ad-click-ctr")
def ad_click_ctr(
    n_estimators: int = 100,
    max_depth: int = 6,
    learning_rate: float = 0.1,
    auc_threshold: float = 0.7,
    test_size: float = 0.2,
    experiment_name: str = "ad-click-ctr",
    model_name: str = "ad-click-ctr",
    feature_group: str = "ad-clicks",
    target: str = "click",
) -> None:
    """Extract ad clicks, validate, split, train XGBoost, evaluate; register if AUC passes, else alert."""
    raw = extract(feature_group)
    data, _checks = validate(raw, target, max_null_ratio=0.6, ranges=AD_CLICK_RANGES)
    train, test = split(data, target, test_size=test_size)
    model, model_uri = train_model(train, target, estimator="xgboost", n_estimators=n_estimators,
                                   max_depth=max_depth, learning_rate=learning_rate, dataset=feature_group)
    report = evaluate(model, test, metric="auc")
    with If(report["auc"] >= auc_threshold):
        register_model(model, model_uri, report, model_name)
    with Else():
        send_alert(report, auc_threshold, model_name)
