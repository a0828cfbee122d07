"""The inference app under the endpoint's input policy, against the real model server in-process.

A record with empty fields is predicted and logged (the model was trained with missing values);
a category the model never saw is scored and its `input_issues` returned and logged (warn) or
refused with the endpoint's 400 (reject), nothing logged.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pandas as pd
import pytest
from fastapi.testclient import TestClient

from mloop.config import AppSettings
from mloop.serving.runtime.live import static_endpoint
from mloop.serving.runtime.served_model import ServedModel, load_served
from mloop.serving.server.app import create_app
from mloop.web.inference import create_inference_app

FEATURES = ["age", "gender", "device_type", "ad_position", "browsing_history", "time_of_day"]
RECORD = {"age": 31, "gender": "Female", "device_type": "Mobile", "ad_position": "Top",
          "browsing_history": "Shopping", "time_of_day": "Morning"}


@pytest.fixture(scope="module")
def model(tmp_path_factory: pytest.TempPathFactory) -> ServedModel:
    from mloop.model_format import TabularModel
    from mloop.recipes.datasets import ad_clicks

    fitted = TabularModel.fit(ad_clicks(800, seed=4), "click", features=FEATURES,
                              params={"n_estimators": 10, "max_depth": 3})
    path = fitted.save(tmp_path_factory.mktemp("ad") / "model")
    return load_served(Path(path), "ad-click-ctr", 1, f"file://{path}")


def app_client(workspace: Any, model: ServedModel, policy: str, model_name: str | None) -> TestClient:
    server = create_app(None, "ad-click", live=static_endpoint("ad-click", model, policy))
    settings = AppSettings(endpoint="http://model.test", model_name=model_name,
                           interactions_group="ix", feedback_group="fb")
    app = create_inference_app(workspace, settings=settings, transport=httpx.ASGITransport(app=server))
    return TestClient(app)


@pytest.fixture(params=[None, "ad-click-ctr"], ids=["invocations", "kserve-v1"])
def warn(request: pytest.FixtureRequest, workspace: Any, model: ServedModel) -> Iterator[tuple[TestClient, Any]]:
    with app_client(workspace, model, "warn", request.param) as client:
        yield client, workspace


def logged(ws: Any) -> pd.DataFrame:
    from mloop.features import extract

    return extract(ws, "ix")


def test_a_record_with_empty_fields_is_predicted_and_logged(warn: tuple[TestClient, Any]) -> None:
    client, ws = warn
    res = client.post("/api/predict", json={"age": "", "gender": None, "device_type": "Mobile",
                                            "ad_position": "", "browsing_history": "News",
                                            "time_of_day": "Night"})  # half of the fields empty
    assert res.status_code == 200, res.text
    body = res.json()
    assert 0 < body["probability"] < 1 and body["input_issues"] == [] and body["logged"]
    row = logged(ws).set_index("request_id").loc[body["request_id"]]
    assert pd.isna(row["age"]) and pd.isna(row["gender"]) and row["device_type"] == "Mobile"
    assert pd.isna(row["input_issues"])


def test_an_unseen_category_is_scored_reported_and_logged_under_warn(warn: tuple[TestClient, Any]) -> None:
    client, ws = warn
    res = client.post("/api/predict", json={"records": [RECORD, {**RECORD, "device_type": "smartwatch"},
                                                        {"age": 30}]})
    assert res.status_code == 200, res.text
    predictions = res.json()["predictions"]
    assert [p["input_issues"] for p in predictions] == [
        [], ["device_type:unknown_category"], ["_record:few_features"]]
    rows = logged(ws).set_index("request_id")
    assert rows.loc[predictions[1]["request_id"], "input_issues"] == "device_type:unknown_category"
    assert rows.loc[predictions[1]["request_id"], "device_type"] == "smartwatch"


def test_case_is_forgiven_before_the_model_sees_it(warn: tuple[TestClient, Any]) -> None:
    client, _ = warn
    res = client.post("/api/predict", json={**RECORD, "device_type": "mobile"})
    assert res.status_code == 200 and res.json()["input_issues"] == []


def test_reject_answers_the_endpoints_400_and_logs_nothing(workspace: Any, model: ServedModel) -> None:
    with app_client(workspace, model, "reject", "ad-click-ctr") as client:
        res = client.post("/api/predict", json={**RECORD, "device_type": "Smartwatch"})
        assert res.status_code == 400, res.text
        body = res.json()
        assert body["code"] == "input_rejected"
        assert "'device_type' = 'Smartwatch'" in body["message"] and "Desktop, Mobile, Tablet" in body["message"]
        assert body["input_issues"]["count"] == 1
        assert logged(workspace).empty
        assert client.post("/api/predict", json={**RECORD, "age": None}).status_code == 200  # trained on missing


def test_an_interactions_group_from_before_the_column_still_logs(workspace: Any, model: ServedModel) -> None:
    from mloop.web.inference.store import INTERACTION_COLUMNS, ensure_group

    older = {k: v for k, v in INTERACTION_COLUMNS.items() if k != "input_issues"}
    ensure_group(workspace, "ix", older, "made by an older mloop")
    with app_client(workspace, model, "warn", None) as client:
        res = client.post("/api/predict", json={**RECORD, "device_type": "Fridge"})
        assert res.status_code == 200 and res.json()["input_issues"] == ["device_type:unknown_category"]
        rows = logged(workspace)
        assert list(rows["request_id"]) == [res.json()["request_id"]] and "input_issues" not in rows.columns
