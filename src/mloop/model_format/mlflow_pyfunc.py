"""MLflow "model from code" for a TabularModel (executed by MLflow's loader, not imported by mloop).

`mloop.tracking.log_model(ws, run_id, python_model=<this file's path>,
artifacts={"model_dir": <TabularModel.save dir>})` logs it; MLflow copies the model directory
into the logged model, and on load `load_context` reads it back with `load_model_dir`. Any
environment with mloop installed can load and serve it (`mlflow models serve --env-manager local`).
"""

from __future__ import annotations

import mlflow
from mlflow.pyfunc import PythonModel

from mloop.model_format import load_model_dir


class TabularPyfunc(PythonModel):
    """Scores raw records with the TabularModel shipped in the `model_dir` artifact."""

    # No type hints on predict: MLflow would try (and fail) to derive a schema from them.
    def load_context(self, context):  # type: ignore[no-untyped-def]
        self.model = load_model_dir(context.artifacts["model_dir"])

    def predict(self, context, model_input, params=None):  # type: ignore[no-untyped-def]
        import pandas as pd

        if isinstance(model_input, pd.DataFrame):
            return self.model.predict_frame(model_input)
        if isinstance(model_input, dict):
            model_input = [model_input]
        return self.model.predict_records(list(model_input))


mlflow.models.set_model(TabularPyfunc())
