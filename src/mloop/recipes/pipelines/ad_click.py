"""`ad-click-ctr`: click-through-rate prediction with XGBoost and an AUC gate (the seed's use case)."""

from __future__ import annotations

from mloop.pipelines import Else, If, pipeline
from mloop.recipes.steps import evaluate, extract, register_model, send_alert, split, train_model, validate
from mloop.recipes.steps.deploy import deploy_model
from mloop.recipes.steps.interactions import join_interactions

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
    training_source: str = "features",
    # None: not read, so lineage of a features-only run stays exact (str | None is no DSL param type)
    interactions_group: str = None,  # type: ignore[assignment]  # noqa: RUF013
    feedback_group: str = None,  # type: ignore[assignment]  # noqa: RUF013
    label_window: str = "1h",
    deploy_endpoint: str = "",
) -> None:
    """Extract ad clicks, validate, split, train XGBoost, evaluate; register if AUC passes, else alert.

    `training_source="interactions"` (or `"both"`) trains on what the inference app logged, labelled
    by feedback that arrived after the prediction and within `label_window` (point in time); the
    groups default to the `[app]` settings' interactions_group and feedback_group.
    `deploy_endpoint` deploys the registered version there once it is Approved.
    """
    raw = join_interactions(extract(feature_group), training_source, interactions_group, feedback_group,
                            label_window, target)
    data, _checks = validate(raw, target, max_null_ratio=0.6, ranges=AD_CLICK_RANGES)
    train, test = split(data, target, test_size=test_size)
    model, model_uri = train_model(train, target, estimator="xgboost", n_estimators=n_estimators,
                                   max_depth=max_depth, learning_rate=learning_rate, dataset=feature_group)
    report = evaluate(model, test, metric="auc")
    with If(report["auc"] >= auc_threshold):
        deploy_model(register_model(model, model_uri, report, model_name), deploy_endpoint)
    with Else():
        send_alert(report, auc_threshold, model_name)
