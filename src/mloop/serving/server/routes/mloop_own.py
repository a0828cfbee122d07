"""mloop's own routes of a model server: Prometheus metrics, and the OpenAPI document with the
house error body and the served model's request bodies."""

from typing import TYPE_CHECKING, Any

from mloop.serving.server.openapi_bodies import document_model
from mloop.serving.server.routes.common import Shared

if TYPE_CHECKING:
    from fastapi import FastAPI


def add_routes(api: "FastAPI", s: Shared) -> None:
    """`GET /metrics` (Prometheus text exposition)."""
    from fastapi import Response

    @api.get("/metrics", response_model=None, tags=["metrics"], responses={200: {
        "description": "Prometheus text exposition", "content": {"text/plain": {"schema": {"type": "string"}}}}})
    def metrics_route() -> Response:
        body, ctype = s.metrics.render()
        return Response(body, 200, media_type=ctype)


def document(api: "FastAPI", s: Shared) -> None:
    """The OpenAPI document with the house error body and, once a model is loaded, its request
    bodies (`openapi_bodies`); rebuilt when the endpoint's deployment changes."""
    from fastapi.openapi.utils import get_openapi

    live = s.live
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

    api.openapi = openapi  # type: ignore[method-assign]
