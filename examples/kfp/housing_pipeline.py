"""Seed 003's course pipeline, written with the KFP SDK the way the course writes it.

Load Data -> Preprocess (clean, 80/20 split) -> Feature Engineer (bedroom_ratio,
people_per_household, rooms_per_household, dist_to_bay) -> Train (scaler + RandomForest, logged
to MLflow) -> Evaluate (R², RMSE, MAE) -> dsl.If(r2 >= r2_threshold): Register & Deploy,
dsl.Else: Send Alert.

Run it locally with mloop (no cluster):

    mloop run examples/kfp/housing_pipeline.py:pipeline -p data_path=housing.csv

or compile it for Kubeflow as usual (`python examples/kfp/housing_pipeline.py` writes
`housing_pipeline.yaml`, which `mloop run housing_pipeline.yaml -p data_path=...` also runs).
The data is the California Housing CSV (sklearn's `fetch_california_housing(as_frame=True)`
columns, target MedHouseVal); `mloop demo --chapter kfp` generates SYNTHETIC rows with them.

Register & Deploy uses mloop's registry when the pipeline runs under mloop (the model becomes
a PendingManualApproval version; `mloop models approve` then `mloop deploy` serve it); on a
Kubeflow cluster, where mloop is not installed, it only reports the model's URI.
"""

from kfp import compiler, dsl
from kfp.dsl import Dataset, Input, Metrics, Model, Output

IMAGE = "python:3.11"  # on Kubeflow: an image with pandas/scikit-learn/mlflow saves the installs

@dsl.component(base_image=IMAGE, packages_to_install=["pandas"])
def load_data(data_path: str, raw: Output[Dataset]) -> int:
    """Read the CSV by path; name missing columns instead of failing later."""
    import pandas as pd

    frame = pd.read_csv(data_path)
    needed = ["MedInc", "HouseAge", "AveRooms", "AveBedrms", "Population", "AveOccup",
              "Latitude", "Longitude", "MedHouseVal"]
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise ValueError(f"{data_path} lacks columns {missing}")
    frame[needed].to_csv(raw.path, index=False)
    raw.metadata["rows"] = len(frame)
    return len(frame)


@dsl.component(base_image=IMAGE, packages_to_install=["pandas", "scikit-learn"])
def preprocess(raw: Input[Dataset], test_size: float, seed: int,
               train: Output[Dataset], test: Output[Dataset]) -> None:
    """Drop incomplete rows and impossible values, then split 80/20."""
    import pandas as pd
    from sklearn.model_selection import train_test_split

    frame = pd.read_csv(raw.path).dropna()
    frame = frame[(frame["AveRooms"] > 0) & (frame["AveOccup"] > 0)]
    train_rows, test_rows = train_test_split(frame, test_size=test_size, random_state=seed)
    train_rows.to_csv(train.path, index=False)
    test_rows.to_csv(test.path, index=False)
    train.metadata["rows"], test.metadata["rows"] = len(train_rows), len(test_rows)


@dsl.component(base_image=IMAGE, packages_to_install=["pandas", "numpy"])
def feature_engineer(train: Input[Dataset], test: Input[Dataset],
                     train_features: Output[Dataset], test_features: Output[Dataset]) -> None:
    """Derived features of the course: ratios and the distance to the San Francisco Bay.

    They are pandas expressions kept in the datasets' metadata, so the trained model carries
    them and computes them again from raw records when it serves (no training/serving skew).
    """
    import pandas as pd

    rad = 0.017453292519943295
    derived = {
        "bedroom_ratio": "AveBedrms / AveRooms",
        "people_per_household": "AveOccup * 1.0",  # census: people / households
        "rooms_per_household": "AveRooms / AveOccup",
        "dist_to_bay": f"12742.0 * arcsin(sqrt(sin((Latitude - 37.77) * {rad} / 2) ** 2 + "
                       f"cos(Latitude * {rad}) * cos(37.77 * {rad}) * "
                       f"sin((Longitude + 122.42) * {rad} / 2) ** 2))",
    }
    for source, target in ((train, train_features), (test, test_features)):
        frame = pd.read_csv(source.path)
        for name, expression in derived.items():
            frame[name] = frame.eval(expression)
        frame.to_csv(target.path, index=False)
        target.metadata["derived"] = derived


@dsl.component(base_image=IMAGE, packages_to_install=["pandas", "scikit-learn", "joblib", "mlflow"])
def train_model(train_features: Input[Dataset], n_estimators: int, max_depth: int, seed: int,
                model: Output[Model]) -> None:
    """Scaler + RandomForest; parameters and feature importances go to MLflow."""
    import os

    import joblib
    import pandas as pd
    from sklearn.ensemble import RandomForestRegressor
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_csv(train_features.path)
    features = [c for c in frame.columns if c != "MedHouseVal"]
    estimator = make_pipeline(StandardScaler(), RandomForestRegressor(
        n_estimators=n_estimators, max_depth=max_depth, random_state=seed, n_jobs=1))
    estimator.fit(frame[features], frame["MedHouseVal"])
    os.makedirs(model.path, exist_ok=True)
    joblib.dump(estimator, os.path.join(model.path, "model.joblib"))
    model.metadata.update({"framework": "scikit-learn", "features": features,
                           "derived": train_features.metadata.get("derived", {})})
    if os.environ.get("MLFLOW_TRACKING_URI"):  # set by mloop (or by you, on a cluster)
        import mlflow

        with mlflow.start_run():
            mlflow.log_params({"n_estimators": n_estimators, "max_depth": max_depth})
            forest = estimator[-1]
            mlflow.log_metrics({f"importance.{f}": float(v)
                                for f, v in zip(features, forest.feature_importances_, strict=True)})


@dsl.component(base_image=IMAGE, packages_to_install=["pandas", "scikit-learn", "joblib"])
def evaluate(test_features: Input[Dataset], model: Input[Model], metrics: Output[Metrics]) -> float:
    """R² (the gate), RMSE and MAE on the held-out 20 %."""
    import os

    import joblib
    import pandas as pd
    from sklearn.metrics import mean_absolute_error, mean_squared_error, r2_score

    frame = pd.read_csv(test_features.path)
    estimator = joblib.load(os.path.join(model.path, "model.joblib"))
    predicted = estimator.predict(frame[model.metadata["features"]])
    r2 = float(r2_score(frame["MedHouseVal"], predicted))
    metrics.log_metric("r2", r2)
    metrics.log_metric("rmse", float(mean_squared_error(frame["MedHouseVal"], predicted) ** 0.5))
    metrics.log_metric("mae", float(mean_absolute_error(frame["MedHouseVal"], predicted)))
    return r2


@dsl.component(base_image=IMAGE)
def register_and_deploy(model: Input[Model], r2: float, model_name: str) -> str:
    """Register the model in mloop's registry (PendingManualApproval) when running under mloop."""
    try:
        from mloop.pipelines.kfp_frontend.registry import register_from_component
    except ImportError:  # on a Kubeflow cluster: hand the URI to your deployer
        print(f"model {model_name} ready at {model.uri} (r2={r2:.3f})")
        return model.uri
    version = register_from_component(model_name, model.path, metrics={"r2": r2},
                                      artifact_meta=dict(model.metadata))
    print(f"registered {model_name} v{version} (r2={r2:.3f}); approve it, then `mloop deploy`")
    return f"{model_name}/{version}"


@dsl.component(base_image=IMAGE)
def send_alert(r2: float, threshold: float, model_name: str) -> str:
    """The gate failed: say so where operators look (the run's log and its outcome)."""
    message = f"ALERT: {model_name} r2={r2:.3f} is below the threshold {threshold}; not deployed"
    print(message)
    return message


@dsl.pipeline(name="housing-kfp", description="Seed 003: California Housing, RandomForest, R² gate")
def pipeline(data_path: str, n_estimators: int = 100, max_depth: int = 12,
             r2_threshold: float = 0.75, test_size: float = 0.2, seed: int = 42,
             model_name: str = "housing-kfp") -> None:
    loaded = load_data(data_path=data_path)
    split = preprocess(raw=loaded.outputs["raw"], test_size=test_size, seed=seed)
    features = feature_engineer(train=split.outputs["train"], test=split.outputs["test"])
    trained = train_model(train_features=features.outputs["train_features"],
                          n_estimators=n_estimators, max_depth=max_depth, seed=seed)
    scored = evaluate(test_features=features.outputs["test_features"], model=trained.outputs["model"])
    with dsl.If(scored.outputs["Output"] >= r2_threshold, name="r2-passes"):
        register_and_deploy(model=trained.outputs["model"], r2=scored.outputs["Output"],
                            model_name=model_name).set_caching_options(False)
    with dsl.Else(name="r2-fails"):
        send_alert(r2=scored.outputs["Output"], threshold=r2_threshold,
                   model_name=model_name).set_caching_options(False)


if __name__ == "__main__":
    compiler.Compiler().compile(pipeline, __file__.replace(".py", ".yaml"))
