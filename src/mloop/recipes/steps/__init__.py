"""Built-in pipeline steps: plain typed functions wrapped with `@step`.

Called outside a pipeline they are ordinary functions (the `*_frame` / `fit_model` /
`score_model` helpers need no running pipeline at all); called inside a `@pipeline` they wire
the graph. Registration goes through `mloop.registry`, alerts through `mloop.alerts`.
"""

from mloop.recipes.steps.data import (
    extract,
    load_source,
    load_table,
    read_group,
    read_source,
    training_set,
    validate,
)
from mloop.recipes.steps.gate import register_model, send_alert
from mloop.recipes.steps.prepare import HOUSING_DERIVED, add_derived, engineer_features, split, split_frame
from mloop.recipes.steps.training import evaluate, fit_model, log_tabular_model, score_model, train_model
from mloop.recipes.steps.validation import ValidationFailed, check_data

__all__ = [
    "HOUSING_DERIVED",
    "ValidationFailed",
    "add_derived",
    "check_data",
    "engineer_features",
    "evaluate",
    "extract",
    "fit_model",
    "load_source",
    "load_table",
    "log_tabular_model",
    "read_group",
    "read_source",
    "register_model",
    "score_model",
    "send_alert",
    "split",
    "split_frame",
    "train_model",
    "training_set",
    "validate",
]
