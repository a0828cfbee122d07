"""An A/B test on live traffic with real processes: `mloop serve` + `mloop app`, a shadow promoted
to a 50% canary, simulated users who click the canary's ads more often, and the app's own periodic
look deciding and promoting it — as a new user would drive it, mistakes first."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx

from tests.integration.inference_app.procs import RECORD, spawn, stop
from tests.integration.serving.conftest import cli_env
from tests.support.servers import free_port, wait_until
from tests.support.serving import publish

ENDPOINT = "ad-click"
TRUE_RATE = {"production": 0.05, "canary": 0.25}  # what the simulated users do, by variant


def _mloop(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "mloop", *args], cwd=root, env=cli_env(root),
                          capture_output=True, text=True, timeout=120)


def _refused(result: subprocess.CompletedProcess[str]) -> tuple[str, str]:
    """(error line, hint line) of a command a user got wrong: exit 1, no traceback."""
    assert result.returncode == 1, result.stdout + result.stderr
    assert "Traceback" not in result.stderr
    lines = result.stderr.strip().splitlines()
    hint = next((line for line in lines if line.startswith("hint:")), "")
    return lines[0], hint


def _ad_click_model(seed: int) -> Any:
    from mloop.model_format import TabularModel
    from mloop.recipes.datasets import ad_clicks

    frame = ad_clicks(800, seed=seed).drop(columns=["id", "full_name", "event_time"], errors="ignore")
    return TabularModel.fit(frame, "click", params={"n_estimators": 10, "max_depth": 3})


async def _users(url: str, n: int, seed: int) -> dict[str, int]:
    """`n` users: each gets a prediction, then clicks with its variant's true rate and says so."""
    import random

    rng = random.Random(seed)
    seen: dict[str, int] = {}
    async with httpx.AsyncClient(base_url=url, timeout=30) as client:
        async def user() -> None:
            body = (await client.post("/api/predict", json=RECORD)).raise_for_status().json()
            seen[body["variant"]] = seen.get(body["variant"], 0) + 1
            clicked = rng.random() < TRUE_RATE[body["variant"]]
            (await client.post("/api/feedback", json={"request_id": body["request_id"], "clicked": clicked})
             ).raise_for_status()

        for start in range(0, n, 8):
            await asyncio.gather(*(user() for _ in range(min(8, n - start))))
    return seen


def test_a_canary_that_users_click_more_is_promoted_by_the_experiment(ml_workspace: Any, tmp_path: Path) -> None:
    from mloop import serving
    from mloop.alerts import list_alerts

    ws, root = ml_workspace, ml_workspace.root
    with open(root / "mloop.toml", "a", encoding="utf-8") as toml:
        toml.write("\n[app]\nexperiment_check_s = 0.5\n")  # the app looks twice a second
    publish(ws, "ctr", _ad_click_model(1), tmp_path)
    publish(ws, "ctr", _ad_click_model(2), tmp_path)
    serving.deploy(ws, ENDPOINT, "ctr", version=1)
    server_port, app_port = free_port(), free_port()
    server = spawn([sys.executable, "-m", "mloop", "serve", ENDPOINT, "--port", str(server_port),
                    "--poll-interval", "0.2"], root, server_port, "mloop serve", tmp_path / "serve.log", timeout=90)
    app = None
    try:
        error, hint = _refused(_mloop(root, "experiments", "start", ENDPOINT, "--variants", "production"))
        assert "two different variants" in error and "--variant canary --weight 50" in hint
        shadowed = _mloop(root, "deploy", ENDPOINT, "--model", "ctr", "--version", "2", "--variant", "canary",
                          "--shadow")
        assert shadowed.returncode == 0, shadowed.stderr
        error, hint = _refused(_mloop(root, "experiments", "start", ENDPOINT, "--variants", "production,canary"))
        assert "is a shadow" in error and f"mloop endpoints promote {ENDPOINT} canary --weight 50" in hint
        promoted = _mloop(root, "endpoints", "promote", ENDPOINT, "canary", "--weight", "50")
        assert promoted.returncode == 0, promoted.stderr
        error, hint = _refused(_mloop(root, "experiments", "start", ENDPOINT, "--variants", "production,canary"))
        assert "no feedback to decide on" in error and f"mloop app --endpoint {ENDPOINT}" in hint

        app = spawn([sys.executable, "-m", "mloop", "app", "--endpoint", ENDPOINT, "--port", str(app_port)],
                    root, app_port, "mloop app", tmp_path / "app.log")
        url = f"http://127.0.0.1:{app_port}"
        wait_until(lambda: "canary" in asyncio.run(_users(url, 8, seed=0)), what="the canary to answer")

        error, hint = _refused(_mloop(root, "experiments", "start", ENDPOINT, "--variants", "production,canary",
                                      "--metric", "conversion"))
        assert "unknown metric 'conversion'" in error and "ctr" in hint

        started = _mloop(root, "experiments", "start", ENDPOINT, "--variants", "production,canary",
                         "--min-samples", "150", "--tau", "0.1", "--auto-promote", "--json")  # tuned for a big lift
        assert started.returncode == 0, started.stderr
        exp_id = json.loads(started.stdout)["id"]

        seen = asyncio.run(_users(url, 500, seed=1))
        assert min(seen.values()) > 150, seen

        def promoted() -> bool:  # the app's own periodic look decides
            return serving.history(ws, ENDPOINT, limit=1)[0]["action"] == "experiment"

        wait_until(promoted, timeout=60, what="the app's look to promote the canary")
        last = serving.history(ws, ENDPOINT, limit=1)[0]
        assert last["detail"]["experiment"] == exp_id and last["detail"]["winner"] == "canary"
        assert [(v["name"], v["model_version"], v["weight"]) for v in last["variants"]] == [("production", 2, 100)]
        alert = list_alerts(ws, source="experiments")[0]
        assert alert.detail["experiment"] == exp_id and alert.detail["decision"] == "winner:canary"

        shown = _mloop(root, "experiments", "show", str(exp_id), "--json")
        report = json.loads(shown.stdout)
        assert report["decision"] == "winner:canary" and report["p_value"] <= 0.05
        assert report["interval"][0] > 0
        by_name = {v["name"]: v for v in report["variants"]}
        assert set(by_name) == {"production", "canary"}
        assert all(v["samples"] >= 150 and v["rate"] == v["outcomes"] / v["samples"] for v in by_name.values())
        assert by_name["canary"]["rate"] > by_name["production"]["rate"]
        assert "counted as no click" in report["rule"]
        wait_until(lambda: asyncio.run(_users(url, 8, seed=2)) == {"production": 8},
                   what="the server to serve the promoted version only")
    finally:
        if app is not None:
            stop(app)
        stop(server)
