"""An acknowledged interaction survives kill -9 of the app (issue 8: nothing lost)."""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from tests.support.app_processes import start_app, start_stub, stop
from tests.support.inference_app import RECORD

pytestmark = pytest.mark.slow


async def _fire(url: str, acknowledged: list[str], stop_after: int) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        async def worker() -> None:
            while len(acknowledged) < stop_after:
                try:
                    res = await client.post("/api/predict", json={"records": [RECORD, {**RECORD, "age": 50}]})
                except httpx.HTTPError:
                    return  # the app is gone
                if res.status_code == 200:
                    acknowledged.extend(p["request_id"] for p in res.json()["predictions"])

        await asyncio.gather(*(worker() for _ in range(8)))


def test_acknowledged_interactions_survive_kill_9(workspace_dir: Path, tmp_path: Path) -> None:
    from mloop.features import extract
    from mloop.store import open_workspace

    stub, endpoint = start_stub(tmp_path)
    app, url = start_app(workspace_dir, endpoint)
    acknowledged: list[str] = []
    try:
        async def scenario() -> None:
            load = asyncio.create_task(_fire(url, acknowledged, stop_after=10**9))
            while len(acknowledged) < 300:  # mid-flight: writers busy, requests in the air
                await asyncio.sleep(0.01)
            app.send_signal(signal.SIGKILL)
            await load

        asyncio.run(scenario())
        app.wait(10)
    finally:
        stop(app)
        stop(stub)
    ws = open_workspace(workspace_dir)
    try:
        logged = set(extract(ws, "user-interactions")["request_id"])
    finally:
        ws.close()
    lost = [rid for rid in acknowledged if rid not in logged]
    assert len(acknowledged) >= 300
    assert lost == [], f"{len(lost)} acknowledged interactions lost of {len(acknowledged)}"
