"""Browser-safe defaults on all three servers (issue 18, items 4 and 8): a Host allow-list, no CORS
unless configured, a CSP without inline script on pages, JSON-only posts to the inference app,
anonymous reads only on loopback by default, no query-string messages, redacted access logs."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path
from typing import Any

import httpx
from fastapi.testclient import TestClient

from mloop.store import open_workspace
from mloop.web import create_app
from mloop.web.security import RedactedAccessLog, allowed_hosts, guard_hosts, host_of

VIEWER = "tok-viewer-sec-1"


def _client(app: Any, host: str) -> TestClient:
    return TestClient(app, base_url=f"http://{host}", raise_server_exceptions=False)


def test_the_control_plane_answers_only_to_its_own_host_names(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir)
    app = create_app(ws, bind_host="127.0.0.1")
    for host in ("127.0.0.1:8000", "localhost:8000", "localhost", "[::1]:8000"):
        with _client(app, host) as client:
            assert client.get("/healthz").status_code == 200, host
    for host in ("evil.example", "evil.example:8000", "127.0.0.1.evil.example"):  # DNS rebinding
        with _client(app, host) as client:
            answer = client.get("/lineage?pipeline=x")
            assert answer.status_code == 400 and answer.json()["code"] == "invalid_host", host
    ws.close()
    configured = open_workspace(workspace_dir, server__allowed_hosts=["mloop.internal"])
    with _client(create_app(configured, bind_host="0.0.0.0"), "mloop.internal") as client:
        assert client.get("/healthz").status_code == 200
    with _client(create_app(configured, bind_host="0.0.0.0"), "localhost") as client:
        assert client.get("/healthz").status_code == 400  # the list is the whole list
    configured.close()


def test_allowed_hosts_defaults() -> None:
    assert allowed_hosts([], "127.0.0.1") == {"127.0.0.1", "localhost", "::1"}
    assert allowed_hosts([], "10.0.0.5") == {"10.0.0.5", "127.0.0.1", "localhost", "::1"}
    assert allowed_hosts([], None) is None  # an embedded app (tests, mounts) checks only when configured
    assert allowed_hosts(["mloop.internal"], "0.0.0.0") == {"mloop.internal"}  # the setting overrides
    assert allowed_hosts(["*"], "127.0.0.1") is None
    assert allowed_hosts([" API.Example "], "127.0.0.1") == {"api.example"}
    assert [host_of(h) for h in ("A.example:80", "[::1]:8080", "::1", "x")] == ["a.example", "::1", "::1", "x"]


def _machine() -> tuple[str, list[str]]:
    """This machine's host name and interface addresses, as `hostname -I` reports them."""
    import shutil
    import socket
    import subprocess

    addresses = subprocess.run(["hostname", "-I"], capture_output=True, text=True, check=True).stdout.split() \
        if shutil.which("hostname") else []
    return socket.gethostname(), addresses


def test_a_wildcard_bind_answers_to_this_machines_names_on_all_three_servers(workspace_dir: Path) -> None:
    """0.0.0.0 (containers, a LAN demo): the machine's names and addresses, never a rebound name."""
    from mloop.config import AppSettings
    from mloop.web.inference import create_inference_app

    name, addresses = _machine()
    assert allowed_hosts([], "::") == allowed_hosts([], "0.0.0.0")
    ws = open_workspace(workspace_dir)
    settings = AppSettings(endpoint="http://model.test", log_interactions=False)
    servers = {"control plane": create_app(ws, bind_host="0.0.0.0"),
               "inference app": create_inference_app(ws, settings=settings, bind_host="0.0.0.0"),
               "model server": guard_hosts(_plain, allowed_hosts([], "0.0.0.0"))}
    for label, app in servers.items():
        path = "/static/app.js" if label == "inference app" else "/healthz"
        for host in ("localhost:8080", "127.0.0.1", "[::1]:8080", name, f"{name.upper()}:8080",
                     *[f"[{a}]" if ":" in a else a for a in addresses]):
            client = _client(app, "127.0.0.1")
            assert client.get(path, headers={"Host": host}).status_code == 200, (label, host)
        for host in ("rebound.example", "rebound.example:8080", f"{name}.rebound.example", ""):
            answer = _client(app, "127.0.0.1").get(path, headers={"Host": host})
            assert answer.status_code == 400 and answer.json()["code"] == "invalid_host", (label, host)
    ws.close()


def test_no_cors_headers_unless_origins_are_configured(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir)
    with _client(create_app(ws, bind_host="127.0.0.1"), "127.0.0.1") as client:
        got = client.get("/healthz", headers={"Origin": "https://evil.example"})
        assert got.status_code == 200 and "access-control-allow-origin" not in got.headers
        preflight = client.options("/lineage", headers={"Origin": "https://evil.example",
                                                        "Access-Control-Request-Method": "GET"})
        assert "access-control-allow-origin" not in preflight.headers
    ws.close()
    ws = open_workspace(workspace_dir, server__cors_origins=["https://ops.example"])
    with _client(create_app(ws, bind_host="127.0.0.1"), "127.0.0.1") as client:
        assert client.get("/healthz", headers={"Origin": "https://ops.example"}).headers[
            "access-control-allow-origin"] == "https://ops.example"
        assert "access-control-allow-origin" not in client.get(
            "/healthz", headers={"Origin": "https://evil.example"}).headers
    ws.close()


def test_pages_carry_a_csp_without_inline_script(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir)
    with _client(create_app(ws, bind_host="127.0.0.1"), "127.0.0.1") as client:
        # Every page, planted with payloads, is checked in Chromium (tests/e2e/test_xss.py).
        for path in ("/ui/pipelines", "/ui/runs", "/ui/endpoints", "/ui/releases", "/ui/login", "/ui/runs/nope"):
            answer = client.get(path)
            policy = answer.headers["content-security-policy"]
            assert "script-src 'self';" in policy and "frame-ancestors 'none'" in policy, path
            assert answer.headers["x-content-type-options"] == "nosniff"
            assert "<script>" not in answer.text and "javascript:" not in answer.text, path
        assert "content-security-policy" not in client.get("/healthz").headers  # JSON
    ws.close()


def test_anonymous_reads_are_on_only_while_the_server_listens_on_loopback(workspace_dir: Path) -> None:
    tokens = {VIEWER: {"principal": "vic", "role": "viewer"}}
    for bind, status in (("127.0.0.1", 400), ("10.1.2.3", 401)):
        ws = open_workspace(workspace_dir, auth__tokens=tokens)
        with _client(create_app(ws, bind_host=bind), "localhost") as client:
            assert client.get("/lineage").status_code == status, bind  # 400: pipeline is required
            assert client.get("/lineage", headers={"Authorization": f"Bearer {VIEWER}"}).status_code == 400
        ws.close()
    ws = open_workspace(workspace_dir, auth__anonymous_read=True)
    with _client(create_app(ws, bind_host="10.1.2.3"), "localhost") as client:
        assert client.get("/lineage").status_code == 400  # explicitly allowed
    ws.close()


def test_messages_and_statuses_are_not_query_parameters(workspace_dir: Path, tmp_path: Path) -> None:
    from mloop import registry, serving

    ws = open_workspace(workspace_dir)
    (tmp_path / "model").mkdir()
    mv = registry.register(ws, "q-model", str(tmp_path / "model"), principal="tester")
    registry.approve(ws, "q-model", mv.version, principal="approver", comment="ok")
    serving.deploy(ws, "q-ep", "q-model", version=mv.version)
    with _client(create_app(ws, bind_host="127.0.0.1"), "127.0.0.1") as client:
        for path in ("/ui/releases", "/ui/models", "/ui/endpoints/q-ep", "/ui/models/q-model"):
            answer = client.get(f"{path}?status_code=999&flash=Your+session+expired&kind=error&done=hacked")
            assert answer.status_code == 200, path  # was a dropped connection for 999
            assert "Your session expired" not in answer.text and "hacked" not in answer.text, path
        assert "Weights applied." in client.get("/ui/endpoints/q-ep?done=weights").text
        assert "Version approved." in client.get("/ui/models/q-model?done=approved").text
    ws.close()


async def _plain(scope: Any, receive: Any, send: Any) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"text/html")]})
    await send({"type": "http.response.body", "body": b"<p>ok</p>"})


def test_the_model_server_front_checks_the_host() -> None:
    app = guard_hosts(_plain, allowed_hosts([], "127.0.0.1"))

    async def main() -> None:
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8080") as c:
            ok = await c.get("/ping")
            assert ok.status_code == 200 and "script-src 'self'" in ok.headers["content-security-policy"]
            assert (await c.get("/ping", headers={"Host": "rebound.example"})).status_code == 400

    asyncio.run(main())


def test_the_access_log_keeps_no_query_string() -> None:
    record = logging.LogRecord("uvicorn.access", logging.INFO, __file__, 1, '%s - "%s %s HTTP/%s" %d',
                               ("127.0.0.1:5", "GET", "/lineage?token=s3cret&pipeline=x", "1.1", 200), None)
    RedactedAccessLog().filter(record)
    assert "s3cret" not in record.getMessage() and "/lineage?[redacted]" in record.getMessage()


def test_the_control_plane_refuses_a_body_over_its_limit_before_parsing_it(workspace_dir: Path) -> None:
    ws = open_workspace(workspace_dir, server__max_body_bytes=10_000)
    with _client(create_app(ws, bind_host="127.0.0.1"), "127.0.0.1") as client:
        form = {"token": "x" * 20_000, "csrf": "y"}
        declared = client.post("/ui/login", data=form)
        assert declared.status_code == 413 and declared.json()["code"] == "payload_too_large"

        def chunks() -> Any:  # no Content-Length: counted while it streams in
            yield b"token=" + b"x" * 6000
            yield b"x" * 6000

        streamed = client.post("/ui/login", content=chunks(),
                               headers={"content-type": "application/x-www-form-urlencoded"})
        assert streamed.status_code == 413 and streamed.json()["code"] == "payload_too_large"
        assert client.post("/ui/login", data={"token": "mlp_short", "csrf": "y"}).status_code == 403  # CSRF
        assert client.get("/healthz").status_code == 200
    ws.close()
