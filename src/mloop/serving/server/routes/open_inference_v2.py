"""Open Inference Protocol (KServe V2) routes: server and model health and metadata, `infer`."""

from typing import TYPE_CHECKING, Any

from mloop import __version__
from mloop.serving.server import handler
from mloop.serving.server.routes.common import ERRORS, Shared

if TYPE_CHECKING:
    from fastapi import FastAPI

TENSOR = {"type": "object", "required": ["name", "shape", "datatype", "data"], "properties": {
    "name": {"type": "string"}, "shape": {"type": "array", "items": {"type": "integer"}},
    "datatype": {"type": "string", "enum": ["FP32", "FP64", "INT64", "BYTES", "BOOL"]},
    "data": {"type": "array"}}}
V2_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["inputs"], "properties": {
        "id": {"type": "string"}, "inputs": {"type": "array", "items": TENSOR, "minItems": 1},
        "outputs": {"type": "array", "items": {"type": "object", "properties": {"name": {"type": "string"}}}},
    }}}}}}


def add_routes(api: "FastAPI", s: Shared) -> None:
    """The Open Inference Protocol routes of a model server."""
    from fastapi import Request, Response
    from fastapi.responses import JSONResponse

    live = s.live

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
        return s.doc(handler.model_metadata(live, name, handler.V2))

    @api.get("/v2/models/{name}/ready", response_model=None, tags=["open-inference-v2"], responses=ERRORS)
    def v2_model_ready(name: str) -> JSONResponse:
        status, body = handler.model_metadata(live, name, handler.V2)
        return JSONResponse({"name": name, "ready": status == 200} if status == 200 else body, status)

    @api.post("/v2/models/{name}/infer", response_model=None, tags=["open-inference-v2"], openapi_extra=V2_BODY,
              responses=ERRORS)
    async def v2_infer(name: str, request: Request) -> Response:
        return await s.run(request, handler.V2, name)

    @api.post("/v2/models/{name}/versions/{version}/infer", response_model=None, tags=["open-inference-v2"],
              openapi_extra=V2_BODY, responses=ERRORS)
    async def v2_infer_version(name: str, version: str, request: Request) -> Response:
        return await s.run(request, handler.V2, name, version)
