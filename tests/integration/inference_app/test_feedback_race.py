"""Two app processes sharing a workspace: a double click lands once (200 + 409), never twice."""

from __future__ import annotations

import asyncio
from pathlib import Path

import httpx
import pytest

from tests.support.app_processes import logged, start_app, start_stub, stop
from tests.support.inference_app import RECORD

pytestmark = pytest.mark.slow


def test_simultaneous_feedback_in_two_processes_is_recorded_once(workspace_dir: Path, tmp_path: Path) -> None:
    stub, endpoint = start_stub(tmp_path)
    first, url_a = start_app(workspace_dir, endpoint)
    second, url_b = start_app(workspace_dir, endpoint)
    try:
        ids = [p["request_id"] for p in httpx.post(f"{url_a}/api/predict", json={"records": [RECORD] * 10},
                                                   timeout=20).json()["predictions"]]

        async def race() -> list[int]:
            async with httpx.AsyncClient(timeout=20) as client:
                calls = [client.post(f"{url}/api/feedback", json={"request_id": rid, "clicked": url == url_a})
                         for rid in ids for url in (url_a, url_b)]
                return [r.status_code for r in await asyncio.gather(*calls)]

        codes = asyncio.run(race())
    finally:
        stop(first)
        stop(second)
        stop(stub)
    assert sorted(codes) == [200] * 10 + [409] * 10
    feedback = logged(workspace_dir, "user-feedback")
    assert sorted(feedback["request_id"]) == sorted(ids)
