"""What the routes of every protocol share: the error responses they document, and the helpers
that read a bounded body, call the handler and answer (`Shared`).

The raw ASGI front (`server.app`) answers the prediction routes first; these FastAPI routes are
the documented, equivalent fallbacks (OpenAPI, fuzzed by schemathesis). FastAPI is imported
when the app is built, not by `import mloop.serving`.
"""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError
from mloop.serving.errors import PayloadTooLarge
from mloop.serving.runtime.shadow_tap import hand_to_shadows_after
from mloop.serving.server import handler

if TYPE_CHECKING:
    from fastapi import Request, Response
    from fastapi.responses import JSONResponse

    from mloop.serving.runtime.live import LiveEndpoint
    from mloop.serving.server.metrics import ServerMetrics
    from mloop.serving.server.offload import Offload

_ERR = {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Error"}}}}
ERRORS: dict[int | str, dict[str, Any]] = {str(c): {"description": d, **_ERR} for c, d in (
    (400, "Malformed input"), (404, "Unknown model"), (413, "Body too large"),
    (415, "Unsupported content type"), (503, "No model loaded yet"))}
ROWS = {"type": "array", "minItems": 1, "items": {"oneOf": [{"type": "array"}, {"type": "object"}]}}


@dataclass(frozen=True)
class Shared:
    """The server's state and the request helpers every protocol's routes use."""

    live: "LiveEndpoint"
    metrics: "ServerMetrics"
    routing_header: str
    offload: "Offload"
    #: (status, body, content type, headers) as a FastAPI response
    out: Callable[[int, bytes, bytes, list[tuple[bytes, bytes]]], "Response"]
    #: the response; the shadows get their copy once it was sent (a background task)
    answered: Callable[["Response", handler.Request], "Response"]
    #: the body, refusing more than the server's limit (every prediction route reads it so)
    limited_body: Callable[["Request"], Awaitable[bytes]]
    #: answer one prediction request of a protocol (to a model name and version)
    run: Callable[..., Awaitable["Response"]]
    #: a (status, document) pair as a JSON response
    doc: Callable[[tuple[int, Any]], "JSONResponse"]


def shared(live: "LiveEndpoint", metrics: "ServerMetrics", max_body: int, routing_header: str,
           offload: "Offload") -> Shared:
    """The helpers, closed over the server's state (FastAPI imported here, once per app)."""
    from fastapi import Request
    from fastapi.responses import JSONResponse, Response
    from starlette.background import BackgroundTask

    def out(status: int, body: bytes, ctype: bytes, headers: list[tuple[bytes, bytes]]) -> Response:
        return Response(body, status, {k.decode(): v.decode() for k, v in headers}, ctype.decode())

    def answered(response: Response, req: handler.Request) -> Response:
        if req.shadow_copy is not None:
            response.background = BackgroundTask(hand_to_shadows_after, live, req)
        return response

    async def limited_body(request: Request) -> bytes:
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

    def doc(status_doc: tuple[int, Any]) -> JSONResponse:
        return JSONResponse(status_doc[1], status_doc[0])

    return Shared(live, metrics, routing_header, offload, out, answered, limited_body, run, doc)
