"""Schemathesis fuzzes the control plane's OpenAPI with every response check (`--checks all`): no
input makes it answer 500, every status, header and body is documented (including the lineage
format), schema-valid requests are accepted and invalid ones refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import checks as st_checks

from mloop.config import init_workspace
from mloop.store import open_workspace
from mloop.web import create_app

# Every check that judges single responses (the others need stateful links between operations).
ALL_CHECKS = [getattr(st_checks, name) for name in (
    "not_a_server_error", "status_code_conformance", "content_type_conformance",
    "response_headers_conformance", "response_schema_conformance", "negative_data_rejection",
    "positive_data_acceptance", "missing_required_header", "unsupported_method",
    "allow_header_conformance", "ignored_auth")]


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("fuzz") / "ws"
    init_workspace(root)
    ws = open_workspace(root, auth__tokens={"fuzz-token": {"principal": "fz", "role": "viewer"}})
    _populate(ws, root)  # also opens (migrates) the database before the fuzzer's first request
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(ws))


def _populate(ws: Any, root: Path) -> None:
    """Give the fuzzer something to find: a recorded run of `small-ctr`."""
    from tests.unit.lineage.pipelines import run_small_pipeline

    run_small_pipeline(ws)


def test_no_input_makes_a_500(fuzz_schema: Any) -> None:
    # Operations are driven one by one (the schemathesis pytest plugin does not load here).
    operations = [result.ok() for result in fuzz_schema.get_all_operations()]
    assert any(op.path == "/lineage" for op in operations)
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=30, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def fuzz(case: Any) -> None:
            case.call_and_validate(checks=ALL_CHECKS)

        fuzz()
