"""A ready-made pyfunc wrapper for a fitted scikit-learn-style estimator.

Lives in `tracking` because it subclasses MLflow's `PythonModel`; imported only when used.
Classifiers answer the positive-class probability (binary) so the output is one number per row.
"""

from __future__ import annotations

import pickle
import tempfile
import warnings
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mlflow.pyfunc import PythonModel

from mloop.tracking.models import default_requirements, log_model

if TYPE_CHECKING:
    from mloop.store import Workspace


# MLflow inspects `predict`'s type hints when the class is created and warns either way.
with warnings.catch_warnings():
    warnings.simplefilter("ignore")

    class EstimatorModel(PythonModel):
        """Serves a pickled estimator stored as the `estimator` artifact."""

        def load_context(self, context):  # type: ignore[no-untyped-def]
            with open(context.artifacts["estimator"], "rb") as fh:
                self.estimator = pickle.load(fh)

        def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
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
