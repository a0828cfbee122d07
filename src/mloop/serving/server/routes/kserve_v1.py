"""KServe V1 routes: `GET /v1/models`, `GET /v1/models/{name}`, `POST /v1/models/{name}:predict`."""

from typing import TYPE_CHECKING, Any

from mloop.serving.server import handler
from mloop.serving.server.routes.common import ERRORS, ROWS, Shared

if TYPE_CHECKING:
    from fastapi import FastAPI

V1_BODY = {"requestBody": {"required": True, "content": {"application/json": {"schema": {
    "type": "object", "required": ["instances"], "properties": {"instances": ROWS}}}}}}


def add_routes(api: "FastAPI", s: Shared) -> None:
    """The KServe V1 routes of a model server."""
    from fastapi import Request, Response
    from fastapi.responses import JSONResponse

    @api.get("/v1/models", response_model=None, tags=["kserve-v1"])
    def v1_list() -> dict[str, Any]:
        dep = s.live.current
        return {"models": sorted(dep.model_names) if dep else []}

    @api.get("/v1/models/{name}", response_model=None, tags=["kserve-v1"], responses=ERRORS)
    def v1_model(name: str) -> JSONResponse:
        return s.doc(handler.model_metadata(s.live, name, handler.V1))

    @api.post("/v1/models/{name}:predict", response_model=None, tags=["kserve-v1"], openapi_extra=V1_BODY,
              responses=ERRORS)
    async def v1_predict(name: str, request: Request) -> Response:
        return await s.run(request, handler.V1, name)
