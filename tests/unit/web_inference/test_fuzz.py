"""Schemathesis fuzzes the inference app's OpenAPI with every response check (`--checks all`):
the category enums let it reach the success path, and every refusal it meets is documented."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from mloop.config import AppSettings
from mloop.web.inference import create_inference_app
from tests.support.inference_app import DownSwitch
from tests.support.schemathesis_checks import ALL_CHECKS
from tests.support.servers import free_port, port_open, wait_until


@pytest.fixture
def live_app(workspace: Any) -> Iterator[str]:
    """The app under uvicorn (its interaction writer lives on the server's loop, as in production)."""
    import uvicorn

    settings = AppSettings(endpoint="http://model.test", interactions_group="ix", feedback_group="fb",
                           max_records=50)
    app = create_inference_app(workspace, settings=settings, transport=DownSwitch({}), bind_host="127.0.0.1")
    port = free_port()
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    wait_until(lambda: port_open(port), timeout=30, what="inference app")
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join(timeout=20)


def test_every_answer_is_documented_and_valid_records_are_accepted(live_app: str) -> None:
    schema = schemathesis.openapi.from_url(f"{live_app}/openapi.json")
    operations = [result.ok() for result in schema.get_all_operations()]
    assert {op.path for op in operations} == {"/healthz", "/api/predict", "/api/feedback"}
    accepted = []
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            response = case.call_and_validate(checks=ALL_CHECKS)
            accepted.append((case.path, response.status_code))

        fuzz()
    assert ("/api/predict", 200) in accepted  # the enums lead the fuzzer to real predictions
