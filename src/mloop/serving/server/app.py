"""The model server: one ASGI app for the SageMaker, KServe V1 and Open Inference V2 contracts.

`create_app(ws, endpoint)` returns a FastAPI app (OpenAPI, health, metadata, metrics, and the
prediction routes) wrapped in a small raw-ASGI front that answers the prediction routes and
`/ping` itself: on the hot path a request costs a header scan, one body read, the parse, the
model and one send, with no per-request framework objects. Both paths call the same handler.

Small requests (a few rows) are parsed and predicted on the event loop, sharing model calls
(`batching`); a body above `serving.offload_bytes` is parsed and predicted in a worker thread,
one above `serving.process_bytes` in a worker process (`offload`, `bulk`), so one client's 5 MB
batch never holds up everyone else's single rows.
"""

from __future__ import annotations

import asyncio
import gc
import os
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.serving.endpoints.targeting import TargetGate
from mloop.serving.errors import ClientDisconnected, PayloadTooLarge
from mloop.serving.runtime.live import LiveEndpoint, static_endpoint
from mloop.serving.runtime.model_cache import workspace_loader
from mloop.serving.runtime.served_model import load_served
from mloop.serving.runtime.shadow_tap import hand_to_shadows
from mloop.serving.server import handler, invoke_endpoint
from mloop.serving.server.batching import Batcher
from mloop.serving.server.handler import ping
from mloop.serving.server.input_policy import check_policy
from mloop.serving.server.metrics import ServerMetrics
from mloop.serving.server.offload import Offload
from mloop.serving.server.routes import build_api

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mloop.serving.runtime.served_model import Loader
    from mloop.store import Workspace


class ServingApp:
    """The ASGI callable: fast prediction routes in front of the FastAPI app."""

    def __init__(self, live: LiveEndpoint, metrics: ServerMetrics, api: FastAPI, *,
                 max_body: int, routing_header: str, fast: bool = True, batching: bool = True,
                 offload: Offload | None = None) -> None:
        self.batcher = Batcher() if batching else None
        self.offload = offload or Offload()
        self.live = live
        self.metrics = metrics
        self.api = api
        self.max_body = max_body
        self.routing_header = routing_header.lower().encode()
        self.fast = fast

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if self.fast and scope["type"] == "http":
            path: str = scope["path"]
            method: str = scope["method"]
            if method == "POST":
                route = _route(path)
                if route is not None:
                    await self._predict(scope, receive, send, *route)
                    return
                endpoint = invoke_endpoint.endpoint_of(path)
                if endpoint is not None:
                    await self._invoke_endpoint(scope, receive, send, endpoint)
                    return
            elif method == "GET" and path == "/ping":
                await _send(send, *ping(self.live))
                return
        await self.api(scope, receive, send)

    async def _predict(self, scope: dict[str, Any], receive: Any, send: Any, protocol: str,
                       model: str | None, version: str | None) -> None:
        ctype = accept = ""
        key = target = authorization = None
        length = -1
        routing = self.routing_header
        for name, value in scope["headers"]:
            if name == b"content-type":
                ctype = value.decode("latin-1")
            elif name == b"content-length":
                length = int(value) if value.isdigit() else -1
            elif name == b"accept":
                accept = value.decode("latin-1")
            elif name == routing:
                key = value.decode("latin-1")
            elif name == b"x-mloop-target-variant":
                target = value.decode("latin-1")
            elif name == b"authorization":
                authorization = value.decode("latin-1")
        try:
            body = await read_body(receive, self.max_body, length)
        except PayloadTooLarge as exc:
            await _send(send, *handler.error_response(exc))
            return
        except ClientDisconnected:
            return  # nobody to answer (e.g. closed by the read timeout): never predict a partial body
        req = handler.Request(protocol, body, ctype, accept, key, target, model, version, authorization)
        if self.offload.wanted(body):
            await _send(send, *await self.offload.predict(self.live, self.metrics, req))
        elif self.batcher is None:
            await _send(send, *handler.predict(self.live, self.metrics, req))
        else:
            await _send(send, *await handler.predict_batched(self.live, self.metrics, req, self.batcher))
        if req.shadow_copy is not None:  # the caller has its answer: now the shadows get their copy
            hand_to_shadows(self.live, req)


    async def _invoke_endpoint(self, scope: dict[str, Any], receive: Any, send: Any, endpoint: str) -> None:
        """SageMaker Runtime's InvokeEndpoint (`invoke_endpoint`): the container route, SageMaker's headers."""
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]}
        length = headers.get("content-length", "")
        try:
            body = await read_body(receive, self.max_body, int(length) if length.isdigit() else -1)
        except PayloadTooLarge as exc:
            await _send(send, *invoke_endpoint.refuse(exc))
            return
        call = invoke_endpoint.Invocation(self.live, endpoint, body, headers, self.routing_header.decode())
        if call.request is None:
            assert call.refusal is not None
            await _send(send, *call.refusal)
        elif self.offload.wanted(body):
            await _send(send, *call.answer(await self.offload.predict(self.live, self.metrics, call.request)))
        elif self.batcher is None:
            await _send(send, *call.answer(handler.predict(self.live, self.metrics, call.request)))
        else:
            answer = await handler.predict_batched(self.live, self.metrics, call.request, self.batcher)
            await _send(send, *call.answer(answer))
        if call.request is not None and call.request.shadow_copy is not None:
            hand_to_shadows(self.live, call.request)


def _route(path: str) -> tuple[str, str | None, str | None] | None:
    if path == "/invocations":
        return handler.SAGEMAKER, None, None
    if path.startswith("/v1/models/") and path.endswith(":predict"):
        return handler.V1, path[11:-8], None
    if path.startswith("/v2/models/") and path.endswith("/infer"):
        rest = path[11:-6]
        if "/versions/" in rest:
            name, _, version = rest.partition("/versions/")
            return handler.V2, name, version
        return handler.V2, rest, None
    return None


async def read_body(receive: Any, limit: int, length: int = -1) -> bytes:
    """The request body, refusing more than `limit` bytes (413) before reading it all."""
    if length > limit:
        raise PayloadTooLarge(f"request body of {length} bytes exceeds the limit of {limit} bytes",
                              hint="Send smaller batches (setting serving.max_body_bytes).")
    message = await receive()
    if message["type"] == "http.disconnect":
        raise ClientDisconnected("the client went away before sending its body")
    body = message.get("body", b"")
    if not message.get("more_body"):
        return body
    chunks = [body]
    size = len(body)
    while message.get("more_body"):
        message = await receive()
        if message["type"] == "http.disconnect":
            raise ClientDisconnected("the client went away before sending all of its body")
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > limit:
            raise PayloadTooLarge(f"request body exceeds the limit of {limit} bytes",
                                  hint="Send smaller batches (setting serving.max_body_bytes).")
        chunks.append(chunk)
    return b"".join(chunks)


async def _send(send: Any, status: int, body: bytes, ctype: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", ctype), (b"content-length", str(len(body)).encode()), *headers]})
    await send({"type": "http.response.body", "body": body})


def create_app(ws: Workspace | None, endpoint: str, *, loader: Loader | None = None,
               poll_interval: float | None = None, fast: bool = True, batching: bool = True,
               live: LiveEndpoint | None = None, prestart: bool = False) -> ServingApp:
    """The model server for `endpoint` of workspace `ws`.

    Args:
        ws: the workspace (its metadata store holds the endpoint's configuration).
        endpoint: the endpoint to serve; it may not exist yet (the server waits for a deploy).
        loader: how variants become loaded models (default: download from the registry).
        poll_interval: seconds between configuration checks (default: setting, <= 1 s).
        fast: answer prediction routes in the raw ASGI front (False: FastAPI only, for comparison).
        batching: let concurrent requests share one model call (see `batching`).
        live: a prepared serving state (e.g. `static_endpoint` for a local model directory).
        prestart: start the worker process for very large requests with the server (`mloop
            serve`), so the first 5 MB batch does not wait for an interpreter to start.
    """
    # pydantic (settings): `import mloop.serving` stays light; `create_app` needs them only here
    from mloop.config import ServingSettings

    settings = ws.settings.serving if ws is not None else ServingSettings.model_validate({})
    metrics = ServerMetrics(endpoint)
    if live is None:
        assert ws is not None
        live = LiveEndpoint(ws, endpoint, loader or workspace_loader(ws),
                            poll_interval or settings.poll_interval, metrics)
    live.metrics = metrics
    live.target_gate = TargetGate(ws, settings.allow_target_variant)
    offload = Offload(settings.offload_bytes, settings.predict_threads, settings.process_bytes)

    @asynccontextmanager
    async def lifespan(_app: Any) -> Any:
        live.start()
        if prestart and offload.bulk.min_bytes:
            asyncio.get_running_loop().run_in_executor(None, offload.bulk.start)  # in the background
        # The ~160k objects of the imported libraries and the model never die; a full collection
        # walking them stalled the event loop ~120 ms on a slow core (measured), frozen ~0.
        gc.freeze()
        try:
            yield
        finally:
            live.stop()
            offload.close()

    api = build_api(live, metrics, settings.max_body_bytes, settings.routing_header, lifespan, offload)
    return ServingApp(live, metrics, api, max_body=settings.max_body_bytes,
                      routing_header=settings.routing_header, fast=fast, batching=batching, offload=offload)


def app_from_env() -> ServingApp:
    """Factory for `uvicorn --factory` workers: settings come from the environment."""
    # uvicorn's protocol class: imported where a uvicorn worker runs, not by `import mloop.serving`
    from mloop.serving.server.timeouts import ReadTimeoutProtocol
    from mloop.store import open_workspace  # SQLAlchemy: never imported by a model-directory server

    if os.environ.get("_MLOOP_READ_TIMEOUT_S"):  # this worker's connections (the class is imported by name)
        ReadTimeoutProtocol.read_timeout = float(os.environ["_MLOOP_READ_TIMEOUT_S"])

    endpoint = os.environ.get("_MLOOP_SERVE_ENDPOINT", "model")
    model_dir = os.environ.get("_MLOOP_SERVE_MODEL_DIR")
    fast = os.environ.get("_MLOOP_SERVE_FAST", "1") == "1"
    batching = os.environ.get("_MLOOP_SERVE_BATCHING", "1") == "1"
    if model_dir:
        served = load_served(Path(model_dir), endpoint, 1, f"file://{model_dir}")
        return create_app(None, endpoint, live=static_endpoint(endpoint, served, _static_policy()), fast=fast,
                          batching=batching, prestart=True)
    poll = os.environ.get("_MLOOP_SERVE_POLL")
    ws = open_workspace(os.environ.get("MLOOP_WORKSPACE"))
    return create_app(ws, endpoint, poll_interval=float(poll) if poll else None, fast=fast, batching=batching,
                      prestart=True)


def _static_policy() -> str:
    """The input policy of a server of one model directory: the workspace's setting when there is
    one, else `MLOOP_SERVING__INPUT_POLICY` (a SageMaker container has no workspace)."""
    root = os.environ.get("MLOOP_WORKSPACE")
    if root:
        from mloop.config import load_settings  # pydantic: only with a workspace

        return load_settings(Path(root)).settings.serving.input_policy
    return check_policy(os.environ.get("MLOOP_SERVING__INPUT_POLICY", "warn"), "MLOOP_SERVING__INPUT_POLICY")
