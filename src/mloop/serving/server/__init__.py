"""The model server: one ASGI app answering SageMaker (container and Runtime), KServe V1 and the
Open Inference Protocol V2 for one endpoint.

| module | what it is |
|---|---|
| `app` | `create_app` / `app_from_env`: the raw ASGI front (fast prediction routes) before FastAPI |
| `routes/` | the FastAPI routes, one module per protocol (OpenAPI), plus mloop's own (`/metrics`) |
| `protocols/` | wire formats: parse a body into raw records, render predictions (`parse` dispatches) |
| `handler` | the prediction path every route shares: choose a variant, parse, check, predict, render |
| `invoke_endpoint` | SageMaker Runtime's InvokeEndpoint around the container route |
| `input_check`, `input_policy` | what the model never saw in a request, and what then happens |
| `batching`, `offload`, `bulk` | sharing model calls; large bodies on threads, very large ones in a process |
| `metrics`, `timeouts`, `openapi_bodies` | Prometheus metrics, read timeouts, the model's request bodies |
| `serve` | the process entry (`mloop serve`): uvicorn workers, the workspace's note of the URL |

Left empty on purpose: the live runtime imports `server.protocols` to parse shadow copies, and
importing this package must not import the app.
"""
