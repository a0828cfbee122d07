"""The FastAPI side of the model server: OpenAPI, health, metadata, metrics, and the prediction
routes, one module per protocol (the raw front in `server.app` answers the prediction routes
first; these are the documented, equivalent fallbacks).

| module | routes |
|---|---|
| `sagemaker` | `GET /ping`, `POST /invocations`, `POST /endpoints/{name}/invocations` (SageMaker Runtime) |
| `kserve_v1` | `GET /v1/models`, `GET /v1/models/{name}`, `POST /v1/models/{name}:predict` |
| `open_inference_v2` | `GET /v2`, `/v2/health/*`, `/v2/models/{name}[/ready]`, `POST .../infer` |
| `mloop_own` | `GET /metrics`; the OpenAPI document (house error body, the served model's bodies) |
"""

from typing import TYPE_CHECKING, Any

from mloop import __version__, http_errors
from mloop.serving.server.routes import kserve_v1, mloop_own, open_inference_v2, sagemaker
from mloop.serving.server.routes.common import shared

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mloop.serving.runtime.live import LiveEndpoint
    from mloop.serving.server.metrics import ServerMetrics
    from mloop.serving.server.offload import Offload


def build_api(live: "LiveEndpoint", metrics: "ServerMetrics", max_body: int, routing_header: str,
              lifespan: Any, offload: "Offload") -> "FastAPI":
    """The FastAPI app of a model server."""
    from fastapi import FastAPI

    api = FastAPI(title=f"mloop model server: {live.name}", version=__version__, lifespan=lifespan,
                  docs_url="/docs", redoc_url=None)
    s = shared(live, metrics, max_body, routing_header, offload)
    sagemaker.add_runtime_routes(api, s)
    sagemaker.add_container_routes(api, s)
    kserve_v1.add_routes(api, s)
    open_inference_v2.add_routes(api, s)
    mloop_own.add_routes(api, s)
    http_errors.install(api)  # the mapper every mloop server shares: one status and body per failure
    mloop_own.document(api, s)
    return api
