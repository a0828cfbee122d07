"""TabularModel: record and frame paths agree with the raw estimator; missing values, unknown
categories, bad input and save/load round trips."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from mloop.errors import IntegrityError, InvalidInput, NotFound
from mloop.model_format import TabularModel, infer_task, load_model_dir


def _frame(n: int = 1500, seed: int = 0) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    df = pd.DataFrame({
        "age": rng.normal(40, 10, n),
        "visits": rng.integers(0, 30, n),
        "device": rng.choice(["mobile", "desktop", "tablet"], n),
        "premium": rng.random(n) > 0.7,
    })
    df.loc[::13, "age"] = np.nan
    df.loc[::29, "device"] = None
    score = (df["age"].fillna(40) - 40) / 10 + (df["device"] == "mobile") * 1.5 + rng.normal(0, 0.7, n)
    df["clicked"] = (score > 0.5).astype(int)
    df["spend"] = 3 * df["visits"] + 10 * df["premium"] + rng.normal(0, 2, n)
    return df


FEATURES = ["age", "visits", "device", "premium"]


@pytest.fixture(scope="module")
def frame() -> pd.DataFrame:
    return _frame()


@pytest.fixture(scope="module", params=["xgboost", "random_forest"])
def classifier(request: pytest.FixtureRequest, frame: pd.DataFrame) -> TabularModel:
    return TabularModel.fit(frame, "clicked", features=FEATURES, estimator=request.param,
                            params={"n_estimators": 30, "max_depth": 4})


def _raw_estimator(model: TabularModel, X: np.ndarray) -> np.ndarray:
    if model.estimator_kind == "xgboost":
        import xgboost as xgb

        return model.estimator.booster.predict(xgb.DMatrix(X))
    est = model.estimator.model
    return est.predict(X) if model.task == "regression" else est.predict_proba(X)[:, 1]


def test_records_frame_and_raw_estimator_agree(classifier: TabularModel, frame: pd.DataFrame) -> None:
    by_frame = classifier.predict_frame(frame)
    records = frame[FEATURES].to_dict("records")
    by_dicts = classifier.predict_records(records)
    by_lists = classifier.predict_records([[r[f] for f in FEATURES] for r in records])
    raw = _raw_estimator(classifier, classifier.preprocessor.transform_frame(frame))
    assert by_frame.shape == (len(frame),)
    np.testing.assert_allclose(by_dicts, by_frame, atol=1e-6)
    np.testing.assert_allclose(by_lists, by_frame, atol=1e-6)
    np.testing.assert_allclose(raw, by_frame, atol=1e-6)
    assert ((by_frame >= 0) & (by_frame <= 1)).all()


def test_strings_as_from_csv_equal_typed_values(classifier: TabularModel) -> None:
    typed = classifier.predict_records([{"age": 31.5, "visits": 4, "device": "mobile", "premium": True}])
    text = classifier.predict_records([["31.5", "4", "mobile", "true"]])
    np.testing.assert_allclose(text, typed, atol=1e-6)


def test_missing_values_use_training_fill(classifier: TabularModel) -> None:
    spec = {c.name: c for c in classifier.preprocessor.columns}
    assert spec["device"].fill == "(missing)"  # training had missing devices
    missing = classifier.predict_records([{"age": None, "visits": "", "device": None, "premium": float("nan")}])
    filled = classifier.predict_records([{"age": spec["age"].fill, "visits": spec["visits"].fill,
                                          "device": "(missing)", "premium": bool(spec["premium"].fill)}])
    np.testing.assert_allclose(missing, filled, atol=1e-6)
    # absent keys are missing values too
    np.testing.assert_allclose(classifier.predict_records([{}]), missing, atol=1e-6)


def test_unknown_category_encodes_as_all_zeros(classifier: TabularModel) -> None:
    X = classifier.preprocessor.transform_records([{"age": 30, "visits": 2, "device": "smart-tv", "premium": 0}])
    columns = classifier.preprocessor.output_names
    assert all(X[0, i] == 0.0 for i, name in enumerate(columns) if name.startswith("device="))
    assert np.isfinite(classifier.predict_records([{"device": "smart-tv"}])).all()


@pytest.mark.parametrize("row, message", [
    ({"age": "forty"}, "expects a number"),
    ({"premium": "maybe"}, "expects true/false"),
    ({"age": "inf"}, "infinite"),
    ({"age": 10**400}, "too large"),
    ([1, 2, 3], "3 values, expected 4"),
    ("age=3", "expected an object or a list"),
    ({"agee": 30, "devise": "Mobile"}, "none of the model's features"),
    ({"agee": 30, "visits": 2, "device": "Mobile", "premium": 0}, "unknown field 'agee' and lacks the feature 'age'"),
    ({"Age": 30, "visits": 2}, "unknown field 'Age'"),
])
def test_bad_values_are_invalid_input(classifier: TabularModel, row: object, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        classifier.predict_records([row])


def test_fields_that_are_not_features_are_ignored(classifier: TabularModel) -> None:
    record = {"age": 30, "visits": 2, "device": "Mobile", "premium": 0}
    with_extras = {**record, "id": 7, "click": 1, "full_name": "User7"}
    assert classifier.predict_records([with_extras]).tolist() == classifier.predict_records([record]).tolist()


def test_frame_with_text_numbers_and_missing_column(classifier: TabularModel, frame: pd.DataFrame) -> None:
    as_text = frame[FEATURES].head(50).astype(str).replace({"nan": "", "None": ""})
    np.testing.assert_allclose(classifier.predict_frame(as_text), classifier.predict_frame(frame.head(50)),
                               atol=1e-6)
    with pytest.raises(InvalidInput, match="missing feature columns: premium"):
        classifier.predict_frame(frame[["age", "visits", "device"]])


def test_save_load_round_trip(classifier: TabularModel, frame: pd.DataFrame, tmp_path) -> None:
    classifier.save(tmp_path / "m")
    loaded = load_model_dir(tmp_path / "m")
    assert loaded.feature_names == FEATURES
    assert loaded.task == "classification" and loaded.classes == [0, 1]
    np.testing.assert_allclose(loaded.predict_frame(frame), classifier.predict_frame(frame), atol=1e-6)
    spec = json.loads((tmp_path / "m" / "mloop_model.json").read_text())
    assert spec["format"] == "mloop-tabular" and spec["estimator"] == classifier.estimator_kind


def test_save_is_deterministic(frame: pd.DataFrame, tmp_path) -> None:
    """Same data and parameters -> same bytes, so content-addressed caching works."""
    for name in ("a", "b"):
        TabularModel.fit(frame, "clicked", features=FEATURES, params={"n_estimators": 5}).save(tmp_path / name)
    for file in ("mloop_model.json", "model.xgb.json"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()


def test_load_refuses_garbage(tmp_path) -> None:
    with pytest.raises(NotFound):
        load_model_dir(tmp_path)
    (tmp_path / "mloop_model.json").write_text(json.dumps({"format": "other"}))
    with pytest.raises(IntegrityError, match="format"):
        load_model_dir(tmp_path)


def test_skops_refuses_untrusted_types(frame: pd.DataFrame, tmp_path) -> None:
    import skops.io
    from sklearn.pipeline import FunctionTransformer

    model = TabularModel.fit(frame, "clicked", features=FEATURES, estimator="rf", params={"n_estimators": 3})
    model.save(tmp_path)
    skops.io.dump(FunctionTransformer(func=math.sqrt), tmp_path / "model.skops")
    with pytest.raises(IntegrityError, match="does not load"):
        load_model_dir(tmp_path)


@pytest.mark.parametrize("estimator", ["xgboost", "random_forest"])
def test_regression(frame: pd.DataFrame, estimator: str) -> None:
    model = TabularModel.fit(frame, "spend", features=FEATURES, estimator=estimator,
                             params={"n_estimators": 40})
    assert model.task == "regression" and model.classes == []
    pred = model.predict_frame(frame)
    np.testing.assert_allclose(model.predict_records(frame[FEATURES].to_dict("records")), pred, atol=1e-5)
    r2 = 1 - ((frame["spend"] - pred) ** 2).sum() / ((frame["spend"] - frame["spend"].mean()) ** 2).sum()
    assert r2 > 0.9
    importances = model.feature_importances()
    assert max(importances, key=importances.get) == "visits"
    assert math.isclose(sum(importances.values()), 1.0)


def test_multiclass_and_string_labels(frame: pd.DataFrame) -> None:
    df = frame.assign(tier=pd.cut(frame["spend"], 3, labels=["low", "mid", "high"]).astype(str))
    model = TabularModel.fit(df, "tier", features=FEATURES, params={"n_estimators": 10})
    assert model.classes == ["high", "low", "mid"]
    scores = model.predict_records(df[FEATURES].head(4).to_dict("records"))
    assert scores.shape == (4, 3)
    np.testing.assert_allclose(scores.sum(axis=1), 1.0, atol=1e-5)
    assert set(model.predict_labels(scores)) <= {"high", "low", "mid"}


def test_infer_task() -> None:
    assert infer_task(pd.Series([0, 1, 1])) == "classification"
    assert infer_task(pd.Series(["a", "b"])) == "classification"
    assert infer_task(pd.Series([True, False])) == "classification"
    assert infer_task(pd.Series(np.linspace(0, 5, 100))) == "regression"
    assert infer_task(pd.Series(range(100))) == "regression"


def test_target_with_one_class_is_invalid(frame: pd.DataFrame) -> None:
    with pytest.raises(InvalidInput, match="1 class"):
        TabularModel.fit(frame.assign(clicked=1), "clicked", features=FEATURES)
    with pytest.raises(InvalidInput, match="unknown estimator"):
        TabularModel.fit(frame, "clicked", features=FEATURES, estimator="svm")


def test_mlflow_pyfunc_wraps_the_saved_model(frame: pd.DataFrame, tmp_path) -> None:
    """The models-from-code wrapper loads the same model; MLflow scores raw rows identically."""
    import mlflow.pyfunc

    from mloop.model_format import pyfunc_code_path

    classifier = TabularModel.fit(frame, "clicked", features=FEATURES, params={"n_estimators": 10})

    model_dir = classifier.save(tmp_path / "m")
    mlflow.pyfunc.save_model(str(tmp_path / "pyfunc"), python_model=pyfunc_code_path(),
                             artifacts={"model_dir": str(model_dir)},
                             input_example=classifier.input_example(frame))
    loaded = mlflow.pyfunc.load_model(str(tmp_path / "pyfunc"))
    rows = frame[FEATURES].head(20)
    np.testing.assert_allclose(np.asarray(loaded.predict(classifier.input_example(rows, 20))),
                               classifier.predict_frame(rows), atol=1e-6)
    assert load_model_dir(tmp_path / "pyfunc").feature_names == FEATURES


def test_derived_features_are_computed_inside_the_model() -> None:
    from mloop.recipes.datasets.housing import housing

    df = housing(3000, seed=1)
    derived = [{"name": "bedroom_ratio", "op": "ratio", "args": ["AveBedrms", "AveRooms"]},
               {"name": "dist_to_bay", "op": "haversine_km", "args": ["Latitude", "Longitude", 37.77, -122.42]}]
    model = TabularModel.fit(df, "MedHouseVal", features=["MedInc", "Latitude", "Longitude"], derived=derived,
                             estimator="rf", params={"n_estimators": 10})
    assert model.feature_names == ["MedInc", "Latitude", "Longitude", "AveBedrms", "AveRooms"]
    assert model.preprocessor.output_names[-2:] == ["bedroom_ratio", "dist_to_bay"]
    raw = df[model.feature_names]
    by_frame = model.predict_frame(raw)
    np.testing.assert_allclose(model.predict_records(raw.to_dict("records")), by_frame, atol=1e-6)
    np.testing.assert_allclose(model.predict_records(raw.values.tolist()), by_frame, atol=1e-6)
    # a zero denominator is a missing value, not an error
    row = {**raw.iloc[0].to_dict(), "AveRooms": 0}
    assert np.isfinite(model.predict_records([row])).all()
    with pytest.raises(InvalidInput, match="unknown op"):
        TabularModel.fit(df, "MedHouseVal", derived=[{"name": "x", "op": "sqrt", "args": ["MedInc"]}])


def test_record_and_frame_paths_agree_on_arbitrary_raw_rows(frame: pd.DataFrame) -> None:
    """Property: whatever mix of types, text, missing and unknown values a row carries, the
    record fast path and the frame path encode it identically."""
    from hypothesis import given, settings
    from hypothesis import strategies as st

    model = TabularModel.fit(frame, "clicked", features=FEATURES, params={"n_estimators": 10})
    finite = st.floats(-1e6, 1e6, allow_nan=False)
    number = st.one_of(st.none(), st.just(float("nan")), finite, st.integers(-1000, 1000),
                       finite.map(repr), st.sampled_from(["", "NA", " 3.5 ", "null"]))
    category = st.one_of(st.none(), st.sampled_from(["mobile", "desktop", "tablet", "tv", "", "N/A", "Mobile"]),
                         st.integers(0, 3))
    flag = st.one_of(st.none(), st.booleans(), st.sampled_from(["true", "False", "0", "1", "yes", ""]))
    row = st.fixed_dictionaries({"age": number, "visits": number, "device": category, "premium": flag})

    @settings(max_examples=60, deadline=None)
    @given(st.lists(row, min_size=1, max_size=6))
    def check(rows: list[dict]) -> None:
        by_records = model.preprocessor.transform_records(rows)
        for frame_ in (pd.DataFrame(rows, columns=FEATURES, dtype=object), pd.DataFrame(rows, columns=FEATURES)):
            np.testing.assert_array_equal(by_records, model.preprocessor.transform_frame(frame_))

    check()


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_flat_forest_matches_scikit_learn(frame: pd.DataFrame, task: str) -> None:
    """The numpy forest evaluator (small batches) equals scikit-learn's predict to rounding."""
    target = "clicked" if task == "classification" else "spend"
    model = TabularModel.fit(frame, target, features=FEATURES, estimator="rf", params={"n_estimators": 25})
    X = model.preprocessor.transform_frame(frame.head(300))
    flat = model.estimator._flat.predict(X)
    sk = model.estimator.model
    expected = sk.predict(X) if task == "regression" else sk.predict_proba(X)
    np.testing.assert_allclose(flat, expected, atol=1e-9)


def test_the_model_records_what_training_saw_of_each_raw_input(frame: pd.DataFrame, tmp_path) -> None:
    derived = [{"name": "visits_per_age", "op": "ratio", "args": ["visits", "age"]}]
    model = TabularModel.fit(frame, "clicked", features=FEATURES, derived=derived,
                             params={"n_estimators": 5, "max_depth": 2})
    inputs = {spec.name: spec for spec in load_model_dir(model.save(tmp_path / "m")).inputs.inputs}
    assert list(inputs) == model.feature_names and "visits_per_age" not in inputs  # raw inputs only
    age, visits = inputs["age"], inputs["visits"]
    assert age.missing and (age.min, age.max) == (frame["age"].min(), frame["age"].max())
    assert not visits.missing and (visits.min, visits.max) == (0, 29)
    assert inputs["device"].missing and inputs["device"].categories == ["desktop", "mobile", "tablet"]
    assert inputs["premium"].kind == "boolean" and not inputs["premium"].missing
    described = {i["name"]: i for i in model.describe()["inputs"]}
    assert described["visits"] == {"name": "visits", "kind": "numeric", "missing_allowed": False, "range": [0, 29]}
    assert model.describe()["derived"] == ["visits_per_age"]
