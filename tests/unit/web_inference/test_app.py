"""The inference app's HTTP contract: validation, 503 when the endpoint is down, feedback rules.

The endpoint here is a tiny in-process ASGI model server (tests/support/inference_app.py; the real one is
exercised in tests/integration/inference_app/); the interaction store is the real feature store.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mloop.config import AppSettings
from mloop.web.inference import create_inference_app
from tests.support.inference_app import RECORD, DownSwitch


@pytest.fixture
def served(workspace: Any) -> Iterator[tuple[TestClient, dict[str, Any], Any]]:
    state: dict[str, Any] = {}
    settings = AppSettings(endpoint="http://model.test", interactions_group="ix", feedback_group="fb")
    app = create_inference_app(workspace, settings=settings, transport=DownSwitch(state))
    with TestClient(app) as client:
        yield client, state, workspace


def interactions(ws: Any) -> Any:
    from mloop.features import extract

    return extract(ws, "ix")


def test_page_shows_the_form(served: Any) -> None:
    client, _, _ = served
    page = client.get("/")
    assert page.status_code == 200
    for field in ("age", "gender", "device_type", "ad_position", "browsing_history", "time_of_day"):
        assert f'name="{field}"' in page.text
    assert "Did not click" in page.text


def test_predict_one_logs_it_with_version_and_variant(served: Any) -> None:
    client, _, ws = served
    res = client.post("/api/predict", json=RECORD)
    assert res.status_code == 200, res.text
    body = res.json()
    assert body["model"] == "ctr" and body["model_version"] == 3 and body["variant"] == "production"
    assert 0 <= body["probability"] <= 1 and body["logged"] is True
    rows = interactions(ws)
    assert list(rows["request_id"]) == [body["request_id"]]
    row = rows.iloc[0]
    assert row["device_type"] == "Mobile" and row["model_version"] == 3 and row["prediction"] == body["probability"]


def test_predict_many(served: Any) -> None:
    client, _, ws = served
    res = client.post("/api/predict", json={"records": [RECORD, {**RECORD, "age": 60}]})
    assert res.status_code == 200, res.text
    ids = [p["request_id"] for p in res.json()["predictions"]]
    assert len(set(ids)) == 2
    assert sorted(interactions(ws)["request_id"]) == sorted(ids)


@pytest.mark.parametrize(("change", "needle"), [
    ({"age": -3}, "age"),
    ({"age": "old"}, "age"),
    ({"device_type": 7}, "device_type must be text (one of Desktop, Mobile, Tablet)"),
    ({"colour": "red"}, "colour is not a known field"),
])
def test_bad_records_get_a_clear_422_and_nothing_is_called_or_logged(served: Any, change: dict[str, Any],
                                                                     needle: str) -> None:
    client, state, ws = served
    res = client.post("/api/predict", json={**RECORD, **change})
    assert res.status_code == 422
    assert needle in res.json()["message"] and res.json()["code"] == "invalid_record"
    assert "calls" not in state
    assert interactions(ws).empty


def test_empty_and_absent_fields_are_predicted_and_logged_as_missing(served: Any) -> None:
    client, _, ws = served
    partial = {k: v for k, v in RECORD.items() if k != "gender"} | {"age": "", "device_type": None}
    res = client.post("/api/predict", json=partial)
    assert res.status_code == 200, res.text
    row = interactions(ws).iloc[0]
    assert row["request_id"] == res.json()["request_id"]
    import pandas as pd

    assert pd.isna(row["age"]) and pd.isna(row["gender"]) and pd.isna(row["device_type"])  # null, not 0 or ""
    assert row["ad_position"] == "Top"


def test_bad_json(served: Any) -> None:
    client, _, _ = served
    res = client.post("/api/predict", content=b"{nope", headers={"content-type": "application/json"})
    assert res.status_code == 400 and "not valid JSON" in res.json()["message"]
    batch = client.post("/api/predict", json={"records": [RECORD, {**RECORD, "age": -1}]})
    assert batch.status_code == 422 and batch.json()["message"].startswith("record 1: age")


def test_endpoint_down_is_503_and_nothing_is_logged(served: Any) -> None:
    client, state, ws = served
    state["down"] = True
    res = client.post("/api/predict", json=RECORD)
    assert res.status_code == 503
    assert res.json()["code"] == "endpoint_unavailable" and "unreachable" in res.json()["message"]
    assert interactions(ws).empty
    state["down"] = False
    assert client.post("/api/predict", json=RECORD).status_code == 200


def test_feedback_once_then_409_and_unknown_is_404(served: Any) -> None:
    from mloop.features import extract

    client, _, ws = served
    rid = client.post("/api/predict", json=RECORD).json()["request_id"]
    first = client.post("/api/feedback", json={"request_id": rid, "clicked": True})
    assert first.status_code == 200, first.text
    assert first.json()["seconds_after_prediction"] >= 0
    again = client.post("/api/feedback", json={"request_id": rid, "clicked": False})
    assert again.status_code == 409 and "already recorded (clicked=True)" in again.json()["message"]
    unknown = client.post("/api/feedback", json={"request_id": "nope", "clicked": True})
    assert unknown.status_code == 404 and "no prediction with request id 'nope'" in unknown.json()["message"]
    bad = client.post("/api/feedback", json={"request_id": rid, "clicked": "maybe"})
    assert bad.status_code == 422
    feedback = extract(ws, "fb")
    assert list(feedback["request_id"]) == [rid] and list(feedback["clicked"]) == [1]


def test_posts_take_only_json_and_the_page_runs_no_inline_script(workspace: Any) -> None:
    """A cross-site page can POST text/plain without a preflight; JSON needs one (issue 18)."""
    state: dict[str, Any] = {}
    settings = AppSettings(endpoint="http://model.test", interactions_group="ix", feedback_group="fb")
    app = create_inference_app(workspace, settings=settings, transport=DownSwitch(state), bind_host="127.0.0.1")
    with TestClient(app, base_url="http://127.0.0.1:8080") as client:
        import json

        for ctype in ("text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", None):
            headers = {"Content-Type": ctype} if ctype else {}
            answer = client.post("/api/predict", content=json.dumps(RECORD), headers=headers)
            assert answer.status_code == 415 and answer.json()["code"] == "unsupported_media_type", ctype
            assert client.post("/api/feedback", content='{"request_id": "x", "clicked": true}',
                               headers=headers).status_code == 415
        assert state.get("calls") is None  # nothing reached the model, nothing was logged
        assert client.post("/api/predict", json=RECORD).status_code == 200
        page = client.get("/")
        assert "script-src 'self';" in page.headers["content-security-policy"]
        assert "<script>" not in page.text and '<script src="static/app.js"' in page.text
        assert client.get("/static/app.js").status_code == 200
        assert client.get("/", headers={"Host": "rebound.example"}).status_code == 400
    body = app.openapi()["paths"]["/api/predict"]["post"]["requestBody"]["content"]["application/json"]
    record = body["schema"]["oneOf"][0]["properties"]
    # the known values, for clients and fuzzers; other text goes to the endpoint's input policy
    assert record["device_type"]["anyOf"][0] == {"enum": ["Desktop", "Mobile", "Tablet"]}
