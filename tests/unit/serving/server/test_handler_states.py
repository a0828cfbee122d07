"""What a caller hears before a model is ready: loading vs nothing deployed."""

from __future__ import annotations

import json

from mloop.serving.runtime.live import LiveEndpoint
from mloop.serving.server.handler import Request, predict


def _answer(live: LiveEndpoint) -> tuple[int, dict]:
    status, body, _content_type, _headers = predict(live, None, Request("sagemaker", b"1,2",
                                                                         content_type="text/csv"))
    return status, json.loads(body)


def test_a_loading_endpoint_says_so_and_an_empty_one_says_deploy() -> None:
    live = LiveEndpoint(ws=None, name="ad-click", loader=None)
    status, body = _answer(live)
    assert status == 503 and "no model deployed yet" in body["message"] and "mloop deploy" in body["hint"]
    live.loading = 4
    status, body = _answer(live)
    assert status == 503 and "still loading its model (generation 4)" in body["message"]
    assert "/ping" in body["hint"]
