"""MLflow "model from code" for a KFP Model artifact (executed by MLflow's loader).

The artifact directory (or file) is shipped as the `model` artifact; the estimator inside is a
joblib or pickle file (`model.joblib`, `model.pkl`, or the artifact file itself) with a
scikit-learn style `predict(DataFrame)`. Records are scored with the columns the artifact's
metadata names (`features`), when it names them.
"""

from __future__ import annotations

import json
import os

import mlflow
from mlflow.pyfunc import PythonModel


def _estimator_file(path):  # type: ignore[no-untyped-def]
    if os.path.isfile(path):
        return path
    for name in ("model.joblib", "model.pkl", "model.pickle", "model"):
        candidate = os.path.join(path, name)
        if os.path.isfile(candidate):
            return candidate
    found = sorted(f for f in os.listdir(path) if f.endswith((".joblib", ".pkl", ".pickle")))
    if not found:
        raise FileNotFoundError(f"no joblib/pickle estimator in {path}")
    return os.path.join(path, found[0])


class KfpModel(PythonModel):
    """Scores records with the estimator a KFP component saved."""

    def load_context(self, context):  # type: ignore[no-untyped-def]
        import joblib

        root = context.artifacts["model"]
        self.model = joblib.load(_estimator_file(root))
        meta_file = context.artifacts.get("meta")
        self.features = json.load(open(meta_file)).get("features") if meta_file else None  # noqa: SIM115

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(
            [model_input] if isinstance(model_input, dict) else list(model_input))
        return self.model.predict(frame[self.features] if self.features else frame)


mlflow.models.set_model(KfpModel())
