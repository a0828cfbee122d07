"""A tiny CTR project for the release demo and tests: `ctr_project.py` written into a git repo.

It is what a user's project looks like: a pipeline module (train an XGBoost TabularModel on the
ad-click data, register it only if AUC passes a gate) plus `[release]` in mloop.toml.
"""

PIPELINE_MODULE = "ctr_project"

SOURCE = '''"""CTR model: train on ad clicks, register when AUC passes the gate (released by `mloop release`)."""

from mloop.pipelines import If, current_context, pipeline, step


@step(kind="Training")
def train(rows: int, n_estimators: int, max_depth: int, seed: int) -> dict:
    import tempfile

    from sklearn.metrics import roc_auc_score

    from mloop.recipes.datasets import ad_clicks
    from mloop.model_format import TabularModel, pyfunc_code_path

    frame = ad_clicks(rows, seed).drop(columns=["id", "full_name", "event_time"])
    cut = int(len(frame) * 0.8)
    model = TabularModel.fit(frame[:cut], "click", estimator="xgboost", seed=seed,
                             params={"n_estimators": n_estimators, "max_depth": max_depth, "nthread": 1})
    holdout = frame[cut:]
    auc = float(roc_auc_score(holdout["click"], model.predict_frame(holdout)))
    ctx = current_context()
    ctx.log_metrics({"auc": auc})
    with tempfile.TemporaryDirectory() as tmp:
        model.save(tmp)
        uri = ctx.log_model(python_model=pyfunc_code_path(), artifacts={"model_dir": tmp},
                            input_example=model.input_example(holdout, rows=2))
    return {"model_uri": uri, "auc": auc, "mlflow_run_id": ctx.mlflow_run_id}


@step(kind="RegisterModel")
def register(report: dict, model_name: str) -> dict:
    from mloop import registry

    ctx = current_context()
    version = registry.register(ctx.workspace, model_name, report["model_uri"],
                                run_id=report["mlflow_run_id"], metrics={"auc": report["auc"]},
                                metadata={"pipeline_run_id": ctx.run_id})
    return {"version": version.version}


@pipeline(name="ctr")
def ctr(rows: int = 600, n_estimators: int = 20, max_depth: int = 3, seed: int = 0,
        auc_threshold: float = 0.6, model_name: str = "ctr-model"):
    report = train(rows, n_estimators, max_depth, seed)
    with If(report["auc"] >= auc_threshold):
        register(report, model_name)
'''

# One ad impression with every feature, for the Verify stage's smoke calls.
VERIFY_RECORD = {"age": 31, "gender": "Female", "device_type": "Mobile", "ad_position": "Top",
                 "browsing_history": "Shopping", "time_of_day": "Evening"}
