"""Errors of the serving package: each with a code, an HTTP status and a hint."""

from __future__ import annotations

from typing import Any

from mloop.errors import Conflict, InvalidInput, MloopError, NotFound


class EndpointNotFound(NotFound):
    code = "endpoint_not_found"
    hint = "Create one with `mloop deploy ENDPOINT --model NAME --latest-approved`."


class ModelNotFound(NotFound):
    """The request names a model this endpoint does not serve."""

    code = "model_not_found"


class NotApproved(Conflict):
    """Only Approved model versions deploy."""

    code = "model_not_approved"


class InvalidWeights(InvalidInput):
    code = "invalid_weights"


class NothingToRollBack(Conflict):
    code = "nothing_to_roll_back"
    hint = "See `mloop endpoints history ENDPOINT`."


class NoModelDeployed(MloopError):
    """The endpoint exists (or is awaited) but no model is loaded yet."""

    code = "no_model_deployed"
    http_status = 503


MAX_ERROR_TEXT = 2000  # characters of a message or hint: quoted caller values make no answer huge


def error_body(exc: MloopError) -> dict[str, Any]:
    """`exc.to_dict()` with its message and hint cut to MAX_ERROR_TEXT characters.

    Errors quote what the caller sent (a value, a field name, a content type); a 100 KB value
    came back whole in a 400. Cut here, every route and protocol is bounded at once.
    """
    body = exc.to_dict()
    for key in ("message", "hint"):
        text = body.get(key)
        if isinstance(text, str) and len(text) > MAX_ERROR_TEXT:
            body[key] = f"{text[:MAX_ERROR_TEXT]}... ({len(text) - MAX_ERROR_TEXT} more characters)"
    return body


class UnsupportedMediaType(MloopError):
    code = "unsupported_media_type"
    http_status = 415
    hint = "Send Content-Type: text/csv or application/json."


class PayloadTooLarge(MloopError):
    code = "payload_too_large"
    http_status = 413


class ClientDisconnected(MloopError):
    """The client closed the connection (or was closed for reading too slowly) mid-request."""

    code = "client_disconnected"
    http_status = 400


class ModelError(MloopError):
    """The model itself failed on valid input (counts against the variant's guardrail)."""

    code = "model_error"
    http_status = 500


class PortInUse(MloopError):
    code = "port_in_use"
