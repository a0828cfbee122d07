"""The OpenAPI description says what the server really answers (schemathesis checks it).

FastAPI documents a 422 for validation errors, but mloop answers 400 `{code, message, hint}`; a
route behind a bearer token can also answer 401 and 403, and one with a path parameter 404. This
fills those in once for every route, so no router has to repeat them.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

ERROR_SCHEMA: dict[str, Any] = {"type": "object", "required": ["message"], "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}, "hint": {"type": ["string", "null"]}}}
_WHY = {400: "Invalid parameters.", 401: "No usable bearer token (and anonymous access does not cover this).",
        403: "The token's role is too low.", 404: "Nothing with that name."}


def _error(status: int) -> dict[str, Any]:
    return {"description": _WHY[status], "content": {"application/json": {"schema": ERROR_SCHEMA}}}


def _complete(operation: dict[str, Any], path: str) -> None:
    responses = operation.setdefault("responses", {})
    if "422" in responses:  # mloop answers bad parameters with 400 (errors.py), never 422
        del responses["422"]
        responses.setdefault("400", _error(400))
    if operation.get("security"):
        responses.setdefault("401", _error(401))
        responses.setdefault("403", _error(403))
    if "{" in path:
        responses.setdefault("404", _error(404))


def document_errors(app: FastAPI) -> None:
    """Make `app.openapi()` list the error answers every route can give."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is not None:
            return app.openapi_schema
        schema = build()
        for path, item in schema.get("paths", {}).items():
            for method, operation in item.items():
                if method in ("get", "post", "put", "patch", "delete"):
                    _complete(operation, path)
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]
