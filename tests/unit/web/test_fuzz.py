"""Schemathesis fuzzes the control plane's OpenAPI with every response check (`--checks all`): no
input makes it answer 500, every status, header and body is documented (including the lineage
format), schema-valid requests are accepted and invalid ones refused."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from mloop.config import init_workspace
from mloop.store import open_workspace
from mloop.web import create_app
from tests.support.schemathesis_checks import ALL_CHECKS


@pytest.fixture(scope="module")
def fuzz_schema(tmp_path_factory: pytest.TempPathFactory) -> Any:
    root = tmp_path_factory.mktemp("fuzz") / "ws"
    init_workspace(root)
    ws = open_workspace(root, auth__tokens={"fuzz-token": {"principal": "fz", "role": "viewer"}})
    _populate(ws, root)  # also opens (migrates) the database before the fuzzer's first request
    return schemathesis.openapi.from_asgi("/openapi.json", create_app(ws))


def _populate(ws: Any, root: Path) -> None:
    """Give the fuzzer something to find: a recorded run of `small-ctr`."""
    from tests.support.lineage_pipelines import run_small_pipeline

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
