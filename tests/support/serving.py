"""Helpers for serving tests: small real models, logged to MLflow, registered and approved."""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import Any

FEATURES = ["age", "device", "hour", "score"]


def click_frame(n: int = 600, seed: int = 0) -> Any:
    """A small ad-click-like frame: numeric, categorical and missing values, a 0/1 label."""
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.integers(18, 70, n).astype(float),
        "device": rng.choice(["ios", "android", "web"], n),
        "hour": rng.integers(0, 24, n).astype(float),
        "score": rng.normal(size=n),
    })
    df.loc[rng.random(n) < 0.05, "hour"] = np.nan
    df["clicked"] = ((df.score + (df.device == "ios") * 0.7 + rng.normal(size=n) * 0.5) > 0.4).astype(int)
    return df


def train(seed: int = 0, n_estimators: int = 20) -> Any:
    from mloop.model_format import TabularModel

    return TabularModel.fit(click_frame(seed=seed), "clicked", features=FEATURES,
                            params={"n_estimators": n_estimators, "max_depth": 4}, seed=seed)


def publish(ws: Any, name: str, model: Any, tmp: Path, *, approve: bool = True) -> Any:
    """Log `model` (a TabularModel, or a path to an MLflow models-from-code file) and register it."""
    from mloop import registry, tracking
    from mloop.model_format import TabularModel, pyfunc_code_path

    with tracking.start_run(ws, experiment=f"serving-{name}") as run:
        if isinstance(model, TabularModel):
            model_path = model.save(tmp / f"m-{run.run_id}")
            uri = tracking.log_model(ws, run.run_id, python_model=pyfunc_code_path(),
                                     artifacts={"model_dir": str(model_path)})
        else:
            uri = tracking.log_model(ws, run.run_id, python_model=str(model))
    mv = registry.register(ws, name, uri, run_id=run.run_id, principal="tester")
    if approve:
        mv = registry.approve(ws, name, mv.version, principal="approver", comment="ok")
    return mv


def broken_model_file(tmp: Path) -> Path:
    """An MLflow models-from-code file whose predict always raises (a canary that breaks)."""
    path = tmp / "broken_model.py"
    path.write_text(textwrap.dedent('''
        import mlflow
        from mlflow.pyfunc import PythonModel


        class Broken(PythonModel):
            def predict(self, context, model_input, params=None):
                raise RuntimeError("deliberately broken canary")


        mlflow.models.set_model(Broken())
    '''))
    return path
