"""Schemathesis fuzzes the model server's OpenAPI with every response check (`--checks all`): no
input makes it answer a 5xx, every answer is documented, schema-valid requests are accepted and
schema-invalid ones refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from mloop.serving import create_app
from mloop.serving.runtime.live import static_endpoint
from mloop.serving.runtime.served_model import load_served
from tests.support.serving import train
from tests.unit.web.test_fuzz import ALL_CHECKS


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = train(n_estimators=5).save(tmp_path_factory.mktemp("model") / "m")
    served = load_served(Path(path), "ctr", 1, f"file://{path}")
    app = create_app(None, "ctr", live=static_endpoint("ctr", served))
    return schemathesis.openapi.from_asgi("/openapi.json", app)


def test_no_input_makes_a_500(fuzz_schema: Any) -> None:
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    paths = {op.path for op in operations}
    assert {"/invocations", "/v1/models/{name}:predict", "/v2/models/{name}/infer"} <= paths
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            case.call_and_validate(checks=ALL_CHECKS)

        fuzz()
