"""Error handling for every HTTP surface: one JSON shape, a request id, no stray tracebacks.

- `MloopError` -> `{code, message, hint}` with the error's `http_status`, and bad input FastAPI
  rejects (validation, unknown route, wrong method) -> 4xx in the same shape: both by
  `mloop.http_errors`, the mapper every mloop server shares.
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
from fastapi.responses import JSONResponse
from starlette.datastructures import MutableHeaders
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from mloop import http_errors

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


def install(app: FastAPI, **mapper: Any) -> None:
    """Register the one error mapper (`mloop.http_errors.install`, given `mapper`'s options) and
    the request-context middleware."""
    http_errors.install(app, request_id=request_id, **mapper)
    app.add_middleware(RequestContextMiddleware)
