"""Error handling for every HTTP surface: one JSON shape, a request id, no stray tracebacks.

- `MloopError` -> `{code, message, hint}` with the error's `http_status`.
- Bad input FastAPI rejects (validation, unknown route, wrong method) -> 4xx in the same shape.
- Anything else -> 500 `{"message": "internal error", "requestId": ...}` (seed 004's body); the
  traceback goes to the server log under that id, never to the client.
Every response carries `X-Request-Id` so a user can quote it.
"""

from __future__ import annotations

import logging
import re
import uuid
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mloop.errors import MloopError

log = logging.getLogger("mloop.web")
REQUEST_ID_HEADER = "X-Request-Id"
_SAFE_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


def request_id(request: Request) -> str:
    """The id of the current request (the caller's `X-Request-Id` when it is safe to echo)."""
    return str(request.scope.get("state", {}).get("request_id", ""))


class RequestContextMiddleware:
    """Assigns the request id and turns an unhandled exception into the seed's 500 body."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        given = dict(scope.get("headers") or []).get(b"x-request-id", b"").decode("latin-1")
        rid = given if _SAFE_ID.match(given) else uuid.uuid4().hex
        scope.setdefault("state", {})["request_id"] = rid
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
                MutableHeaders(scope=message).append(REQUEST_ID_HEADER, rid)
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        except Exception:
            # The path only: query strings and headers may carry things that must not be logged.
            log.exception("internal error requestId=%s %s %s", rid, scope.get("method"), scope.get("path"))
            if started:
                raise
            body = {"message": "internal error", "requestId": rid}
            await JSONResponse(body, status_code=500, headers={REQUEST_ID_HEADER: rid})(scope, receive, send)


def error_response(status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse(body, status_code=status, headers=headers)


async def _mloop_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, MloopError)
    headers = {"WWW-Authenticate": "Bearer"} if exc.http_status == 401 else None
    if exc.http_status >= 500:
        log.warning("requestId=%s %s: %s", request_id(request), exc.code, exc.message)
    return error_response(exc.http_status, exc.to_dict(), headers)


async def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = []
    for err in exc.errors()[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    body = {"code": "invalid_input", "message": "; ".join(problems) or "invalid request",
            "hint": "See the OpenAPI description at /docs for the parameters this route takes."}
    return error_response(400, body)


async def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404:
        body = {"code": "not_found", "message": f"no route {request.method} {request.url.path}",
                "hint": "See /docs for the routes of this server."}
    elif exc.status_code == 405:
        body = {"code": "method_not_allowed",
                "message": f"{request.method} is not allowed on {request.url.path}"}
    else:
        body = {"code": f"http_{exc.status_code}", "message": str(exc.detail)}
    return error_response(exc.status_code, body, dict(exc.headers or {}))


def install(app: FastAPI) -> None:
    """Register the handlers and the request-context middleware on `app`."""
    app.add_exception_handler(MloopError, _mloop_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_middleware(RequestContextMiddleware)
