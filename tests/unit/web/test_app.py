"""The control-plane app: auth, error bodies, request ids, CORS, OpenAPI, extra routers."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi import APIRouter, Depends
from fastapi.testclient import TestClient

from mloop.errors import Conflict
from mloop.store import Workspace, open_workspace
from mloop.web import Principal, create_app, require_role

ADMIN_TOKEN = "tok-admin-7f3a9c"
VIEWER_TOKEN = "tok-viewer-11b2"
APPROVER_TOKEN = "tok-approver-c0ffee"


def _extra_router() -> APIRouter:
    router = APIRouter()

    @router.post("/api/test/approve")
    def approve(who: Principal = Depends(require_role("approver"))) -> dict[str, Any]:
        return {"by": who.name, "role": who.role}

    @router.get("/api/test/boom")
    def boom() -> None:
        raise RuntimeError("kaboom with secret detail")

    @router.get("/api/test/conflict")
    def conflict() -> None:
        raise Conflict("version 3 is already approved", hint="Nothing to do.")

    return router


def _ws(workspace_dir: Any, **overrides: Any) -> Workspace:
    tokens = {
        ADMIN_TOKEN: {"principal": "ada", "role": "admin"},
        VIEWER_TOKEN: {"principal": "vic", "role": "viewer"},
        APPROVER_TOKEN: {"principal": "amy", "role": "approver"},
    }
    return open_workspace(workspace_dir, auth__tokens=tokens, **overrides)


@pytest.fixture
def client(workspace_dir: Any) -> Iterator[TestClient]:
    ws = _ws(workspace_dir)
    with TestClient(create_app(ws, extra_routers=[_extra_router()]), raise_server_exceptions=False) as c:
        yield c
    ws.close()


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_healthz_and_openapi(client: TestClient) -> None:
    health = client.get("/healthz")
    assert health.status_code == 200 and health.json()["database"] == "ok"
    spec = client.get("/openapi.json").json()
    assert "/lineage" in spec["paths"] and "/api/test/approve" in spec["paths"]
    assert "HTTPBearer" in spec["components"]["securitySchemes"]


def test_roles_are_ordered_and_mutations_need_a_token(client: TestClient) -> None:
    assert client.post("/api/test/approve").status_code == 401
    assert client.post("/api/test/approve").headers["www-authenticate"] == "Bearer"
    denied = client.post("/api/test/approve", headers=bearer(VIEWER_TOKEN))
    assert denied.status_code == 403
    assert denied.json()["code"] == "permission_denied" and "approver" in denied.json()["message"]
    assert client.post("/api/test/approve", headers=bearer(APPROVER_TOKEN)).json() == {"by": "amy", "role": "approver"}
    assert client.post("/api/test/approve", headers=bearer(ADMIN_TOKEN)).json()["by"] == "ada"
    bad = client.post("/api/test/approve", headers=bearer("nope"))
    assert bad.status_code == 401 and bad.json()["code"] == "unauthenticated"
    assert client.post("/api/test/approve", headers={"Authorization": "Basic abc"}).status_code == 401


def test_anonymous_read_is_a_setting(client: TestClient, workspace_dir: Any) -> None:
    assert client.get("/api/whoami").json() == {"principal": "anonymous", "role": "viewer", "authenticated": False}
    assert client.get("/api/whoami", headers=bearer(VIEWER_TOKEN)).json()["principal"] == "vic"
    ws = _ws(workspace_dir, auth__anonymous_read=False)
    with TestClient(create_app(ws)) as closed:
        assert closed.get("/api/whoami").status_code == 401
        assert closed.get("/lineage?pipeline=x").status_code == 401
        assert closed.get("/healthz").status_code == 200  # health stays open for probes
        assert closed.get("/api/whoami", headers=bearer(VIEWER_TOKEN)).status_code == 200
    ws.close()


def test_errors_are_json_with_code_message_hint(client: TestClient) -> None:
    conflict = client.get("/api/test/conflict")
    assert conflict.status_code == 409
    assert conflict.json() == {"code": "conflict", "message": "version 3 is already approved", "hint": "Nothing to do."}
    missing = client.get("/no/such/route")
    assert missing.status_code == 404 and missing.json()["code"] == "not_found"
    wrong = client.delete("/healthz")
    assert wrong.status_code == 405 and "message" in wrong.json()


def test_internal_error_has_request_id_and_traceback_only_in_log(
    client: TestClient, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger="mloop.web"):
        response = client.get("/api/test/boom", headers=bearer(ADMIN_TOKEN))
    assert response.status_code == 500
    body = response.json()
    assert set(body) == {"message", "requestId"} and body["message"] == "internal error"
    assert response.headers["x-request-id"] == body["requestId"]
    assert "kaboom" not in response.text
    logged = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    assert body["requestId"] in logged and "kaboom" in caplog.text
    assert ADMIN_TOKEN not in caplog.text


def test_request_id_is_echoed_when_safe(client: TestClient) -> None:
    assert client.get("/healthz", headers={"X-Request-Id": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Request-Id": "bad id\nwith newline"}).headers["x-request-id"]
    assert len(generated) == 32


def test_cors_only_for_configured_origins(client: TestClient, workspace_dir: Any) -> None:
    got = client.get("/healthz", headers={"Origin": "https://ui.example"})
    assert "access-control-allow-origin" not in got.headers  # was "*" for every origin
    ws = _ws(workspace_dir, server__cors_origins=["https://ops.example"])
    with TestClient(create_app(ws)) as strict:
        assert "access-control-allow-origin" not in strict.get("/healthz", headers={"Origin": "https://x.example"}).headers
        allowed = strict.get("/healthz", headers={"Origin": "https://ops.example"})
        assert allowed.headers["access-control-allow-origin"] == "https://ops.example"
        preflight = strict.options("/lineage", headers={
            "Origin": "https://ops.example", "Access-Control-Request-Method": "GET"})
        assert preflight.status_code == 200
        post = strict.options("/api/test/approve", headers={
            "Origin": "https://ops.example", "Access-Control-Request-Method": "POST"})
        assert post.status_code == 400  # only GET is allowed cross-origin by default
    ws.close()


def test_unknown_role_is_rejected_when_declaring_a_route() -> None:
    from mloop.errors import InvalidInput

    with pytest.raises(InvalidInput):
        require_role("superuser")
