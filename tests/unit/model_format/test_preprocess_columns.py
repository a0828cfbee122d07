"""The column path of `transform_records` (batches) encodes exactly like the row path: same
matrix bit for bit, or the same InvalidInput, whatever mix of types, text, missing, infinite and
unknown values the rows carry."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mloop.errors import InvalidInput
from mloop.model_format import TabularModel
from mloop.model_format.preprocess import COLUMN_PATH_MIN_ROWS, Preprocessor

FEATURES = ["age", "visits", "device", "premium"]


@pytest.fixture(scope="module")
def preprocessor() -> Preprocessor:
    rng = np.random.default_rng(0)
    n = 600
    frame = pd.DataFrame({"age": rng.normal(40, 10, n), "visits": rng.integers(0, 30, n),
                          "device": rng.choice(["mobile", "desktop", "tablet"], n), "premium": rng.random(n) > 0.7})
    frame.loc[::13, "age"] = np.nan
    frame.loc[::29, "device"] = None
    frame["clicked"] = (rng.random(n) > 0.5).astype(int)
    return TabularModel.fit(frame, "clicked", features=FEATURES, params={"n_estimators": 5}).preprocessor


def _outcome(fn, rows):
    try:
        return fn(rows)
    except InvalidInput as exc:
        return ("InvalidInput", str(exc), exc.hint)
    except Exception as exc:  # noqa: BLE001 — e.g. OverflowError for a 400-digit int: the row path's answer, kept
        return (type(exc).__name__, str(exc))


def _same(a, b) -> None:
    if isinstance(a, np.ndarray) and isinstance(b, np.ndarray):
        assert a.shape == b.shape and a.flags.c_contiguous
        np.testing.assert_array_equal(a, b)
    else:
        assert a == b


finite = st.floats(-1e6, 1e6, allow_nan=False)
number = st.one_of(st.none(), st.just(float("nan")), finite, st.integers(-1000, 1000), st.booleans(),
                   finite.map(repr), finite.map(lambda v: f" {v} "),
                   st.sampled_from(["", "NA", " 3.5 ", "null", "nan", "-nan", "1_000", "inf", "forty"]),
                   st.just(float("inf")), st.just(np.float64(2.5)), st.just(10**400))
category = st.one_of(st.none(), st.just(float("nan")), st.integers(0, 3), st.just(np.str_("mobile")),
                     st.sampled_from(["mobile", "desktop", "tablet", "tv", "", "N/A", "Mobile", "(missing)"]))
flag = st.one_of(st.none(), st.booleans(), st.integers(0, 2),
                 st.sampled_from(["true", "False", "0", "1", "yes", "", "maybe"]))
record = st.fixed_dictionaries({"age": number, "visits": number, "device": category, "premium": flag})
as_list = record.map(lambda r: [r[f] for f in FEATURES])
odd = st.one_of(st.just([1, 2, 3]), st.just("age=3"), st.just((30.0, 2, "mobile", True)),
                st.just({"age": 1.0}))


@settings(max_examples=120, deadline=None)
@given(st.data())
def test_column_path_equals_row_path(preprocessor: Preprocessor, data: st.DataObject) -> None:
    rows = data.draw(st.lists(st.one_of(record, as_list) if data.draw(st.booleans()) else record,
                              min_size=COLUMN_PATH_MIN_ROWS, max_size=40))
    if data.draw(st.integers(0, 9)) == 0:  # now and then an odd row anywhere
        rows.insert(data.draw(st.integers(0, len(rows))), data.draw(odd))
    _same(_outcome(preprocessor.transform_records, rows), _outcome(preprocessor._encode_rows, rows))


@settings(max_examples=40, deadline=None)
@given(st.lists(st.fixed_dictionaries({"age": finite, "visits": st.integers(0, 50),
                                       "device": st.sampled_from(["mobile", "desktop", "tablet", "tv"]),
                                       "premium": st.booleans()}),
                min_size=COLUMN_PATH_MIN_ROWS, max_size=60), st.booleans())
def test_clean_batches_take_the_column_path(preprocessor: Preprocessor, rows: list[dict], as_text: bool) -> None:
    """Typical serving input (typed JSON or CSV text) is encoded by numpy, equal to the row path."""
    if as_text:
        rows = [[str(r[f]) for f in FEATURES] for r in rows]  # type: ignore[misc]
    by_columns = preprocessor._encode_columns(rows)
    assert by_columns is not None
    _same(by_columns, preprocessor._encode_rows(rows))


def test_derived_features_column_path_equals_row_path() -> None:
    from mloop.recipes.datasets.housing import housing

    df = housing(800, seed=2)
    derived = [{"name": "bedroom_ratio", "op": "ratio", "args": ["AveBedrms", "AveRooms"]}]
    model = TabularModel.fit(df, "MedHouseVal", features=["MedInc", "Latitude"], derived=derived,
                             estimator="rf", params={"n_estimators": 5})
    pre = model.preprocessor
    raw = df[model.feature_names].head(50)
    for rows in (raw.to_dict("records"), raw.values.tolist(), raw.astype(str).values.tolist()):
        derived_rows = [pre._derive(row, i) for i, row in enumerate(rows)]
        assert pre._encode_columns(derived_rows) is not None
        _same(pre.transform_records(rows), pre._encode_rows(derived_rows))
    np.testing.assert_allclose(model.predict_records(raw.to_dict("records")), model.predict_frame(raw), atol=1e-6)
