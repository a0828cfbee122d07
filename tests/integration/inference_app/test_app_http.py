"""The inference app and the model server as real processes, driven over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pandas as pd
import pytest

from tests.support.app_processes import logged, start_app, stop
from tests.support.inference_app import RECORD

pytestmark = pytest.mark.slow


def test_page_predict_and_feedback_over_http(live: dict[str, Any]) -> None:
    with httpx.Client(base_url=live["url"], timeout=20) as client:
        page = client.get("/")
        assert page.status_code == 200 and 'name="device_type"' in page.text
        one = client.post("/api/predict", json=RECORD)
        assert one.status_code == 200, one.text
        body = one.json()
        assert 0.0 <= body["probability"] <= 1.0
        assert body["variant"] and body["model_version"] is not None
        many = client.post("/api/predict", json={"records": [RECORD, {**RECORD, "ad_position": "Bottom"}]})
        assert many.status_code == 200 and len(many.json()["predictions"]) == 2
        fb = client.post("/api/feedback", json={"request_id": body["request_id"], "clicked": True})
        assert fb.status_code == 200, fb.text
        twice = client.post("/api/feedback", json={"request_id": body["request_id"], "clicked": False})
        assert twice.status_code == 409
        assert client.post("/api/feedback", json={"request_id": "0" * 32, "clicked": True}).status_code == 404
        for bad in ({**RECORD, "age": -5}, {**RECORD, "device_type": 3}):
            res = client.post("/api/predict", json=bad)
            assert res.status_code == 422 and res.json()["message"]
        empty = client.post("/api/predict", json={**RECORD, "age": ""})  # trained with missing ages
        assert empty.status_code == 200 and empty.json()["input_issues"] == []
        fridge = client.post("/api/predict", json={**RECORD, "device_type": "Fridge"})  # the server's policy: warn
        assert fridge.status_code == 200 and fridge.json()["input_issues"] == ["device_type:unknown_category"]
        assert client.get("/openapi.json").json()["paths"]["/api/feedback"]
    interactions = logged(live["ws"], "user-interactions")
    assert body["request_id"] in set(interactions["request_id"])
    row = interactions[interactions["request_id"] == body["request_id"]].iloc[0]
    assert row["prediction"] == pytest.approx(body["probability"]) and row["device_type"] == "Mobile"
    unseen = interactions.set_index("request_id").loc[fridge.json()["request_id"]]
    assert unseen["device_type"] == "Fridge" and unseen["input_issues"] == "device_type:unknown_category"
    assert pd.isna(interactions.set_index("request_id").loc[empty.json()["request_id"], "age"])
    feedback = logged(live["ws"], "user-feedback")
    assert list(feedback["request_id"]) == [body["request_id"]] and list(feedback["clicked"]) == [1]


def test_endpoint_down_is_503_and_nothing_half_logged(live: dict[str, Any]) -> None:
    base = live["base"]
    app, url = start_app(live["ws"], "http://127.0.0.1:9")  # nothing listens on the discard port
    try:
        before = len(logged(live["ws"], "user-interactions"))
        res = httpx.post(f"{url}/api/predict", json=RECORD, timeout=20)
        assert res.status_code == 503
        assert res.json()["code"] == "endpoint_unavailable" and res.json()["hint"]
        assert len(logged(live["ws"], "user-interactions")) == before
    finally:
        stop(app)
    assert base.exists()
