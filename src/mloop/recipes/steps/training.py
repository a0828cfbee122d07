"""Train and evaluate steps: a TabularModel (preprocessing + XGBoost or RandomForest) logged to
the step's MLflow run, and test-split metrics (AUC, logloss, accuracy, precision, recall / R²,
RMSE, MAE)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd  # the DSL resolves step annotations at import time

from mloop import tracking
from mloop.errors import InvalidInput, did_you_mean
from mloop.model_format import (
    TabularModel,
    binary_scores,
    multiclass_scores,
    pyfunc_code_path,
    regression_scores,
)
from mloop.pipelines import current_context, step
from mloop.recipes.datasets.housing import SYNTHETIC_LABEL
from mloop.recipes.identifiers import choose_features, describe_left_out
from mloop.store.encoding import plain

if TYPE_CHECKING:
    import numpy as np

    from mloop.store import Workspace

PRIMARY = {"binary": "auc", "multiclass": "accuracy", "regression": "r2"}
_MODEL_REQUIREMENTS = ("xgboost-cpu", "scikit-learn", "skops", "scipy", "pyarrow")


def fit_model(train: pd.DataFrame, target: str, *, estimator: str = "xgboost", task: str = "auto",
              n_estimators: int = 100, max_depth: int = 6, learning_rate: float | None = None,
              derived: list[dict] | None = None, dataset: str = "", seed: int = 42,
              features: list[str] | None = None, exclude: list[str] | None = None) -> TabularModel:
    """Fit a TabularModel with the reference pipelines' parameter names.

    `learning_rate` applies to XGBoost only (0.1 when not given); RandomForest has none.
    Identifiers and personal data are left out of the features unless `features` names them
    (`mloop.recipes.identifiers`); the model's metadata lists what was used and left out, and why.
    """
    chosen, left_out = choose_features(train, target, features=features, exclude=exclude)
    params: dict[str, Any] = {"n_estimators": int(n_estimators)}
    if estimator.lower() in ("xgboost", "xgb"):
        rate = 0.1 if learning_rate is None else float(learning_rate)
        params.update(max_depth=int(max_depth), learning_rate=rate)
    else:
        params["max_depth"] = int(max_depth) if max_depth and max_depth > 0 else None
    metadata = {"dataset": dataset or "unknown", "synthetic": dataset.startswith("synthetic") or
                bool(train.attrs.get("synthetic")), "train_rows": len(train),
                "features_used": chosen, "features_left_out": left_out}
    return TabularModel.fit(train, target, features=chosen, task=None if task == "auto" else task,
                            estimator=estimator, params=params, derived=derived, seed=seed, metadata=metadata)


def log_tabular_model(ws: Workspace, run_id: str, model: TabularModel, example: pd.DataFrame,
                      name: str = "model") -> str:
    """Log `model` as an MLflow pyfunc (models from code + the saved model dir) to `run_id`."""
    with tempfile.TemporaryDirectory(prefix="mloop-model-") as tmp:
        model_dir = model.save(Path(tmp) / "model_dir")
        return tracking.log_model(
            ws, run_id, python_model=pyfunc_code_path(), artifacts={"model_dir": str(model_dir)},
            input_example=model.input_example(example), name=name,
            pip_requirements=tracking.default_requirements(_MODEL_REQUIREMENTS),
            metadata={"mloop_format": "mloop-tabular", "task": model.task,
                      "synthetic": bool(model.metadata.get("synthetic"))},
        )


@step(name="train", kind="Training", outputs=("model", "model_uri"))
def train_model(
    train: pd.DataFrame, target: str, estimator: str = "xgboost", task: str = "auto",
    n_estimators: int = 100, max_depth: int = 6, learning_rate: float | None = None,
    derived: list | None = None, dataset: str = "", seed: int = 42,
    features: list | None = None, exclude: list | None = None,
) -> tuple[TabularModel, str]:
    """Fit preprocessing + estimator on the training split; log params, importances and the model.

    Importances are metrics named `importance_<feature>` (seed 003's names); a parameter that
    does not apply to the estimator (`learning_rate` for RandomForest) is left unset, so the
    tracking hook does not log it. `features` (use exactly these columns) and `exclude` (leave
    these out too) override the default, which leaves out the record id, the event time and
    columns that identify a person.
    """
    ctx = current_context()
    model = fit_model(train, target, estimator=estimator, task=task, n_estimators=n_estimators,
                      max_depth=max_depth, learning_rate=learning_rate, derived=derived,
                      dataset=dataset, seed=seed, features=list(features or []) or None,
                      exclude=list(exclude or []))
    left_out = model.metadata["features_left_out"]
    ctx.log_params({"estimator": model.estimator_kind, "task": model.task, "features": len(model.feature_names),
                    "train_rows": len(train), "dataset": model.metadata["dataset"],
                    "features_used": ", ".join(model.feature_names)[:5000],
                    "features_left_out": describe_left_out(left_out)[:5000]})
    if "learning_rate" not in model.params:  # RandomForest: a learning rate would mislead
        ctx.log_params({"learning_rate": None})
    ctx.log_metrics({f"importance_{k}": round(v, 6) for k, v in model.feature_importances().items()})
    ctx.log_metrics({"train_rows": len(train), "features_used": len(model.feature_names),
                     "features_left_out": len(left_out)})
    print(f"features: {', '.join(model.feature_names)}")
    print(f"left out of the features: {describe_left_out(left_out)}")
    print(f"trained {model.estimator_kind} {model.task} on {len(train)} rows, "
          f"{len(model.feature_names)} raw features -> {model.preprocessor.width} encoded")
    uri = ""
    if ctx.mlflow_run_id is not None:
        if model.metadata["synthetic"]:
            tracking.set_tags(ctx.workspace, ctx.mlflow_run_id, {"mloop.dataset": SYNTHETIC_LABEL})
        uri = log_tabular_model(ctx.workspace, ctx.mlflow_run_id, model, train)
        ctx.model_uri = uri
        print(f"logged model {uri}")
    return model, uri


def score_model(model: TabularModel, test: pd.DataFrame, metric: str = "auto") -> dict[str, Any]:
    """Metrics on the test split, plus `metric` (the gated one) and its `score`."""
    import numpy as np

    scores = model.predict_frame(test)
    y = test[model.target]
    if model.task == "regression":
        kind, metrics = "regression", _regression(y.to_numpy(dtype=np.float64), scores)
    else:
        lookup = {c: i for i, c in enumerate(model.classes)}
        known = y.map(lambda v: lookup.get(plain(v), -1)).to_numpy()
        mask = known >= 0
        kind = "binary" if len(model.classes) == 2 else "multiclass"
        metrics = _classification(known[mask], scores[mask], len(model.classes))
    chosen = PRIMARY[kind] if metric == "auto" else metric
    if chosen not in metrics:
        raise InvalidInput(f"metric '{chosen}' is not computed for a {kind} model", hint=did_you_mean(chosen, metrics))
    return {**metrics, "task": model.task, "rows": len(test), "metric": chosen, "score": metrics[chosen]}


def _regression(y: np.ndarray, pred: np.ndarray) -> dict[str, float]:
    return regression_scores(y, pred)


def _classification(y: np.ndarray, scores: np.ndarray, n_classes: int) -> dict[str, float]:
    return binary_scores(y, scores) if n_classes == 2 else multiclass_scores(y, scores)


@step(name="evaluate", kind="Evaluation")
def evaluate(model: TabularModel, test: pd.DataFrame, metric: str = "auto") -> dict:
    """Test-split metrics; `report["score"]` is the gated metric (auc / accuracy / r2 by default)."""
    report = score_model(model, test, metric)
    current_context().log_metrics({k: v for k, v in report.items() if isinstance(v, float)})
    shown = ", ".join(f"{k}={v:.4f}" for k, v in report.items() if isinstance(v, float))
    print(f"evaluated on {report['rows']} test rows: {shown}")
    return report
