"""`mloop server` as a user starts it: a real process on a free port, real HTTP, its log."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import httpx
import pytest

from tests.support.cli import clean_env
from tests.support.servers import free_port, port_open, wait_until

TOKEN = "s3cr3t-deployer-token-93f1"


@pytest.mark.slow
def test_server_answers_and_never_logs_a_token(workspace_dir: Path) -> None:
    (workspace_dir / "mloop.toml").write_text(
        f'[auth]\nanonymous_read = true\n[auth.tokens.{TOKEN}]\nprincipal = "dee"\nrole = "deployer"\n'
    )
    port = free_port()
    env = clean_env()
    log = workspace_dir / "server.log"
    with open(log, "w") as out:
        proc = subprocess.Popen([sys.executable, "-m", "mloop", "server", "--port", str(port)],
                                cwd=workspace_dir, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        wait_until(lambda: port_open(port), timeout=60, what="mloop server")
        base = f"http://127.0.0.1:{port}"
        with httpx.Client(base_url=base, timeout=10) as http:
            assert http.get("/healthz").json()["status"] == "ok"
            assert http.get("/lineage").json() == {"message": "pipeline is required"}
            missing = http.get("/lineage", params={"pipeline": "nope", "includeLatestExec": "true"})
            assert missing.status_code == 404
            assert missing.json() == {"message": "pipeline not found or domain filter mismatched"}
            me = http.get("/api/whoami", headers={"Authorization": f"Bearer {TOKEN}"}).json()
            assert me == {"principal": "dee", "role": "deployer", "authenticated": True}
            bad = http.get("/api/whoami", headers={"Authorization": f"Bearer {TOKEN}x"})
            assert bad.status_code == 401 and TOKEN not in bad.text
            cors = http.get("/healthz", headers={"Origin": "https://front.example"})
            assert "access-control-allow-origin" not in cors.headers  # no CORS unless configured
            for host in ("localhost", f"localhost:{port}", f"127.0.0.1:{port}"):
                assert http.get("/healthz", headers={"Host": host}).status_code == 200
            rebound = http.get("/lineage", params={"pipeline": "x"}, headers={"Host": "attacker.example"})
            assert rebound.status_code == 400 and rebound.json()["code"] == "invalid_host"  # DNS rebinding
            assert http.get("/openapi.json").json()["info"]["title"] == "mloop control plane"
        taken = subprocess.run([sys.executable, "-m", "mloop", "server", "--port", str(port)], cwd=workspace_dir,
                               env=env, capture_output=True, text=True, timeout=60)
        assert taken.returncode == 1 and "Traceback" not in taken.stderr
        assert f"cannot listen on 127.0.0.1:{port}" in taken.stderr and "--port" in taken.stderr
    finally:
        proc.terminate()
        proc.wait(timeout=20)
    text = log.read_text()
    assert "GET /lineage" in text  # the access log is there...
    assert TOKEN not in text  # ...and no token is in it
