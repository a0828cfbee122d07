"""MLflow "model from code" for a KFP Model artifact (executed by MLflow's loader).

The artifact directory (or file) is shipped as the `model` artifact; the estimator inside is a
joblib or pickle file (`model.joblib`, `model.pkl`, or the artifact file itself) with a
scikit-learn style `predict(DataFrame)`. Records are scored with the columns the artifact's
metadata names (`features`), after computing the `derived` columns (pandas expressions) that
the records lack, so a model trained on engineered features scores raw records.
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
        meta: dict = {}
        if context.artifacts.get("meta"):
            with open(context.artifacts["meta"]) as fh:
                meta = json.load(fh)
        self.features = meta.get("features")
        self.derived = meta.get("derived") or {}

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        import pandas as pd

        frame = model_input if isinstance(model_input, pd.DataFrame) else pd.DataFrame(
            [model_input] if isinstance(model_input, dict) else list(model_input))
        for name, expression in self.derived.items():  # features the pipeline derived
            if name not in frame.columns:
                frame[name] = frame.eval(expression)
        return self.model.predict(frame[self.features] if self.features else frame)


mlflow.models.set_model(KfpModel())
