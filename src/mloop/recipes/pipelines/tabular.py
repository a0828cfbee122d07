"""`tabular`: a validated, evaluated, gated and registered model for any table and target column.

    mloop run tabular --param feature_group=churn --param target=churned
    mloop run tabular --param data_source=data.csv --param target=price --param estimator=random_forest

The task (classification or regression) is inferred from the target unless `task` is given;
the gated metric is AUC (binary), accuracy (multi-class) or R² (regression) unless `metric` is.
"""

from __future__ import annotations

from mloop.pipelines import Else, If, pipeline
from mloop.recipes.steps import evaluate, load_source, register_model, send_alert, train_model, validate
from mloop.recipes.steps import split as split_rows
from mloop.recipes.steps.deploy import deploy_model


@pipeline(name="tabular")
def tabular(
    feature_group: str = "",
    data_source: str = "",
    target: str = "target",
    task: str = "auto",
    estimator: str = "xgboost",
    n_estimators: int = 100,
    max_depth: int = 6,
    learning_rate: float = 0.1,
    metric: str = "auto",
    threshold: float = 0.7,
    test_size: float = 0.2,
    max_null_ratio: float = 0.9,
    experiment_name: str = "tabular",
    model_name: str = "tabular-model",
    records: str = "latest",
    split: str = "random",
    features: list = None,  # type: ignore[assignment]  # noqa: RUF013
    exclude: list = None,  # type: ignore[assignment]  # noqa: RUF013
    deploy_endpoint: str = "",
) -> None:
    """Load a feature group or file, validate, split, train, evaluate; register if the metric passes.

    `records` ("all" | "latest" per id), `split` ("random" | "group" | "time"), `features` and
    `exclude` work as in `ad-click-ctr`.
    """
    raw = load_source(feature_group, data_source, records=records)
    data, _checks = validate(raw, target, max_null_ratio=max_null_ratio, task=task)
    train, test = split_rows(data, target, test_size=test_size, task=task, split=split)
    model, model_uri = train_model(train, target, estimator=estimator, task=task, n_estimators=n_estimators,
                                   max_depth=max_depth, learning_rate=learning_rate, dataset=data_source,
                                   features=features, exclude=exclude)
    report = evaluate(model, test, metric=metric)
    with If(report["score"] >= threshold):
        deploy_model(register_model(model, model_uri, report, model_name, threshold=threshold),
                     deploy_endpoint)
    with Else():
        send_alert(report, threshold, model_name)
