"""The inference app bounds what a caller can make it hold and echo: body size, record count,
the length of values quoted back in errors."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from mloop.config import AppSettings
from mloop.web.inference import create_inference_app
from tests.support.inference_app import RECORD, DownSwitch

LIMIT = 20_000


@pytest.fixture
def app(workspace: Any) -> Iterator[tuple[TestClient, dict[str, Any]]]:
    state: dict[str, Any] = {}
    workspace.settings.serving.max_body_bytes = LIMIT  # the model server's setting, shared
    settings = AppSettings(endpoint="http://model.test", interactions_group="ix", feedback_group="fb",
                           max_records=50)
    with TestClient(create_inference_app(workspace, settings=settings, transport=DownSwitch(state))) as client:
        yield client, state


def test_a_body_over_the_limit_is_413_before_it_is_read_or_parsed(app: tuple[TestClient, dict[str, Any]]) -> None:
    client, state = app
    big = b'{"records": [' + b",".join([b'{"age": 30}'] * 3000) + b"]}"
    declared = client.post("/api/predict", content=big, headers={"content-type": "application/json"})
    assert declared.status_code == 413 and declared.json()["code"] == "payload_too_large"

    def chunks() -> Iterator[bytes]:  # no content-length: the limit applies while reading
        for start in range(0, len(big), 4096):
            yield big[start:start + 4096]

    streamed = client.post("/api/predict", content=chunks(), headers={"content-type": "application/json"})
    assert streamed.status_code == 413
    assert state.get("calls", 0) == 0
    assert client.get("/healthz").status_code == 200


def test_records_are_counted_before_any_is_validated(app: tuple[TestClient, dict[str, Any]]) -> None:
    client, state = app
    r = client.post("/api/predict", json={"records": [{"age": "not a number"}] * 51})
    assert r.status_code == 400
    assert "51 records in one call; at most 50" in r.json()["message"]
    assert state.get("calls", 0) == 0


def test_errors_quote_a_bounded_part_of_the_callers_values(app: tuple[TestClient, dict[str, Any]]) -> None:
    client, _ = app
    huge = "x" * 15_000  # an unknown field named by 15,000 characters: the name is quoted back
    r = client.post("/api/predict", json={**RECORD, huge: 1})
    assert r.status_code == 422, r.text
    message = r.json()["message"]
    assert len(r.content) < 1_000 and "more characters" in message, message
