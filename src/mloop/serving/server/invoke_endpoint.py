"""SageMaker Runtime's `InvokeEndpoint`, so boto3 and the AWS CLI work with no change but the URL.

`POST /endpoints/{EndpointName}/invocations` is what `boto3.client("sagemaker-runtime",
endpoint_url=URL).invoke_endpoint(...)` and `aws sagemaker-runtime invoke-endpoint --endpoint-url
URL` send. This module is a thin adapter around the container route (`/invocations`, handled by
`handler.predict`): it reads SageMaker's request headers, checks the endpoint and variant names,
and turns the container's answer into SageMaker's response headers and its JSON error shape
(`x-amzn-ErrorType` + `{"message": ...}`, which botocore raises as `ClientError` with the code and
message). Everything about the body (parsing, validation, limits) stays in the handler.

| request header (boto3 argument)                   | here                                           |
|---------------------------------------------------|------------------------------------------------|
| Content-Type (ContentType)                        | parses the body (CSV or JSON)                  |
| Accept (Accept)                                   | answer format; CSV in and no Accept: CSV out   |
| X-Amzn-SageMaker-Target-Variant (TargetVariant)   | that variant answers (see `target_variant`)    |
| X-Amzn-SageMaker-Inference-Id (InferenceId)       | checked, echoed as X-Mloop-Inference-Id, logged on failure |
| X-Amzn-SageMaker-Custom-Attributes (CustomAttributes) | checked, echoed back (boto3's `CustomAttributes`) |
"""

from __future__ import annotations

import logging
import re
import uuid
from collections.abc import Mapping
from typing import TYPE_CHECKING

import orjson

from mloop.errors import MloopError
from mloop.serving.server import handler
from mloop.serving.server.protocols.sagemaker import effective_accept

if TYPE_CHECKING:
    from mloop.serving.runtime.live import LiveEndpoint

log = logging.getLogger("mloop.serving")

PREFIX, SUFFIX = "/endpoints/", "/invocations"
TARGET = "x-amzn-sagemaker-target-variant"
INFERENCE_ID = "x-amzn-sagemaker-inference-id"
CUSTOM = "x-amzn-sagemaker-custom-attributes"
JSON = b"application/json"
# SageMaker's own limits for these headers (InvokeEndpoint API reference).
_INFERENCE_ID = re.compile(r"^\S[\x20-\x7e]{0,63}$")
_CUSTOM = re.compile(r"^[\x20-\x7e]{0,1024}$")


def endpoint_of(path: str) -> str | None:
    """The EndpointName of a runtime path, or None when `path` is not `/endpoints/{name}/invocations`."""
    if path.startswith(PREFIX) and path.endswith(SUFFIX):
        name = path[len(PREFIX):-len(SUFFIX)]
        if name and "/" not in name:
            return name
    return None


def target_variant(headers: Mapping[str, str]) -> str | None:
    """The variant a caller asked for by name (boto3's `TargetVariant`).

    The one place the SageMaker route reads it. SageMaker leaves targeting to IAM; here it passes
    the same gate as `X-Mloop-Target-Variant` (a deployer's bearer token, which boto3 does not
    send), so an anonymous caller cannot pin a canary through this route either. Behind a gateway
    that authenticates callers, `serving.allow_target_variant = true` lets boto3 target variants.
    """
    return headers.get(TARGET) or None


class Invocation:
    """One InvokeEndpoint call: `request` for the handler, or `refusal` when it never reaches a model."""

    __slots__ = ("custom", "inference_id", "refusal", "request")

    def __init__(self, live: LiveEndpoint, endpoint: str, body: bytes, headers: Mapping[str, str],
                 routing_header: str = "") -> None:
        self.request: handler.Request | None = None
        self.refusal: handler.Response | None = None
        self.inference_id = headers.get(INFERENCE_ID) or None
        self.custom = headers.get(CUSTOM)
        problem = self._problem(live, endpoint, headers)
        if problem is not None:
            self.refusal = _error(400, "ValidationError", problem[1], code=problem[0])
            return
        ctype = headers.get("content-type", "")
        self.request = handler.Request(
            handler.SAGEMAKER, body, ctype, effective_accept(ctype, headers.get("accept", "")),
            headers.get(routing_header) if routing_header else None, target_variant(headers))
        self.request.request_id = self.inference_id  # pairs a shadow's answer with the caller's id

    def _problem(self, live: LiveEndpoint, endpoint: str, headers: Mapping[str, str]) -> tuple[str, str] | None:
        """(mloop code, message) of a request SageMaker would refuse before any model ran."""
        if endpoint != live.name:
            return "endpoint_not_found", (f"Endpoint {endpoint} not found: this server serves endpoint "
                                          f"{live.name}. Start one for it with `mloop serve {endpoint}`.")
        if self.inference_id is not None and not _INFERENCE_ID.match(self.inference_id):
            return "invalid_input", "InferenceId must be 1-64 printable ASCII characters, not starting with a space."
        if self.custom is not None and not _CUSTOM.match(self.custom):
            return "invalid_input", "CustomAttributes must be at most 1024 printable ASCII characters."
        target = target_variant(headers)
        dep = live.current
        if target is not None and dep is not None and dep.router and target not in dep.variants:
            return "variant_not_found", (f"Variant {target} is not a variant of endpoint {endpoint}; "
                                         f"its variants: {', '.join(sorted(dep.variants))}.")
        return None

    def answer(self, response: handler.Response) -> handler.Response:
        """The container's response as SageMaker Runtime returns it."""
        status, body, ctype, headers = response
        variant = next((v for k, v in headers if k == b"x-mloop-variant"), None)
        if status >= 400:
            log.warning("InvokeEndpoint %s failed (%d)%s", variant, status,
                        f" inference id {self.inference_id}" if self.inference_id else "")
            status, body, ctype, extra = _translate(status, body, variant)
            return status, body, ctype, [*headers, *extra]
        out = [*headers, (b"x-amzn-requestid", str(uuid.uuid4()).encode())]
        if variant is not None:
            out.append((b"x-amzn-invoked-production-variant", variant))
        if self.custom is not None:
            out.append((b"x-amzn-sagemaker-custom-attributes", self.custom.encode()))
        if self.inference_id is not None:
            out.append((b"x-mloop-inference-id", self.inference_id.encode()))
        return status, body, ctype, out


def refuse(exc: MloopError) -> handler.Response:
    """An error raised before the handler ran (e.g. the body limit) in SageMaker's error shape."""
    return _translate(*handler.error_response(exc)[:2], None)


def _translate(status: int, body: bytes, variant: bytes | None) -> handler.Response:
    """mloop's `{code, message, hint}` as SageMaker's error: a model's failure is a ModelError (424)."""
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError:
        doc = {"message": body[:300].decode("utf-8", "replace")}
    message = str(doc.get("message", ""))
    if doc.get("hint"):
        message += f" ({doc['hint']})"
    if variant is not None:  # the container answered: SageMaker reports its answer as a ModelError
        kind = "client" if status < 500 else "server"
        text = f'Received {kind} error ({status}) from variant {variant.decode()} with message "{message}".'
        extra = {"input_issues": doc["input_issues"]} if "input_issues" in doc else {}
        return _error(424, "ModelError", text, code=str(doc.get("code") or "model_error"),
                      OriginalStatusCode=status, OriginalMessage=message, **extra)
    code = str(doc.get("code") or "invalid_input")
    if status == 503:
        return _error(503, "ServiceUnavailable", message, code=code)
    return _error(status, "ValidationError", message, code=code)


def _error(status: int, kind: str, message: str, *, code: str, **fields: object) -> handler.Response:
    """SageMaker's error (botocore reads `x-amzn-ErrorType` and `message`), with mloop's `code`."""
    body = orjson.dumps({"code": code, "message": message, **fields})
    headers = [(b"x-amzn-errortype", kind.encode()), (b"x-amzn-requestid", str(uuid.uuid4()).encode())]
    return status, body, JSON, headers
