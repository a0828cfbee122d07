"""`mloop serve` called with the `kserve` package's own REST client (V1 predict and V2 infer).

The kserve package cannot live in the project venv (its pins conflict with ours), so it is
installed in a separate venv, /work/bench-venvs/kserve (or $MLOOP_KSERVE_PYTHON names its python):

    python3.11 -m venv /work/bench-venvs/kserve && /work/bench-venvs/kserve/bin/pip install kserve xgboost-cpu

and the client runs there as a subprocess against a real `mloop serve` on a free loopback port.
On a fresh machine or CI without that venv the test SKIPS (with that reason); it never installs
anything itself.
"""

from __future__ import annotations

import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.integration.serving.conftest import start_server, stop
from tests.support.serving import FEATURES, publish, train

pytestmark = pytest.mark.slow

KSERVE_PYTHON = Path(os.environ.get("MLOOP_KSERVE_PYTHON", "/work/bench-venvs/kserve/bin/python"))
ROWS = [[25, "ios", 3, 0.5], [61, "web", None, -1.2], [33, "android", 22, 0.1]]

CLIENT = r'''
import asyncio, json, sys
from importlib.metadata import version

from kserve import InferenceRESTClient, InferInput, InferRequest, RESTConfig

args = json.loads(sys.argv[1])
url, name, rows, features = args["url"], args["name"], args["rows"], args["features"]


async def main():
    out = {"kserve_version": version("kserve")}
    v1 = InferenceRESTClient(RESTConfig(protocol="v1", retries=0, timeout=10))
    v2 = InferenceRESTClient(RESTConfig(protocol="v2", retries=0, timeout=10))
    try:
        out["v1_model_ready"] = await v1.is_model_ready(url, name)
        headers = {}
        out["v1"] = await v1.infer(url, {"instances": rows}, model_name=name, response_headers=headers)
        out["v1_headers"] = {k: v for k, v in headers.items() if k.startswith("x-mloop-")}
        out["v2_live"] = await v2.is_server_live(url)
        out["v2_ready"] = await v2.is_server_ready(url)
        out["v2_model_ready"] = await v2.is_model_ready(url, name)
        columns = list(zip(*rows))
        tensors = [
            InferInput("age", [len(rows)], "INT64", list(columns[0])),
            InferInput("device", [len(rows)], "BYTES", list(columns[1])),
            InferInput("hour", [len(rows)], "BYTES", ["" if v is None else str(v) for v in columns[2]]),
            InferInput("score", [len(rows)], "FP64", list(columns[3])),
        ]
        response = await v2.infer(url, InferRequest(name, tensors, request_id="kserve-client-1"), model_name=name)
        out["v2"] = {"id": response.id, "model_name": response.model_name,
                     "outputs": [{"name": o.name, "shape": list(o.shape), "datatype": o.datatype,
                                  "data": o.as_numpy().tolist()} for o in response.outputs]}
        matrix = InferInput("input-0", [len(rows), len(features)], "BYTES",
                            ["" if v is None else str(v) for row in rows for v in row])
        response = await v2.infer(url, InferRequest(name, [matrix]), model_name=name)
        out["v2_matrix"] = response.outputs[0].as_numpy().tolist()
        try:
            await v1.infer(url, {"instances": [[1, 2]]}, model_name=name)
            out["v1_bad_row"] = None
        except Exception as exc:  # httpx.HTTPStatusError from the client
            out["v1_bad_row"] = getattr(getattr(exc, "response", None), "status_code", repr(exc))
    finally:
        await v1.close()
        await v2.close()
    print(json.dumps(out))


asyncio.run(main())
'''


@pytest.fixture(scope="module")
def kserve_served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Any]]:
    """A fresh workspace with endpoint `kserve-ep` serving model `kserve-ctr` v1 (Approved)."""
    if not KSERVE_PYTHON.is_file():
        pytest.skip(f"no kserve venv at {KSERVE_PYTHON} (create it as the module docstring says; "
                    "the project venv must not install kserve)")
    from mloop import serving
    from mloop.config import init_workspace
    from mloop.store import open_workspace

    tmp = tmp_path_factory.mktemp("kserve-client")
    root = tmp / "ws"
    init_workspace(root)
    ws = open_workspace(root)
    model = train(seed=5)
    mv = publish(ws, "kserve-ctr", model, tmp)
    serving.deploy(ws, "kserve-ep", "kserve-ctr", version=mv.version)
    proc, port = start_server(root, "kserve-ep")
    url = f"http://127.0.0.1:{port}"
    try:
        from tests.support.servers import wait_until

        wait_until(lambda: httpx.get(f"{url}/ping", timeout=2).status_code == 200, timeout=60, what="model loaded")
        yield url, model
    finally:
        stop(proc)
        ws.close()


def run_client(url: str, name: str, tmp_path: Path) -> dict[str, Any]:
    script = tmp_path / "kserve_client.py"
    script.write_text(CLIENT)
    args = json.dumps({"url": url, "name": name, "rows": ROWS, "features": FEATURES})
    done = subprocess.run([str(KSERVE_PYTHON), str(script), args], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "VIRTUAL_ENV"))})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("name", ["kserve-ep", "kserve-ctr"])
def test_kserve_rest_client_v1_and_v2(kserve_served: tuple[str, Any], name: str, tmp_path: Path) -> None:
    url, model = kserve_served
    expected = model.predict_records(ROWS).tolist()
    out = run_client(url, name, tmp_path)

    assert out["v1_model_ready"] is True
    assert out["v1"]["predictions"] == pytest.approx(expected, abs=1e-6)
    assert out["v1_headers"]["x-mloop-model"] == "kserve-ctr"
    assert out["v1_headers"]["x-mloop-model-version"] == "1"
    assert out["v1_headers"]["x-mloop-variant"] == "production"
    assert out["v2_live"] is True and out["v2_ready"] is True and out["v2_model_ready"] is True
    v2 = out["v2"]
    assert v2["id"] == "kserve-client-1"
    assert [o["name"] for o in v2["outputs"]] == ["predict"]
    assert v2["outputs"][0]["shape"] == [len(ROWS)] and v2["outputs"][0]["datatype"] == "FP64"
    assert v2["outputs"][0]["data"] == pytest.approx(expected, abs=1e-6)
    assert out["v2_matrix"] == pytest.approx(expected, abs=1e-6)
    assert out["v1_bad_row"] == 400
