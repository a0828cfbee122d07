"""One input policy for every protocol: missing values the model was trained on are scored
silently; what it never saw is reported (warn) or refused with a 400 that names it (reject);
NaN, infinities and overflowing numbers are always 400.

The model is a real ad-click model trained on rows with missing values in every column (as the
seed's file has); requests go through the real handler that both server fronts call.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from mloop.serving.runtime.live import LiveEndpoint, static_endpoint
from mloop.serving.runtime.served_model import ServedModel, load_served
from mloop.serving.server.handler import SAGEMAKER, V1, V2, Request, predict
from mloop.serving.server.metrics import ServerMetrics

FEATURES = ["age", "gender", "device_type", "ad_position", "browsing_history", "time_of_day"]
GOOD = {"age": 31, "gender": "Female", "device_type": "Mobile", "ad_position": "Top",
        "browsing_history": "Shopping", "time_of_day": "Morning"}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    from mloop.model_format import TabularModel
    from mloop.recipes.datasets import ad_clicks

    frame = ad_clicks(800, seed=2)
    fitted = TabularModel.fit(frame, "click", features=FEATURES, params={"n_estimators": 10, "max_depth": 3})
    path = fitted.save(tmp_path_factory.mktemp("ad") / "model")
    return load_served(Path(path), "ad-click-ctr", 1, f"file://{path}")


def call(live: LiveEndpoint, protocol: str, body: Any, ctype: str = "application/json",
         metrics: ServerMetrics | None = None) -> tuple[int, dict[str, Any], dict[str, str]]:
    raw = body if isinstance(body, bytes) else json.dumps(body).encode()
    status, out, _ctype, headers = predict(live, metrics, Request(protocol, raw, ctype, model="ad-click-ctr"))
    return status, json.loads(out), {k.decode(): v.decode() for k, v in headers}


def v1(*records: dict[str, Any]) -> dict[str, Any]:
    return {"instances": list(records)}


def v2_columns(*records: dict[str, Any]) -> dict[str, Any]:
    types = {"age": "FP64"}
    return {"inputs": [{"name": f, "shape": [len(records)], "datatype": types.get(f, "BYTES"),
                        "data": [r.get(f) for r in records]} for f in FEATURES if any(f in r for r in records)]}


def test_the_model_records_what_training_saw(model: ServedModel) -> None:
    assert model.inputs is not None
    age = model.inputs.by_name["age"]
    assert age.kind == "numeric" and age.missing and (age.min, age.max) == (18, 64)
    gender = model.inputs.by_name["gender"]
    assert gender.missing and gender.categories == ["Female", "Male", "Non-Binary"] and gender.values == "text"


@pytest.mark.parametrize("policy", ["warn", "reject"])
@pytest.mark.parametrize("protocol", [SAGEMAKER, V1, V2])
def test_incomplete_records_are_scored_and_not_reported(model: ServedModel, policy: str, protocol: str) -> None:
    live = static_endpoint("ad-click", model, policy)
    partial = {"age": None, "gender": "Male", "device_type": "", "ad_position": "Top", "time_of_day": "Night"}
    body = v2_columns(GOOD, partial) if protocol == V2 else v1(GOOD, partial)
    if protocol == V2:
        body["inputs"] = [t for t in body["inputs"] if t["name"] != "age"]  # FP64 has no null: age absent
    status, out, headers = call(live, protocol, body)
    assert status == 200, out
    assert "x-mloop-input-issues" not in headers and "input_issues" not in out
    assert "parameters" not in out
    csv = call(live, SAGEMAKER, b"31,Female,Mobile,Top,Shopping,Morning\n,Male,,Top,,Night\n", "text/csv")
    assert csv[0] == 200 and len(csv[1]["predictions"]) == 2 and "x-mloop-input-issues" not in csv[2]


UNSEEN = {"age": 31, "gender": "Robot", "device_type": "Toaster", "ad_position": "Nowhere",
          "browsing_history": "Hacking", "time_of_day": "Midnight"}


@pytest.mark.parametrize("protocol", [SAGEMAKER, V1, V2])
def test_unseen_categories_are_reported_under_warn(model: ServedModel, protocol: str) -> None:
    live = static_endpoint("ad-click", model, "warn")
    metrics = ServerMetrics("ad-click")
    body = v2_columns(GOOD, UNSEEN) if protocol == V2 else v1(GOOD, UNSEEN)
    status, out, headers = call(live, protocol, body, metrics=metrics)
    assert status == 200
    assert "gender:unknown_category=1" in headers["x-mloop-input-issues"]
    assert "time_of_day:unknown_category=1" in headers["x-mloop-input-issues"]
    report = json.loads(out["parameters"]["input_issues_report"]) if protocol == V2 else out["input_issues"]
    assert report["count"] == 5 and report["rows"] == {"1": [f"{f}:unknown_category" for f in FEATURES[1:]]}
    first = report["examples"][0]
    assert first["value"] == "Robot" and "Female, Male, Non-Binary" in first["expected"]
    text = metrics.render()[0].decode()
    assert 'feature="gender",issue="unknown_category"' in text and "mloop_input_issues_total" in text


@pytest.mark.parametrize("protocol", [SAGEMAKER, V1, V2])
def test_unseen_categories_are_refused_under_reject(model: ServedModel, protocol: str) -> None:
    live = static_endpoint("ad-click", model, "reject")
    body = v2_columns(UNSEEN) if protocol == V2 else v1(UNSEEN)
    status, out, headers = call(live, protocol, body)
    assert status == 400 and out["code"] == "input_rejected"
    assert "'gender' = 'Robot'" in out["message"] and "Female, Male, Non-Binary" in out["message"]
    assert out["input_issues"]["count"] == 5 and "gender:unknown_category=1" in headers["x-mloop-input-issues"]


def test_csv_unseen_values_warn_in_the_header_only(model: ServedModel) -> None:
    live = static_endpoint("ad-click", model, "warn")
    status, body, ctype, headers = predict(live, None, Request(
        SAGEMAKER, b"-1e308,Robot,Mobile,Top,News,Night", "text/csv", "text/csv"))
    issues = dict(headers)[b"x-mloop-input-issues"].decode()
    assert status == 200 and ctype == b"text/csv" and float(body) >= 0
    assert issues == "age:out_of_range=1, gender:unknown_category=1"
    reject = call(static_endpoint("ad-click", model, "reject"), SAGEMAKER,
                  b"-1e308,Male,Mobile,Top,News,Night", "text/csv")
    assert reject[0] == 400 and "'age' = '-1e308'" in reject[1]["message"] and "18..64" in reject[1]["message"]


@pytest.mark.parametrize("policy", ["warn", "reject"])
@pytest.mark.parametrize("value", ["NaN", "nan", "inf", "-Infinity", "1e400"])
def test_nan_infinities_and_overflow_are_always_400(model: ServedModel, policy: str, value: str) -> None:
    live = static_endpoint("ad-click", model, policy)
    status, out, _ = call(live, SAGEMAKER, f"{value},Male,Mobile,Top,News,Night".encode(), "text/csv")
    assert status == 400 and "'age'" in out["message"], out
    big = call(live, SAGEMAKER, b"1" + b"0" * 400 + b",Male,Mobile,Top,News,Night", "text/csv")
    assert big[0] == 400 and "overflows" in big[1]["message"]
    assert call(live, V1, b'{"instances": [{"age": 1' + b"0" * 400 + b', "gender": "Male"}]}')[0] == 400


@pytest.mark.parametrize("policy", ["warn", "reject"])
def test_the_seeds_encoded_body_is_refused_with_the_raw_values(model: ServedModel, policy: str) -> None:
    live = static_endpoint("ad-click", model, policy)
    status, out, _ = call(live, SAGEMAKER, b"25,1,0,1,0,0,1,1", "text/csv")
    assert status == 400
    assert "row 0: 8 values, expected 6: this model takes raw values in this order" in out["message"]
    assert "gender (one of Female, Male, Non-Binary)" in out["message"] and "age (a number in 18..64)" in out["message"]
    assert "not one-hot" in out["hint"]


def test_an_encoded_record_of_the_right_length_warns_or_is_refused(model: ServedModel) -> None:
    status, out, headers = call(static_endpoint("ad-click", model, "warn"), SAGEMAKER, b"25,1,0,1,0,0", "text/csv")
    assert status == 200 and "gender:wrong_kind=1" in headers["x-mloop-input-issues"]
    status, out, _ = call(static_endpoint("ad-click", model, "reject"), V1, {"instances": [[25, 1, 0, 1, 0, 0]]})
    assert status == 400 and "takes raw values" in out["message"] and "device_type (one of Desktop" in out["message"]


@pytest.mark.parametrize("protocol", [V1, V2])
def test_booleans_and_numbers_in_categories_are_the_wrong_kind(model: ServedModel, protocol: str) -> None:
    record = [True, True, False, True, True, False]
    body = ({"inputs": [{"name": "x", "shape": [1, 6], "datatype": "BOOL", "data": record}]} if protocol == V2
            else {"instances": [dict(zip(FEATURES, record, strict=True))]})
    status, _, headers = call(static_endpoint("ad-click", model, "warn"), protocol, body)
    assert status == 200
    assert headers["x-mloop-input-issues"].count(":wrong_kind=1") == 6
    assert call(static_endpoint("ad-click", model, "reject"), protocol, body)[0] == 400


@pytest.mark.parametrize("protocol", [SAGEMAKER, V1])
def test_a_record_with_few_features_is_reported(model: ServedModel, protocol: str) -> None:
    body = v1({"age": 30}, {}) if protocol == V1 else {"dataframe_records": [{"age": 30}, {}]}
    status, out, headers = call(static_endpoint("ad-click", model, "warn"), protocol, body)
    assert status == 200 and headers["x-mloop-input-issues"] == "_record:few_features=2"
    assert out["input_issues"]["rows"] == {"0": ["_record:few_features"], "1": ["_record:few_features"]}
    status, out, _ = call(static_endpoint("ad-click", model, "reject"), protocol, body)
    assert status == 400 and "row 0 carries 1 of 6 inputs" in out["message"]


def test_a_model_saved_before_the_profile_still_checks_categories(model: ServedModel, tmp_path: Path) -> None:
    from mloop.model_format import SPEC_FILE, TabularModel
    from mloop.recipes.datasets import ad_clicks

    path = TabularModel.fit(ad_clicks(300, seed=3), "click", features=FEATURES,
                            params={"n_estimators": 5}).save(tmp_path / "old")
    spec = json.loads((path / SPEC_FILE).read_text())
    del spec["inputs"]
    (path / SPEC_FILE).write_text(json.dumps(spec))
    old = load_served(path, "ad-click-ctr", 1, "file://old")
    live = static_endpoint("old", old, "warn")
    status, _, headers = call(live, V1, v1({**GOOD, "age": -5, "gender": "Robot"}))
    assert status == 200 and headers["x-mloop-input-issues"] == "gender:unknown_category=1"  # no range known


def test_a_misspelt_field_is_named_under_reject_too(model: ServedModel) -> None:
    live = static_endpoint("ad-click", model, "reject")
    status, out, _ = call(live, V1, v1({"agee": 30, "gender": "Male", "device_type": "Mobile"}))
    assert status == 400 and "unknown field 'agee' and lacks the feature 'age'" in out["message"]
    status, out, _ = call(live, V1, v1({"colour": "red"}))
    assert status == 400 and "none of the model's features" in out["message"]
