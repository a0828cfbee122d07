"""Seed 003 end to end with real processes: `mloop run` the course's KFP pipeline, approve the
model it registered, deploy it, `mloop serve` the endpoint and ask it for predictions (httpx)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.cli import clean_env
from tests.support.servers import free_port, port_open, stop_process, wait_until

ROOT = Path(__file__).resolve().parents[3]
PIPELINE = f"{ROOT / 'examples' / 'kfp' / 'housing_pipeline.py'}:pipeline"
pytestmark = pytest.mark.slow


def _env(root: Path, principal: str) -> dict[str, str]:
    env = clean_env()
    env.update(PATH=f"{Path(sys.executable).parent}:{env.get('PATH', '')}", MLOOP_WORKSPACE=str(root),
               MLOOP_PRINCIPAL=principal, MLFLOW_ENABLE_ASYNC_LOGGING="false")
    return env


def _mloop(root: Path, *args: str, principal: str = "dev") -> subprocess.CompletedProcess[str]:
    done = subprocess.run([sys.executable, "-m", "mloop", *args], env=_env(root, principal), cwd=root,
                          capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, f"mloop {' '.join(args)}: {done.stderr}"
    return done


def test_kfp_housing_model_is_approved_deployed_and_answers_predictions(tmp_path: Path) -> None:
    from mloop import tracking
    from mloop.config import init_workspace
    from mloop.recipes.datasets.housing import housing
    from mloop.store import open_workspace

    root = tmp_path / "ws"
    init_workspace(root)
    rows = housing(800, seed=5)
    rows.loc[3, "AveBedrms"] = None  # users' CSVs have holes: Preprocess drops the row
    rows.to_csv(root / "housing.csv", index=False)
    run = json.loads(_mloop(root, "run", PIPELINE, "-p", "data_path=housing.csv", "-p", "n_estimators=10",
                            "-p", "max_depth=6", "-p", "r2_threshold=0.3", "--json").stdout)
    assert run["status"] == "Succeeded", run
    versions = json.loads(_mloop(root, "models", "show", "housing-kfp", "--json").stdout)
    assert [(v["version"], v["status"]) for v in versions] == [(1, "PendingManualApproval")]
    _mloop(root, "models", "approve", "housing-kfp", "1", "-m", "r2 fine", principal="ann")
    _mloop(root, "deploy", "housing-ep", "--model", "housing-kfp", "--version", "1")

    port = free_port()
    log = open(tmp_path / "serve.log", "wb")  # noqa: SIM115 - closed with the process
    server = subprocess.Popen([sys.executable, "-m", "mloop", "serve", "housing-ep", "--port", str(port)],
                              env=_env(root, "dev"), cwd=root, stdout=log, stderr=log)
    try:
        wait_until(lambda: port_open(port) or server.poll() is not None, timeout=120, what="mloop serve")
        assert server.poll() is None, (tmp_path / "serve.log").read_text()
        raw = rows.drop(columns=["MedHouseVal"]).iloc[10:13]  # raw records: derived features computed inside
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            wait_until(lambda: client.get("/ping").status_code == 200, timeout=60, what="model loaded")
            answer = client.post("/invocations", json={"instances": raw.to_dict(orient="records")})
        assert answer.status_code == 200, answer.text
        got = answer.json()["predictions"]
        ws = open_workspace(root)
        try:
            from mloop import registry

            expected = tracking.load_pyfunc(ws, registry.get_version(ws, "housing-kfp", 1).model_uri).predict(raw)
        finally:
            ws.close()
        assert got == pytest.approx([float(x) for x in expected])
    finally:
        stop_process(server, timeout=20)
        log.close()
