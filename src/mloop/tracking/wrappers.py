"""A ready-made pyfunc wrapper for a fitted scikit-learn-style estimator.

Lives in `tracking` because it subclasses MLflow's `PythonModel`; imported only when used.
Classifiers answer the positive-class probability (binary) so the output is one number per row.
"""

from __future__ import annotations

import pickle
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd
from mlflow.pyfunc import PythonModel

from mloop.tracking.logged_models import default_requirements, log_model

if TYPE_CHECKING:
    from mloop.store import Workspace


class EstimatorModel(PythonModel):
    """Serves a pickled estimator stored as the `estimator` artifact."""

    def load_context(self, context: Any) -> None:
        with open(context.artifacts["estimator"], "rb") as fh:
            self.estimator = pickle.load(fh)

    # A DataFrame hint: MLflow then neither converts the input nor warns about missing hints.
    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> Any:
        est = self.estimator
        if hasattr(est, "predict_proba") and len(getattr(est, "classes_", ())) == 2:
            return est.predict_proba(model_input)[:, 1]
        return est.predict(model_input)


def log_estimator(
    ws: Workspace, run_id: str, estimator: Any, *, input_example: Any = None, name: str = "model",
    requirements: tuple[str, ...] = ("scikit-learn",),
) -> str:
    """Log a fitted estimator as a pyfunc model of run `run_id`; returns its model URI."""
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "estimator.pkl"
        path.write_bytes(pickle.dumps(estimator))
        return log_model(
            ws, run_id, python_model=EstimatorModel(), artifacts={"estimator": str(path)},
            input_example=input_example, name=name, pip_requirements=default_requirements(requirements),
        )
