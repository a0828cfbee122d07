"""The FastAPI side of the model server: OpenAPI, health, metadata, metrics, and the prediction
routes (the raw front answers those first; these are the documented, equivalent fallbacks)."""

from typing import TYPE_CHECKING, Any

from mloop import __version__, http_errors
from mloop.errors import MloopError
from mloop.serving import handler

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mloop.serving.live import LiveEndpoint
    from mloop.serving.metrics import ServerMetrics
    from mloop.serving.offload import Offload

_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {str(c): {"description": d, **_ERR} for c, d in (
    (400, "Malformed input"), (404, "Unknown model"), (413, "Body too large"),
    (415, "Unsupported content type"), (503, "No model loaded yet"))}
# SageMaker answers in the format the caller accepts (the runtime route: by default its own body's).
PREDICTIONS: dict[int | str, dict[str, Any]] = {"200": {"description": "Predictions", "content": {
    "application/json": {"schema": {"type": "object", "required": ["predictions"],
                                    "properties": {"predictions": {"type": "array"}}}},
    "text/csv": {"schema": {"type": "string"}}}}}
INVOCATION_ANSWERS: dict[int | str, dict[str, Any]] = {**PREDICTIONS, **ERRORS}
RUNTIME_ERRORS: dict[int | str, dict[str, Any]] = {**INVOCATION_ANSWERS, "424": {
    "description": "The model failed (SageMaker's ModelError)", **_ERR}}
ROWS = {"type": "array", "minItems": 1, "items": {"oneOf": [{"type": "array"}, {"type": "object"}]}}
INVOCATION_BODY = {"requestBody": {"required": True, "content": {
    # One raw ad-click record (age, gender, device_type, ad_position, browsing_history, time_of_day).
    "text/csv": {"schema": {"type": "string", "minLength": 1}, "example": "25,Female,Mobile,Top,Shopping,Morning"},
    "application/json": {"schema": {"type": "object", "properties": {
        "instances": ROWS, "dataframe_records": ROWS,
        "dataframe_split": {"type": "object", "properties": {
            "columns": {"type": "array", "items": {"type": "string"}}, "data": ROWS}}}}},
}}}
V1_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["instances"], "properties": {"instances": ROWS}}}}}}
TENSOR = {"type": "object", "required": ["name", "shape", "datatype", "data"], "properties": {
    "name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
    "datatype": {"type": "string", "enum": ["FP32", "FP64", "INT64", "BYTES", "BOOL"]},
    "data": {"type": "array"}}}
V2_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["inputs"], "properties": {
        "id": {"type": "string"}, "inputs": {"type": "array", "items": TENSOR, "minItems": 1},
        "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }}}}}}


def build_api(live: "LiveEndpoint", metrics: "ServerMetrics", max_body: int, routing_header: str,
              lifespan: Any, offload: "Offload") -> "FastAPI":
    """The FastAPI app of a model server."""
    from fastapi import FastAPI, Request
    from fastapi.responses import JSONResponse, Response

    from mloop.serving.app import ping
    from mloop.serving.errors import PayloadTooLarge

    api = FastAPI(title=f"mloop model server: {live.name}", version=__version__, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)

    def out(status: int, body: bytes, ctype: bytes, headers: list[tuple[bytes, bytes]]) -> Response:
        return Response(body, status, {k.decode(): v.decode() for k, v in headers}, ctype.decode())

    def answered(response: Response, req: handler.Request) -> Response:
        """The response; the shadows get their copy once it was sent (a background task)."""
        if req.shadow_copy is not None:
            from starlette.background import BackgroundTask

            from mloop.serving.shadow_tap import hand_to_shadows_after

            response.background = BackgroundTask(hand_to_shadows_after, live, req)
        return response

    async def limited_body(request: Request) -> bytes:
        """The body, refusing more than `max_body` bytes (every prediction route reads it so)."""
        length = request.headers.get("content-length", "")
        if length.isdigit() and int(length) > max_body:
            raise PayloadTooLarge(f"request body of {length} bytes exceeds the limit of {max_body} bytes")
        body = await request.body()
        if len(body) > max_body:
            raise PayloadTooLarge(f"request body exceeds the limit of {max_body} bytes")
        return body

    async def run(request: Request, protocol: str, model: str | None = None, version: str | None = None) -> Response:
        h = request.headers
        try:
            body = await limited_body(request)
        except MloopError as exc:
            return out(*handler.error_response(exc))
        req = handler.Request(protocol, body, h.get("content-type", ""), h.get("accept", ""),
                              h.get(routing_header), h.get("x-mloop-target-variant"), model, version,
                              h.get("authorization"))
        if offload.wanted(body):
            return answered(out(*await offload.predict(live, metrics, req)), req)
        return answered(out(*handler.predict(live, metrics, req)), req)

    @api.post("/endpoints/{endpoint_name}/invocations", response_model=None, tags=["sagemaker-runtime"],
              openapi_extra=INVOCATION_BODY, responses=RUNTIME_ERRORS)
    async def invoke_endpoint(endpoint_name: str, request: Request) -> Response:
        """SageMaker Runtime's InvokeEndpoint (boto3 `invoke_endpoint`, `aws sagemaker-runtime`)."""
        from mloop.serving import runtime

        try:
            body = await limited_body(request)
        except MloopError as exc:
            return out(*runtime.refuse(exc))
        call = runtime.Invocation(live, endpoint_name, body, dict(request.headers), routing_header.lower())
        if call.request is None:
            assert call.refusal is not None
            return out(*call.refusal)
        if offload.wanted(body):
            return answered(out(*call.answer(await offload.predict(live, metrics, call.request))), call.request)
        return answered(out(*call.answer(handler.predict(live, metrics, call.request))), call.request)

    def doc(status_doc: tuple[int, Any]) -> JSONResponse:
        return JSONResponse(status_doc[1], status_doc[0])

    @api.get("/ping", response_model=None, tags=["sagemaker"], responses={503: ERRORS["503"]})
    def ping_route() -> Response:
        return out(*ping(live))

    @api.post("/invocations", response_model=None, tags=["sagemaker"], openapi_extra=INVOCATION_BODY,
              responses=INVOCATION_ANSWERS)
    async def invocations(request: Request) -> Response:
        return await run(request, handler.SAGEMAKER)

    @api.get("/v1/models", response_model=None, tags=["kserve-v1"])
    def v1_list() -> dict[str, Any]:
        dep = live.current
        return {"models": sorted(dep.model_names) if dep else []}

    @api.get("/v1/models/{name}", response_model=None, tags=["kserve-v1"], responses=ERRORS)
    def v1_model(name: str) -> JSONResponse:
        return doc(handler.model_metadata(live, name, handler.V1))

    @api.post("/v1/models/{name}:predict", response_model=None, tags=["kserve-v1"], openapi_extra=V1_BODY,
              responses=ERRORS)
    async def v1_predict(name: str, request: Request) -> Response:
        return await run(request, handler.V1, name)

    @api.get("/v2", response_model=None, tags=["open-inference-v2"])
    def v2_server() -> dict[str, Any]:
        return {"name": "mloop", "version": __version__, "extensions": []}

    @api.get("/v2/health/live", response_model=None, tags=["open-inference-v2"])
    def v2_live() -> dict[str, Any]:
        return {"live": True}

    @api.get("/v2/health/ready", response_model=None, tags=["open-inference-v2"], responses={503: ERRORS["503"]})
    def v2_ready() -> JSONResponse:
        return JSONResponse({"ready": live.ready}, 200 if live.ready else 503)

    @api.get("/v2/models/{name}", response_model=None, tags=["open-inference-v2"], responses=ERRORS)
    def v2_model(name: str) -> JSONResponse:
        return doc(handler.model_metadata(live, name, handler.V2))

    @api.get("/v2/models/{name}/ready", response_model=None, tags=["open-inference-v2"], responses=ERRORS)
    def v2_model_ready(name: str) -> JSONResponse:
        status, body = handler.model_metadata(live, name, handler.V2)
        return JSONResponse({"name": name, "ready": status == 200} if status == 200 else body, status)

    @api.post("/v2/models/{name}/infer", response_model=None, tags=["open-inference-v2"], openapi_extra=V2_BODY,
              responses=ERRORS)
    async def v2_infer(name: str, request: Request) -> Response:
        return await run(request, handler.V2, name)

    @api.post("/v2/models/{name}/versions/{version}/infer", response_model=None, tags=["open-inference-v2"],
              openapi_extra=V2_BODY, responses=ERRORS)
    async def v2_infer_version(name: str, version: str, request: Request) -> Response:
        return await run(request, handler.V2, name, version)

    @api.get("/metrics", response_model=None, tags=["metrics"], responses={200: {
        "description": "Prometheus text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def metrics_route() -> Response:
        body, ctype = metrics.render()
        return Response(body, 200, media_type=ctype)

    http_errors.install(api)  # the mapper every mloop server shares: one status and body per failure
    _error_schema(api, live)
    return api


def _error_schema(api: Any, live: "LiveEndpoint") -> None:
    """The OpenAPI document with the house error body and, once a model is loaded, its request
    bodies (`openapi_bodies`); rebuilt when the endpoint's deployment changes."""
    from fastapi.openapi.utils import get_openapi

    from mloop.serving.openapi_bodies import document_model

    built: dict[str, Any] = {}

    def openapi() -> dict[str, Any]:
        dep = live.current
        generation = dep.generation if dep is not None else None
        if built.get("generation", -1) == generation and api.openapi_schema:
            return api.openapi_schema
        schema = get_openapi(title=api.title, version=api.version, routes=api.routes)
        schema.setdefault("components", {}).setdefault("schemas", {})["Error"] = {
            "type": "object", "required": ["code", "message"],
            "properties": {"code": {"type": "string"}, "message": {"type": "string"}, "hint": {"type": "string"}}}
        if dep is not None and dep.variants:
            first = (dep.variants.get("production") or next(iter(dep.variants.values()))).model
            document_model(schema, first, live.name)
        api.openapi_schema = schema
        built["generation"] = generation
        return schema

    api.openapi = openapi
