"""The prediction path shared by every protocol: route, parse, predict, render, record.

Framework-free and synchronous: the raw ASGI front and the FastAPI routes both call `predict`,
so the documented API (OpenAPI, fuzzed by schemathesis) and the fast path behave the same.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError
from mloop.http_errors import status_and_body
from mloop.serving.errors import ModelError, ModelNotServed, NoModelDeployed
from mloop.serving.runtime.shadow_tap import copy_for_shadows
from mloop.serving.server import input_policy
from mloop.serving.server.input_check import Finding, inspect
from mloop.serving.server.protocols import SAGEMAKER, V1, parse, render_invocation, render_v1, render_v2
from mloop.serving.server.protocols import V2 as V2  # the protocol names, as callers of the handler know them
from mloop.serving.server.protocols.common import dumps

if TYPE_CHECKING:
    from collections import Counter

    from mloop.serving.runtime.live import Deployment, LiveEndpoint, LiveVariant
    from mloop.serving.runtime.served_model import ServedModel
    from mloop.serving.server.batching import Batcher
    from mloop.serving.server.metrics import ServerMetrics

log = logging.getLogger("mloop.serving")

JSON = b"application/json"

# Rows of a request whose body did not parse: its latency says nothing about the model.
UNTIMED = 1 << 30

Response = tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]


class Request:
    """What the handler needs from an HTTP request (headers already lower-cased)."""

    __slots__ = ("accept", "authorization", "body", "content_type", "model", "protocol", "request_id", "routing_key",
                 "shadow_copy", "target", "version")

    def __init__(self, protocol: str, body: bytes, content_type: str = "", accept: str = "",
                 routing_key: str | None = None, target: str | None = None,
                 model: str | None = None, version: str | None = None,
                 authorization: str | None = None) -> None:
        self.protocol = protocol
        self.body = body
        self.content_type = content_type
        self.accept = accept
        self.routing_key = routing_key
        self.target = target
        self.model = model
        self.version = version
        self.authorization = authorization
        self.request_id: str | None = None  # the caller's id for this request (SageMaker's InferenceId)
        #: set when the endpoint has shadows: what to hand them once the answer was sent
        self.shadow_copy: Any = None


def error_response(exc: MloopError, headers: list[tuple[bytes, bytes]] | None = None) -> Response:
    status, body = status_and_body(exc)  # the mapper every mloop server shares (messages bounded)
    return status, dumps(body), JSON, headers or []


def predict(live: LiveEndpoint, metrics: ServerMetrics | None, req: Request) -> Response:
    """Answer one prediction request; never raises (errors become JSON responses)."""
    started = time.perf_counter()
    dep = live.current
    try:
        variant = _choose(live, dep, req)
    except MloopError as exc:
        return error_response(exc)
    findings: list[Finding] = []
    count = UNTIMED
    try:
        rows, extra = parse(req, variant.model)
        count = len(rows)
        findings = _inspect(variant, dep, rows)
        _enforce(variant, dep, findings)
        predictions = variant.model.predict(rows)
        response = _render(variant, req, predictions, extra, findings)
        if dep is not None and dep.shadows:
            req.shadow_copy = copy_for_shadows(dep, variant, req, predictions, started, extra)
    except Exception as exc:  # noqa: BLE001 — a model may raise anything: it becomes an error response (ModelError) and counts for the guardrail
        response = _failure(variant, exc)
    _record(variant, metrics, response[0], started, findings, count)
    return response


async def predict_batched(live: LiveEndpoint, metrics: ServerMetrics | None, req: Request,
                          batcher: Batcher) -> Response:
    """`predict`, with the model call shared with the other requests of this loop iteration."""
    started = time.perf_counter()
    dep = live.current
    try:
        variant = _choose(live, dep, req)
    except MloopError as exc:
        return error_response(exc)
    findings: list[Finding] = []
    count = UNTIMED
    try:
        rows, extra = parse(req, variant.model)
        count = len(rows)
        findings = _inspect(variant, dep, rows)
        _enforce(variant, dep, findings)
        predictions = await batcher.predict(variant.model, rows)
        response = _render(variant, req, predictions, extra, findings)
        if dep is not None and dep.shadows:
            req.shadow_copy = copy_for_shadows(dep, variant, req, predictions, started, extra)
    except Exception as exc:  # noqa: BLE001 — a model may raise anything: it becomes an error response (ModelError) and counts for the guardrail
        response = _failure(variant, exc)
    _record(variant, metrics, response[0], started, findings, count)
    return response


def _inspect(variant: LiveVariant, dep: Deployment | None, rows: list[Any]) -> list[Finding]:
    """What the model never saw in `rows` (NaN, infinities, misshapen rows raise InvalidInput)."""
    profile = variant.model.inputs
    return [] if profile is None else inspect(profile, rows)


def _enforce(variant: LiveVariant, dep: Deployment | None, findings: list[Finding]) -> None:
    """Under the `reject` policy, the 400 that names what the model never saw."""
    if findings and dep is not None and dep.input_policy == "reject":
        assert variant.model.inputs is not None
        raise input_policy.rejection(variant.model.inputs, findings)


def _failure(variant: LiveVariant, exc: Exception) -> Response:
    if isinstance(exc, input_policy.InputRejected):
        return error_response(exc, [*variant.headers, input_policy.header(exc.findings)])
    if isinstance(exc, MloopError):
        return error_response(exc, variant.headers)
    # the model itself failed on valid input: a 500 that counts against the variant's guardrail
    _log_failure(variant, exc)
    err = ModelError(f"model {variant.model.name} v{variant.version} (variant '{variant.name}') "
                     f"failed: {type(exc).__name__}: {exc}")
    return error_response(err, variant.headers)


def _record(variant: LiveVariant, metrics: ServerMetrics | None, code: int, started: float,
            findings: list[Finding], rows: int) -> None:
    record(variant, metrics, code, started, input_policy.counts(findings) if findings else None, rows)


def record(variant: LiveVariant, metrics: ServerMetrics | None, code: int, started: float,
           issues: Counter[tuple[str, str]] | None, rows: int) -> None:
    """Count one answered request: the variant's guardrail window and the server's metrics."""
    elapsed = time.perf_counter() - started
    variant.window.add(time.monotonic(), elapsed, code >= 500, rows)
    if metrics is not None:
        metrics.observe(variant.name, variant.model.name, variant.version, code, elapsed)
        if issues:
            metrics.observe_inputs(variant.name, variant.model.name, variant.version, issues)


_logged: set[int] = set()


def _log_failure(variant: LiveVariant, exc: Exception) -> None:
    """The first failure of a loaded model with its traceback; later ones in one line."""
    msg = "variant %s (%s v%s) failed: %s"
    args = (variant.name, variant.model.name, variant.version, exc)
    if id(variant.model) in _logged:
        log.warning(msg, *args)
        return
    _logged.add(id(variant.model))
    log.error(msg, *args, exc_info=exc)


def choose(live: LiveEndpoint, dep: Deployment | None, req: Request) -> LiveVariant:
    """The variant that answers `req` (routing, version and target checks).

    Raises:
        MloopError: nothing deployed, an unknown model or version, a target without the right token.
    """
    return _choose(live, dep, req)


def _choose(live: LiveEndpoint, dep: Deployment | None, req: Request) -> LiveVariant:
    if (dep is None or not dep.router) and live.loading:
        raise NoModelDeployed(f"endpoint '{live.name}' is still loading its model (generation {live.loading})",
                              hint="Retry in a moment; GET /ping answers 200 once a model is loaded.")
    if dep is None or not dep.router:
        raise NoModelDeployed(
            f"endpoint '{live.name}' has no model deployed yet" + (f" ({live.last_error})" if live.last_error else ""),
            hint=f"Deploy one: `mloop deploy {live.name} --model NAME --latest-approved`.",
        )
    if req.model is not None and req.model not in dep.model_names:
        raise ModelNotServed(f"model '{req.model}' is not served here",
                             hint="known: " + ", ".join(sorted(dep.model_names)))
    if req.version is not None:
        found = dep.by_version(req.version)
        if found is None:
            raise ModelNotServed(f"model '{req.model}' version '{req.version}' is not served here",
                                 hint="served versions: " + ", ".join(v.version for v in dep.variants.values()))
        return found
    if req.target is not None:
        live.target_gate.check(req.authorization)  # pinning a variant is a deployer's choice
    return dep.router.pick(req.routing_key, req.target)


def _render(variant: LiveVariant, req: Request, predictions: list[Any], extra: Any,
            findings: list[Finding]) -> Response:
    headers = variant.headers
    issues = None
    if findings:
        headers = [*headers, input_policy.header(findings)]
        issues = input_policy.report(findings)
    if req.protocol == SAGEMAKER:
        body, ctype = render_invocation(predictions, req.accept, issues)
        return 200, body, ctype, headers
    if req.protocol == V1:
        return 200, render_v1(predictions, issues), JSON, headers
    model = variant.model
    request_id, outputs = extra
    return 200, render_v2(predictions, req.model or model.name, model.version, request_id, outputs,
                          issues), JSON, headers


def ping(live: LiveEndpoint) -> tuple[int, bytes, bytes, list[tuple[bytes, bytes]]]:
    """SageMaker's health check: 200 once the endpoint's models are loaded, 503 before."""
    dep = live.current
    if live.ready and dep is not None:
        return 200, dumps({"status": "ok", "endpoint": live.name, "generation": dep.generation}), JSON, []
    msg = f"endpoint '{live.name}' has no model loaded yet" + (f": {live.last_error}" if live.last_error else "")
    return 503, dumps({"code": "no_model_deployed", "message": msg,
                       "hint": f"Deploy one: `mloop deploy {live.name} --model NAME --latest-approved`."}), JSON, []


def model_metadata(live: LiveEndpoint, name: str, protocol: str) -> tuple[int, Any]:
    """(status, document) for `GET /v1/models/{name}` and `GET /v2/models/{name}`."""
    dep = live.current
    if dep is None or name not in dep.model_names:
        err = (NoModelDeployed(f"endpoint '{live.name}' has no model deployed yet") if dep is None
               else ModelNotServed(f"model '{name}' is not served here",
                                   hint="known: " + ", ".join(sorted(dep.model_names))))
        return status_and_body(err)
    variants = list(dep.variants.values())
    if protocol == V1:
        return 200, {"name": name, "ready": bool(dep.router),
                     "variants": [{"name": v.name, "model": v.model.name, "version": v.version,
                                   "weight": v.weight} for v in variants]}
    first = (dep.variants.get("production") or variants[0]).model
    inputs = v2_inputs(first)
    return 200, {"name": name, "versions": sorted({v.version for v in variants}), "platform": first.kind,
                 "inputs": inputs, "outputs": [{"name": "predict", "datatype": "FP64", "shape": [-1]}]}


V2_DATATYPES = {"numeric": "FP64", "boolean": "BOOL", "categorical": "BYTES"}


def v2_inputs(model: ServedModel) -> list[dict[str, Any]]:
    """The V2 metadata inputs: exactly the raw inputs `/infer` takes (one tensor of shape [N] each;
    derived features are computed inside the model and not listed), with what training saw."""
    if model.inputs is None:
        return [{"name": name, "datatype": "BYTES", "shape": [-1]} for name in model.feature_names]
    out = []
    for spec in model.inputs.inputs:
        item: dict[str, Any] = {"name": spec.name, "datatype": V2_DATATYPES[spec.kind], "shape": [-1]}
        if spec.kind == "categorical" or spec.min is not None or not spec.missing:
            item["parameters"] = {"expected": spec.expected(), "missing_allowed": spec.missing}
        out.append(item)
    return out
