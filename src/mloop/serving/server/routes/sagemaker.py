"""SageMaker's routes: the container contract (`GET /ping`, `POST /invocations`) and SageMaker
Runtime's `InvokeEndpoint` (`POST /endpoints/{name}/invocations`, `invoke_endpoint`)."""

from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError
from mloop.serving.server import handler, invoke_endpoint
from mloop.serving.server.routes.common import _ERR, ERRORS, ROWS, Shared

if TYPE_CHECKING:
    from fastapi import FastAPI

# SageMaker answers in the format the caller accepts (the runtime route: by default its own body's).
PREDICTIONS: dict[int | str, dict[str, Any]] = {"200": {"description": "Predictions", "content": {
    "application/json": {"schema": {"type": "object", "required": ["predictions"],
                                    "properties": {"predictions": {"type": "array"}}}},
    "text/csv": {"schema": {"type": "string"}}}}}
INVOCATION_ANSWERS: dict[int | str, dict[str, Any]] = {**PREDICTIONS, **ERRORS}
RUNTIME_ERRORS: dict[int | str, dict[str, Any]] = {**INVOCATION_ANSWERS, "424": {
    "description": "The model failed (SageMaker's ModelError)", **_ERR}}
INVOCATION_BODY = {"requestBody": {"required": True, "content": {
    # One raw ad-click record (age, gender, device_type, ad_position, browsing_history, time_of_day).
    "text/csv": {"schema": {"type": "string", "minLength": 1}, "example": "25,Female,Mobile,Top,Shopping,Morning"},
    "application/json": {"schema": {"type": "object", "properties": {
        "instances": ROWS, "dataframe_records": ROWS,
        "dataframe_split": {"type": "object", "properties": {
            "columns": {"type": "array", "items": {"type": "string"}}, "data": ROWS}}}}},
}}}


def add_runtime_routes(api: "FastAPI", s: Shared) -> None:
    """SageMaker Runtime's InvokeEndpoint."""
    from fastapi import Request, Response

    @api.post("/endpoints/{endpoint_name}/invocations", response_model=None, tags=["sagemaker-runtime"],
              openapi_extra=INVOCATION_BODY, responses=RUNTIME_ERRORS)
    async def invoke_endpoint_route(endpoint_name: str, request: Request) -> Response:
        """SageMaker Runtime's InvokeEndpoint (boto3 `invoke_endpoint`, `aws sagemaker-runtime`)."""
        try:
            body = await s.limited_body(request)
        except MloopError as exc:
            return s.out(*invoke_endpoint.refuse(exc))
        call = invoke_endpoint.Invocation(s.live, endpoint_name, body, dict(request.headers),
                                          s.routing_header.lower())
        if call.request is None:
            assert call.refusal is not None
            return s.out(*call.refusal)
        if s.offload.wanted(body):
            answer = await s.offload.predict(s.live, s.metrics, call.request)
            return s.answered(s.out(*call.answer(answer)), call.request)
        return s.answered(s.out(*call.answer(handler.predict(s.live, s.metrics, call.request))), call.request)


def add_container_routes(api: "FastAPI", s: Shared) -> None:
    """The SageMaker container contract: health and invocations."""
    from fastapi import Request, Response

    @api.get("/ping", response_model=None, tags=["sagemaker"], responses={503: ERRORS["503"]})
    def ping_route() -> Response:
        return s.out(*handler.ping(s.live))

    @api.post("/invocations", response_model=None, tags=["sagemaker"], openapi_extra=INVOCATION_BODY,
              responses=INVOCATION_ANSWERS)
    async def invocations(request: Request) -> Response:
        return await s.run(request, handler.SAGEMAKER)
