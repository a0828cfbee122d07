"""Seed 002's inference app, configured as on SageMaker: only its three environment variables.

`SAGEMAKER_ENDPOINT_NAME`, `MODEL_PACKAGE_GROUP` and `USER_INTERACTION_FG_NAME` set the app; it
reaches the endpoint the way boto3 does (`/endpoints/{name}/invocations`, the request id as the
InferenceId), logs to that group, and the group cannot be deleted from under it.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from mloop import serving
from tests.integration.inference_app.conftest import logged
from tests.integration.inference_app.procs import MLOOP, RECORD, env, stop
from tests.support.servers import free_port, port_open, wait_until
from tests.support.serving import publish

pytestmark = pytest.mark.slow

SEED_ENV = {"SAGEMAKER_ENDPOINT_NAME": "my-mlops-prod-endpoint", "MODEL_PACKAGE_GROUP": "my-mlops-prod-pkg",
            "USER_INTERACTION_FG_NAME": "my-mlops-user-interactions-v1"}


def _spawn(args: list[str], root: Path, extra: dict[str, str], name: str) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    log = open(root / f"{name}.log", "ab")  # noqa: SIM115 - the process owns it until it exits
    proc = subprocess.Popen([MLOOP, *args, "--port", str(port)], cwd=root, env={**env(), **extra},
                            stdout=log, stderr=subprocess.STDOUT)
    wait_until(lambda: port_open(port) or proc.poll() is not None, timeout=120, what=name)
    assert proc.poll() is None, (root / f"{name}.log").read_text()[-2000:]
    return proc, port


def test_app_from_seed_environment_calls_the_runtime_route(tmp_path: Path) -> None:
    from mloop.config import init_workspace
    from mloop.model_format import TabularModel
    from mloop.store import open_workspace
    from tests.integration.inference_app.procs import train_model_dir

    root = tmp_path / "ws"
    init_workspace(root)
    ws = open_workspace(root)
    model = TabularModel.load(train_model_dir(tmp_path / "model", rows=800))
    publish(ws, "my-mlops-prod-pkg", model, tmp_path)
    serving.deploy(ws, "my-mlops-prod-endpoint", "my-mlops-prod-pkg", latest_approved=True)
    server, server_port = _spawn(["serve", "my-mlops-prod-endpoint", "--poll-interval", "0.2"], root, {}, "serve")
    app = None
    try:
        wait_until(lambda: httpx.get(f"http://127.0.0.1:{server_port}/ping").status_code == 200, timeout=120,
                   what="model loaded")
        app, app_port = _spawn(["app"], root, SEED_ENV, "app")
        with httpx.Client(base_url=f"http://127.0.0.1:{app_port}", timeout=30) as client:
            one = client.post("/api/predict", json=RECORD)
        assert one.status_code == 200, one.text
        body = one.json()
        assert body["variant"] == "production" and body["model"] == "my-mlops-prod-pkg" and body["model_version"] == 1
        rows = logged(root, "my-mlops-user-interactions-v1")
        assert body["request_id"] in set(rows["request_id"])
        refused = subprocess.run([sys.executable, "-m", "mloop", "features", "delete",
                                  "my-mlops-user-interactions-v1", "--purge", "--yes"],
                                 cwd=root, env={**env(), **SEED_ENV}, capture_output=True, text=True, timeout=120)
        assert refused.returncode == 1 and "app setting app.interactions_group" in refused.stderr
        assert "Traceback" not in refused.stderr
    finally:
        if app is not None:
            stop(app)
        stop(server)
        ws.close()
