"""Pinning a variant with X-Mloop-Target-Variant needs a deployer's token (or the test setting), so an
anonymous caller cannot aim requests at a canary; big valid batches do not count for latency."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest

from mloop.auth import create_token
from mloop.serving import create_app
from mloop.serving.runtime.live import LiveEndpoint, make_deployment, make_variant
from mloop.serving.runtime.served_model import load_served
from mloop.store import open_workspace
from tests.support.serving import train

RECORD = {"age": 31.0, "device": "ios", "hour": 20.0, "score": 0.3}


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Any:
    path = train(n_estimators=5).save(tmp_path_factory.mktemp("model") / "m")
    return load_served(Path(path), "ctr", 1, f"file://{path}")


def _live(served: Any) -> LiveEndpoint:
    live = LiveEndpoint(ws=None, name="ctr", loader=None)
    live.current = make_deployment(1, [make_variant("production", 100, served),
                                       make_variant("canary", 0, served)], "ctr")
    return live


async def _call(app: Any, headers: dict[str, str], rows: int = 1) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1") as client:
        return await client.post("/invocations", json=[RECORD] * rows, headers=headers)


@pytest.mark.parametrize("fast", [True, False])
def test_only_a_deployer_may_pick_the_canary(workspace_dir: Path, served: Any, fast: bool) -> None:
    ws = open_workspace(workspace_dir)
    deployer, _ = create_token(ws, "dee", "deployer")
    viewer, _ = create_token(ws, "vic", "viewer")
    live = _live(served)
    app = create_app(ws, "ctr", live=live, fast=fast, batching=False)
    canary = live.current.variants["canary"]  # type: ignore[union-attr]
    pin = {"X-Mloop-Target-Variant": "canary"}
    anonymous = asyncio.run(_call(app, pin))
    assert anonymous.status_code == 401 and "deployer" in anonymous.json()["message"]
    looker = asyncio.run(_call(app, {**pin, "Authorization": f"Bearer {viewer}"}))
    assert looker.status_code == 403
    forged = asyncio.run(_call(app, {**pin, "Authorization": "Bearer mlp_not-a-token"}))
    assert forged.status_code == 401
    assert canary.window.stats(60).requests == 0  # refused requests never reach the canary's guardrail
    ok = asyncio.run(_call(app, {**pin, "Authorization": f"Bearer {deployer}"}))
    assert ok.status_code == 200 and ok.headers["x-mloop-variant"] == "canary"
    plain = asyncio.run(_call(app, {}))
    assert plain.status_code == 200 and plain.headers["x-mloop-variant"] == "production"
    ws.close()


def test_the_test_setting_lets_anyone_pick(workspace_dir: Path, served: Any) -> None:
    ws = open_workspace(workspace_dir, serving__allow_target_variant=True)
    app = create_app(ws, "ctr", live=_live(served))
    response = asyncio.run(_call(app, {"X-Mloop-Target-Variant": "canary"}))
    assert response.status_code == 200 and response.headers["x-mloop-variant"] == "canary"
    ws.close()


def test_large_batches_do_not_count_towards_latency(workspace_dir: Path, served: Any) -> None:
    ws = open_workspace(workspace_dir, serving__allow_target_variant=True, serving__guardrail_max_rows=10)
    live = _live(served)
    app = create_app(ws, "ctr", live=live, batching=False)
    for rows in (1, 500):
        assert (asyncio.run(_call(app, {"X-Mloop-Target-Variant": "canary"}, rows=rows))).status_code == 200
    stats = live.current.variants["canary"].window.stats(60, max_rows=10)  # type: ignore[union-attr]
    assert (stats.requests, stats.timed) == (2, 1)
    ws.close()
