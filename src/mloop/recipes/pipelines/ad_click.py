"""`ad-click-ctr`: click-through-rate prediction with XGBoost and an AUC gate (the seed's use case)."""

from __future__ import annotations

from mloop.pipelines import Else, If, pipeline
from mloop.recipes.steps import evaluate, extract, register_model, send_alert, train_model, validate
from mloop.recipes.steps import split as split_rows
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
    records: str = "all",
    split: str = "random",
    features: list = None,  # type: ignore[assignment]  # noqa: RUF013
    exclude: list = None,  # type: ignore[assignment]  # noqa: RUF013
    deploy_endpoint: str = "",
) -> None:
    """Extract ad clicks, validate, split, train XGBoost, evaluate; register if AUC passes, else alert.

    `records="all"` trains on every labelled record of the group (what SageMaker's offline store
    holds; the seed's file repeats ids), `"latest"` on the newest per id. `split` is "random",
    "group" (all records of an id on one side: the honest metric for new ids) or "time".
    The record id, event time and columns that identify a person are not features unless
    `features` names them; `exclude` leaves more out.

    `training_source="interactions"` (or `"both"`) trains on what the inference app logged, labelled
    by feedback that arrived after the prediction and within `label_window` (point in time); the
    groups default to the `[app]` settings' interactions_group and feedback_group.
    `deploy_endpoint` deploys the registered version there once it is Approved.
    """
    raw = join_interactions(extract(feature_group, records=records), training_source, interactions_group,
                            feedback_group, label_window, target)
    data, _checks = validate(raw, target, max_null_ratio=0.6, ranges=AD_CLICK_RANGES)
    train, test = split_rows(data, target, test_size=test_size, split=split)
    model, model_uri = train_model(train, target, estimator="xgboost", n_estimators=n_estimators,
                                   max_depth=max_depth, learning_rate=learning_rate, dataset=feature_group,
                                   features=features, exclude=exclude)
    report = evaluate(model, test, metric="auc")
    with If(report["auc"] >= auc_threshold):
        deploy_model(register_model(model, model_uri, report, model_name, threshold=auc_threshold),
                     deploy_endpoint)
    with Else():
        send_alert(report, auc_threshold, model_name)
