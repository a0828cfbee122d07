"""The inference web app: `create_inference_app(ws, ...)` -> FastAPI (page + JSON API).

A separate process from the model server (seed 002: the web app calls the endpoint); it reuses
one keep-alive HTTP client to the endpoint and logs every answered prediction before replying.
"""

from __future__ import annotations

import asyncio
import gc
import logging
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.responses import HTMLResponse

from mloop.errors import MloopError
from mloop.web.inference.schemas import (
    CATEGORIES,
    AdClickRecord,
    Feedback,
    FeedbackResponse,
    PredictBatch,
    Prediction,
    PredictResponse,
)

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from mloop.config import AppSettings
    from mloop.store import Workspace
    from mloop.web.inference.service import InferenceService

TEMPLATES = Path(__file__).parent / "templates"
_ERROR = {"application/json": {"schema": {"type": "object", "required": ["code", "message"], "properties": {
    "code": {"type": "string"}, "message": {"type": "string"}, "hint": {"type": ["string", "null"]}}}}}
# Documented answers besides 200: bad JSON, a refused record, a body that is not JSON, no endpoint.
REFUSALS: dict[int | str, dict[str, Any]] = {
    400: {"description": "Not valid JSON, or not a record, list or {records}.", "content": _ERROR},
    404: {"description": "Feedback for an unknown request id.", "content": _ERROR},
    409: {"description": "Feedback already recorded for this request id.", "content": _ERROR},
    415: {"description": "The body is not application/json.", "content": _ERROR},
    422: {"description": "A record or feedback failed validation.", "content": _ERROR},
    502: {"description": "The model endpoint answered with an error.", "content": _ERROR},
    503: {"description": "The model endpoint or the interaction log is unavailable.", "content": _ERROR},
}


def create_inference_app(ws: Workspace, *, endpoint: str | None = None, settings: AppSettings | None = None,
                         transport: Any = None, bind_host: str | None = None) -> FastAPI:
    """Build the app for workspace `ws`.

    Args:
        ws: the workspace whose feature store receives interactions and feedback.
        endpoint: URL or endpoint name; default `app.endpoint` from the settings.
        settings: the `[app]` settings; default `ws.settings.app`.
        transport: an httpx transport for the endpoint client (tests, benchmarks).
        bind_host: the address `mloop app` binds; with no `[app] allowed_hosts`, requests must name
            it or localhost in `Host`.

    Raises:
        ConfigError: no endpoint configured; NotFound: an unknown endpoint name.
    """
    from mloop.web.inference.endpoint import EndpointClient
    from mloop.web.inference.resolve import resolve_endpoint
    from mloop.web.inference.service import InferenceService
    from mloop.web.inference.store import InteractionStore

    cfg = settings or ws.settings.app
    given = endpoint or cfg.endpoint
    url, model_name = resolve_endpoint(ws, given, cfg.model_name)
    label = url if not given or given.startswith(("http://", "https://")) else given

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        client = EndpointClient(url, model_name=model_name, timeout=cfg.timeout_seconds, transport=transport,
                                endpoint_name=None if label == url else given)
        store = InteractionStore(ws, cfg) if cfg.log_interactions else None
        service = InferenceService(cfg, client, store, endpoint_label=label)
        await service.start()
        app.state.service = service
        looks = _watch_experiments(ws, given, cfg) if store is not None and label != url else None
        gc.freeze()  # long-lived startup objects out of full collections (see serving.server.app)
        try:
            yield
        finally:
            if looks is not None:
                looks.cancel()
            await service.close()

    app = FastAPI(title="mloop inference app", version="1", lifespan=lifespan,
                  description="Ad-click probability from the model endpoint; every prediction logged.")
    app.state.endpoint_url = url
    app.state.model_name = model_name
    app.state.settings = cfg
    app.state.max_body = ws.settings.serving.max_body_bytes  # the model server's limit: one setting
    _install_errors(app)
    _add_routes(app)
    from fastapi.staticfiles import StaticFiles

    from mloop.web import security

    app.mount("/static", StaticFiles(directory=Path(__file__).parent / "static"), name="static")
    app.add_middleware(security.JsonOnly)
    security.protect(app, security.allowed_hosts(cfg.allowed_hosts, bind_host))
    return app


def _watch_experiments(ws: Workspace, endpoint: str | None, cfg: AppSettings) -> asyncio.Task[None]:
    """Look at the endpoint's running experiments every `experiment_check_s`: the app is where the
    outcomes arrive, as the model server is where guardrails watch errors and latency."""

    async def loop() -> None:
        from mloop.experiments import evaluate_running

        while True:
            await asyncio.sleep(cfg.experiment_check_s)  # a period, not a wait for a condition
            try:
                await asyncio.to_thread(evaluate_running, ws, endpoint)
            except Exception as exc:  # noqa: BLE001 — the metadata database is down: look again next period
                logging.getLogger("mloop.experiments").error("could not look at experiments: %s", exc)

    return asyncio.get_running_loop().create_task(loop(), name="experiments")


def _service(request: Request) -> InferenceService:
    return request.app.state.service  # type: ignore[no-any-return]


def _add_routes(app: FastAPI) -> None:
    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    async def page(request: Request) -> HTMLResponse:
        return HTMLResponse(_render_page(request.app))

    @app.get("/healthz", tags=["health"])
    async def healthz(request: Request) -> dict[str, Any]:
        from mloop.features.records import flush_failures

        service = _service(request)
        failing = flush_failures()  # logged interactions piling up in the spool, unflushed
        return {"status": "degraded" if failing else "ok", "endpoint": service.client.url,
                "logging": service.logging, "record_flush": failing}

    @app.post("/api/predict", tags=["predict"], response_model=Prediction | PredictResponse,
              openapi_extra=_predict_body_schema(app.state.settings.max_records),
              responses=REFUSALS)
    async def predict(request: Request) -> Prediction | PredictResponse:
        """Score one record (`{...}`) or many (`{"records": [...]}` or `[...]`)."""
        records, single = _parse_records(await _json_body(request), request.app.state.settings.max_records)
        predictions = await _service(request).predict(records)
        return predictions[0] if single else PredictResponse(predictions=predictions)

    @app.post("/api/feedback", tags=["feedback"], response_model=FeedbackResponse, responses=REFUSALS)
    async def feedback(body: Feedback, request: Request) -> FeedbackResponse:
        """Record whether the user clicked the ad that `request_id` scored (once)."""
        return await _service(request).feedback(body)


async def _read_body(request: Request, limit: int) -> bytes:
    """The body, refused (413) past `limit` bytes before it is all in memory, let alone parsed."""
    from mloop.serving.errors import PayloadTooLarge

    hint = "Send fewer records per call (setting serving.max_body_bytes)."
    length = request.headers.get("content-length", "")
    if length.isdigit() and int(length) > limit:
        raise PayloadTooLarge(f"request body of {length} bytes exceeds the limit of {limit} bytes", hint=hint)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes", hint=hint)
        chunks.append(chunk)
    return b"".join(chunks)


async def _json_body(request: Request) -> Any:
    from mloop.errors import InvalidInput

    raw = await _read_body(request, request.app.state.max_body)
    if not raw.strip():
        raise InvalidInput("empty request body", hint='Send a JSON record, e.g. {"age": 30, ...}.')
    try:
        import orjson

        return orjson.loads(raw)
    except ValueError as exc:
        raise InvalidInput(f"the body is not valid JSON: {exc}") from exc


def _parse_records(body: Any, max_records: int) -> tuple[list[AdClickRecord], bool]:
    from pydantic import ValidationError

    from mloop.errors import InvalidInput

    records = body.get("records") if isinstance(body, dict) else body
    if isinstance(records, list) and len(records) > max_records:  # counted before any is validated
        raise InvalidInput(f"{len(records)} records in one call; at most {max_records}",
                           hint="Split the batch, or raise app.max_records.")
    try:
        if isinstance(body, dict) and "records" in body:
            return PredictBatch.model_validate(body).records, False
        if isinstance(body, list):
            return PredictBatch.model_validate({"records": body}).records, False
        if isinstance(body, dict):
            return [AdClickRecord.model_validate(body)], True
    except ValidationError as exc:
        raise InvalidRecord(_describe(exc.errors())) from None
    raise InvalidInput("expected a JSON object (one record), a list, or {\"records\": [...]}")


class InvalidRecord(MloopError):
    """A record failed validation: 422 naming the field and the valid values."""

    code = "invalid_record"
    http_status = 422
    hint = ("Fields: age (0-120), " + "; ".join(f"{k}: {', '.join(v)}" for k, v in CATEGORIES.items()))


QUOTE_CHARS = 40  # a caller's value quoted in an error is cut to this (a 10 MB value came back whole)


def clip(text: str, limit: int = QUOTE_CHARS) -> str:
    """`text` cut to `limit` characters, saying how much was left out."""
    return text if len(text) <= limit else f"{text[:limit]}... ({len(text) - limit} more characters)"


def _describe(errors: list[Any]) -> str:
    """Pydantic errors as one readable line: `record 2: age must be >= 0; ...`."""
    parts = []
    for err in errors[:5]:
        loc = [clip(str(p)) for p in err["loc"] if p not in ("body", "records")]
        prefix = f"record {loc.pop(0)}: " if loc and loc[0].isdigit() else ""
        field = ".".join(loc)
        msg = str(err["msg"]).removeprefix("Value error, ")
        if err["type"] == "missing":
            msg = f"{field} is required"
        elif err["type"] == "extra_forbidden":
            msg = f"{field} is not a known field"
        elif err["type"] in ("greater_than_equal", "less_than_equal"):
            bound = err.get("ctx", {}).get("ge", err.get("ctx", {}).get("le"))
            msg = f"{field} must be {'at least' if err['type'] == 'greater_than_equal' else 'at most'} {bound}"
        elif field and not msg.startswith((field, f"unknown {field}")):
            msg = f"{field}: {msg}"
        parts.append(prefix + clip(msg, 200))
    more = f" (and {len(errors) - 5} more)" if len(errors) > 5 else ""
    return "; ".join(parts) + more


def _install_errors(app: FastAPI) -> None:
    from mloop.web.errors import install

    # The house shape (request ids, 404/405 bodies, 500 without a traceback); a body failing its
    # schema is a record failing validation: InvalidRecord's code and status.
    install(app, validation_error=InvalidRecord, describe=_describe,
            validation_hint='Feedback is {"request_id": "<from /api/predict>", "clicked": true|false}.')


def _predict_body_schema(max_records: int) -> dict[str, Any]:
    record = AdClickRecord.model_json_schema()
    many = {"type": "array", "items": record, "minItems": 1, "maxItems": max_records}
    return {"requestBody": {"required": True, "content": {"application/json": {"schema": {
        "oneOf": [record, many, {"type": "object", "properties": {"records": many}, "required": ["records"],
                                 "additionalProperties": False}]}}}}}


def _render_page(app: FastAPI) -> str:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=select_autoescape(["html"]))
    return env.get_template("index.html").render(
        categories=CATEGORIES, endpoint=app.state.endpoint_url, model=app.state.model_name,
        logging=app.state.settings.log_interactions,
    )
