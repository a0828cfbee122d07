"""The one HTTP error mapper: every mloop server answers a failure with the same status and body.

The control plane, the dashboard's JSON routes, the inference web app and the model server all
install these handlers (`install`), and the model server's raw front calls `status_and_body`, so
a failure has one `code`, one status (the error class's `http_status`) and one body,
`{code, message, hint}`, whichever server a client talks to. Before, four local mappers answered
the same bad input with 400 on one server and 422 on another.

Below `web/` and `serving/` (both use it); FastAPI is imported only when a server installs it.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mloop.errors import InvalidInput, MloopError

if TYPE_CHECKING:
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse

log = logging.getLogger("mloop.web")

VALIDATION_HINT = "See the OpenAPI description at /docs for the parameters this route takes."
Describe = Callable[[list[Any]], str]
MAX_ERROR_TEXT = 2000  # characters of a message or hint: quoted caller values make no answer huge


def error_body(exc: MloopError) -> dict[str, Any]:
    """`exc.to_dict()` with its message and hint cut to MAX_ERROR_TEXT characters.

    Errors quote what the caller sent (a value, a field name, a content type); a 100 KB value
    came back whole in a 400. Cut here, every server and protocol is bounded at once.
    """
    body = exc.to_dict()
    for key in ("message", "hint"):
        text = body.get(key)
        if isinstance(text, str) and len(text) > MAX_ERROR_TEXT:
            body[key] = f"{text[:MAX_ERROR_TEXT]}... ({len(text) - MAX_ERROR_TEXT} more characters)"
    return body


def status_and_body(exc: MloopError) -> tuple[int, dict[str, Any]]:
    """The status and `{code, message, hint}` body for `exc` (a status outside 4xx/5xx is a 500)."""
    status = exc.http_status if 400 <= exc.http_status < 600 else 500
    return status, error_body(exc)


def mloop_error_response(exc: MloopError, request_id: str = "") -> JSONResponse:
    """`exc` as a JSON response; a 401 asks for a bearer token, a 5xx is logged."""
    from fastapi.responses import JSONResponse

    status, body = status_and_body(exc)
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    if status >= 500:
        log.warning("requestId=%s %s: %s", request_id, exc.code, exc.message)
    return JSONResponse(body, status_code=status, headers=headers)


def describe_validation(errors: list[Any]) -> str:
    """FastAPI's validation errors as one line: `where: what; ...` (at most five)."""
    problems = []
    for err in errors[:5]:
        where = ".".join(str(p) for p in err.get("loc", ()) if p not in ("query", "path", "body"))
        problems.append(f"{where or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(problems) or "invalid request"


def validation_response(errors: list[Any], error: type[MloopError] = InvalidInput,
                        describe: Describe = describe_validation, hint: str = VALIDATION_HINT) -> JSONResponse:
    """A request FastAPI rejected (bad parameters or body) as `error`'s code and status."""
    return mloop_error_response(error(describe(errors), hint=hint))


def route_error_response(request: Request, status: int, detail: Any,
                         headers: dict[str, str] | None = None) -> JSONResponse:
    """Starlette's HTTPException (unknown route, wrong method, ...) in the same body shape."""
    from fastapi.responses import JSONResponse

    if status == 404:
        body = {"code": "not_found", "message": f"no route {request.method} {request.url.path}",
                "hint": "See /docs for the routes of this server."}
    elif status == 405:
        body = {"code": "method_not_allowed", "message": f"{request.method} is not allowed on {request.url.path}"}
    else:
        body = {"code": f"http_{status}", "message": str(detail)}
    return JSONResponse(body, status_code=status, headers=headers)


def install(app: FastAPI, *, request_id: Callable[[Request], str] = lambda _r: "",
            validation_error: type[MloopError] = InvalidInput, describe: Describe = describe_validation,
            validation_hint: str = VALIDATION_HINT) -> None:
    """Register the handlers for `MloopError`, FastAPI's validation errors and HTTPException.

    Args:
        app: the server.
        request_id: how the server names the current request in its log (the control plane's id).
        validation_error: the error a rejected request body is (its code and status): the inference
            app answers a record failing its schema as `InvalidRecord`.
        describe, validation_hint: the message and hint of that error.
    """
    from fastapi.exceptions import RequestValidationError
    from starlette.exceptions import HTTPException

    async def on_mloop(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, MloopError)
        return mloop_error_response(exc, request_id(request))

    async def on_validation(_request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, RequestValidationError)
        return validation_response(list(exc.errors()), validation_error, describe, validation_hint)

    async def on_http(request: Request, exc: Exception) -> JSONResponse:
        assert isinstance(exc, HTTPException)
        return route_error_response(request, exc.status_code, exc.detail, dict(exc.headers or {}))

    app.add_exception_handler(MloopError, on_mloop)
    app.add_exception_handler(RequestValidationError, on_validation)
    app.add_exception_handler(HTTPException, on_http)
