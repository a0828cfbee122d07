"""Real processes for the inference app tests: `mloop app`, a fixed-answer endpoint stub."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from tests.support.servers import free_port, port_open, stop_process, wait_until

ROOT = Path(__file__).resolve().parents[3]
MLOOP = str(ROOT / ".venv" / "bin" / "mloop")
RECORD = {"age": 31, "gender": "Female", "device_type": "Mobile", "ad_position": "Top",
          "browsing_history": "Shopping", "time_of_day": "Morning"}

# A minimal ASGI model endpoint speaking the SageMaker JSON contract (for tests where the model
# does not matter, e.g. kill -9 durability); the real `mloop serve` is used where it does.
STUB = '''
import orjson
async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    body = b""
    while True:
        msg = await receive(); body += msg.get("body", b"")
        if not msg.get("more_body"): break
    n = len(orjson.loads(body)["instances"]) if body else 0
    await send({"type": "http.response.start", "status": 200, "headers": [
        (b"content-type", b"application/json"), (b"x-mloop-model", b"stub"),
        (b"x-mloop-model-version", b"1"), (b"x-mloop-variant", b"production")]})
    await send({"type": "http.response.body", "body": orjson.dumps({"predictions": [0.25] * n})})
'''


def env() -> dict[str, str]:
    e = {k: v for k, v in os.environ.items() if not k.startswith("MLOOP_") or k.startswith("MLOOP_TEST_")}
    e["PATH"] = f"{ROOT / '.venv' / 'bin'}:{e.get('PATH', '')}"
    e["MLOOP_PRINCIPAL"] = "tester"
    return e


def spawn(cmd: list[str], cwd: Path, port: int, what: str, log: Path, timeout: float = 60) -> subprocess.Popen[bytes]:
    fh = open(log, "ab")  # noqa: SIM115 - the process owns it until it exits
    proc = subprocess.Popen(cmd, cwd=cwd, env=env(), stdout=fh, stderr=subprocess.STDOUT)

    def up() -> bool:
        if proc.poll() is not None:
            raise RuntimeError(f"{what} exited with {proc.returncode}: {log.read_text()[-2000:]}")
        return port_open(port)

    wait_until(up, timeout=timeout, what=what)
    return proc


def stop(proc: subprocess.Popen[bytes]) -> None:
    stop_process(proc)


def start_stub(tmp: Path) -> tuple[subprocess.Popen[bytes], str]:
    (tmp / "stub_endpoint.py").write_text(STUB)
    port = free_port()
    proc = spawn([sys.executable, "-m", "uvicorn", "stub_endpoint:app", "--port", str(port), "--log-level",
                  "warning", "--app-dir", str(tmp)], tmp, port, "stub endpoint", tmp / "stub.log")
    return proc, f"http://127.0.0.1:{port}"


def start_app(ws: Path, endpoint: str, *extra: str) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    proc = spawn([MLOOP, "app", "--endpoint", endpoint, "--port", str(port), *extra], ws, port,
                 "mloop app", ws / "app.log")
    return proc, f"http://127.0.0.1:{port}"


def train_model_dir(target: Path, rows: int = 2000) -> Path:
    """A small real ad-click model (XGBoost, preprocessing inside) saved to `target`."""
    from mloop.model_format import TabularModel
    from mloop.recipes.datasets import ad_clicks

    frame = ad_clicks(rows, seed=1).drop(columns=["id", "full_name", "event_time"], errors="ignore")
    model = TabularModel.fit(frame, "click", params={"n_estimators": 20, "max_depth": 3})
    return model.save(target)


def start_model_server(model_dir: Path, cwd: Path) -> tuple[subprocess.Popen[bytes], str]:
    """`mloop serve --model-dir` as a real process on a free port."""
    port = free_port()
    proc = spawn([MLOOP, "serve", "--model-dir", str(model_dir), "--port", str(port)], cwd, port,
                 "mloop serve", cwd / "serve.log", timeout=90)
    return proc, f"http://127.0.0.1:{port}"
