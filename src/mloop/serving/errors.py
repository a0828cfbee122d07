"""Errors of the serving package: each with a code, an HTTP status and a hint."""

from __future__ import annotations

from mloop.errors import Conflict, InvalidInput, MloopError, NotFound


class EndpointNotFound(NotFound):
    code = "endpoint_not_found"
    hint = "Create one with `mloop deploy ENDPOINT --model NAME --latest-approved`."


class ModelNotServed(NotFound):
    """The request names a model (or version) this endpoint does not serve; the registry's
    `ModelNotFound` (`model_not_found`) means no such model is registered at all."""

    code = "model_not_served"


class NotApproved(Conflict):
    """Only Approved model versions deploy."""

    code = "model_not_approved"


class InvalidWeights(InvalidInput):
    """Variant weights are outside 0-100, do not sum to 100, or there is no variant."""

    code = "invalid_weights"


class NothingToRollBack(Conflict):
    code = "nothing_to_roll_back"
    hint = "See `mloop endpoints history ENDPOINT`."


class NoModelDeployed(MloopError):
    """The endpoint exists (or is awaited) but no model is loaded yet."""

    code = "no_model_deployed"
    http_status = 503


class UnsupportedMediaType(MloopError):
    code = "unsupported_media_type"
    http_status = 415
    hint = "Send Content-Type: text/csv or application/json."


class PayloadTooLarge(MloopError):
    """The request body is larger than serving.max_body_bytes."""

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
    """Another process listens on the port the server was asked to bind."""

    code = "port_in_use"
