"""The model server quotes a bounded part of what a caller sent: a 100 KB value, field name,
tensor name or content type comes back cut, with how much was left out (issue 18, item 6)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from mloop.http_errors import MAX_ERROR_TEXT
from mloop.serving import create_app
from mloop.serving.runtime.live import static_endpoint
from mloop.serving.runtime.served_model import load_served
from tests.support.serving import train

BIG = "x" * 100_000


@pytest.fixture(scope="module")
def client(tmp_path_factory: pytest.TempPathFactory) -> TestClient:
    path = train(n_estimators=5).save(tmp_path_factory.mktemp("m") / "m")
    served = load_served(Path(path), "ctr", 1, f"file://{path}")
    return TestClient(create_app(None, "ctr", live=static_endpoint("ctr", served)))


@pytest.mark.parametrize(("route", "body", "ctype", "status"), [
    ("/invocations", f"{BIG},ios,3,0.5", "text/csv", 400),  # a value in a numeric column
    ("/invocations", json.dumps({"instances": [{BIG: 1}]}), "application/json", 400),  # a field name
    ("/v1/models/ctr:predict", json.dumps({"instances": [[BIG, "ios", 3, 0.5]]}), "application/json", 400),
    ("/v2/models/ctr/infer", json.dumps({"inputs": [{"name": BIG, "shape": [1], "datatype": "FP64", "data": [1]}]}),
     "application/json", 400),
    ("/invocations", "25,ios,3,0.5", "text/" + BIG, 415),  # the content type
    ("/endpoints/ctr/invocations", f"{BIG},ios,3,0.5", "text/csv", 424),  # SageMaker Runtime's ModelError
])
def test_errors_quote_a_bounded_part_of_the_callers_input(client: TestClient, route: str, body: str, ctype: str,
                                                          status: int) -> None:
    answer = client.post(route, content=body.encode(), headers={"content-type": ctype})
    assert answer.status_code == status
    assert len(answer.content) < 6 * MAX_ERROR_TEXT, len(answer.content)  # message, hint (and SageMaker's copy)
    assert "more characters)" in answer.json()["message"]
