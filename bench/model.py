"""In-process predict cost of the model format (the floor under every server).

The ad-click reference shape (XGBoost, 100 trees, depth 6, raw records with text categories and
missing values): mloop's `predict_records` (pure-Python preprocessing + direct dense predict),
the same model through xgboost's public `inplace_predict`, and MLflow's pyfunc `predict` on a
one-row DataFrame (what `mlflow models serve` does per request). Also 100-row batches, and the
housing shape (RandomForest, 100 trees, depth 12): flat numpy forest vs scikit-learn's predict.
Prints a table and writes bench/results/model.json.

    .venv/bin/python bench/model.py [--repeat 3000]
"""

from __future__ import annotations

import argparse
import json
import statistics
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def _timed(fn: Any, repeat: int) -> dict[str, float]:
    fn()
    samples = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - start) * 1e6)
    samples.sort()
    return {"p50_us": round(statistics.median(samples), 1),
            "p99_us": round(samples[int(len(samples) * 0.99) - 1], 1),
            "mean_us": round(statistics.fmean(samples), 1)}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=3000)
    args = parser.parse_args()
    import mlflow.pyfunc
    import numpy as np

    from mloop.model_format import TabularModel, pyfunc_code_path
    from mloop.recipes.datasets import ad_clicks

    data = ad_clicks(20_000, seed=1).drop(columns=["id", "full_name", "event_time"])
    model = TabularModel.fit(data, "click", params={"n_estimators": 100, "max_depth": 6})
    features = model.feature_names
    raw = data[features].head(100).astype(object).where(lambda f: f.notna(), None)
    one, batch = raw.head(1).to_dict("records"), raw.to_dict("records")
    X1 = model.preprocessor.transform_records(one)
    booster = model.estimator.booster
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        model.save(Path(tmp) / "m")
        mlflow.pyfunc.save_model(str(Path(tmp) / "pyfunc"), python_model=pyfunc_code_path(),
                                 artifacts={"model_dir": str(Path(tmp) / "m")},
                                 input_example=model.input_example(data))
        pyfunc = mlflow.pyfunc.load_model(str(Path(tmp) / "pyfunc"))
        frame1 = model.input_example(raw.head(1), 1)
        assert np.allclose(pyfunc.predict(frame1), model.predict_records(one), atol=1e-6)
        rows = {
            "predict_records, 1 row": _timed(lambda: model.predict_records(one), args.repeat),
            "  of which preprocessing": _timed(lambda: model.preprocessor.transform_records(one), args.repeat),
            "xgboost inplace_predict, 1 encoded row": _timed(
                lambda: booster.inplace_predict(X1, validate_features=False), args.repeat),
            "mlflow pyfunc predict, 1-row DataFrame": _timed(lambda: pyfunc.predict(frame1), args.repeat // 10),
            "predict_records, 100 rows": _timed(lambda: model.predict_records(batch), args.repeat // 10),
        }
    rows.update(_forest_rows(args.repeat))
    print(f"{'path':<42} {'p50 us':>9} {'p99 us':>9}")
    for name, r in rows.items():
        print(f"{name:<42} {r['p50_us']:>9} {r['p99_us']:>9}")
    ratio = rows["mlflow pyfunc predict, 1-row DataFrame"]["p50_us"] / rows["predict_records, 1 row"]["p50_us"]
    print(f"mloop predict_records is {ratio:.0f}x faster than MLflow pyfunc for one row")
    out = ROOT / "bench" / "results" / "model.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps({"rows": rows, "pyfunc_over_records": round(ratio, 1)}, indent=2))


def _forest_rows(repeat: int) -> dict[str, dict[str, float]]:
    """The housing shape: RandomForest (100 trees, depth 12) with derived features."""
    from mloop.recipes.datasets.housing import FEATURES, housing
    from mloop.recipes.steps import HOUSING_DERIVED, fit_model

    data = housing(10_000, seed=0)
    model = fit_model(data, "MedHouseVal", estimator="random_forest", n_estimators=100, max_depth=12,
                      derived=HOUSING_DERIVED)
    one = data[FEATURES].head(1).to_dict("records")
    X = model.preprocessor.transform_records(one)
    return {
        "forest predict_records, 1 row": _timed(lambda: model.predict_records(one), repeat // 10),
        "scikit-learn predict, 1 encoded row": _timed(lambda: model.estimator.model.predict(X), repeat // 100),
    }


if __name__ == "__main__":
    main()
