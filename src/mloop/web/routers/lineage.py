"""`/lineage`: seed 004's lineage API, plus model-version, endpoint and artifact lineage.

`GET /lineage` answers exactly as the seed documents, errors included: 400 `{"message":
"pipeline is required"}`, 404 `{"message": "pipeline not found or domain filter mismatched"}`,
500 `{"message": "internal error", "requestId": ...}`. The hint mloop would normally put in the
body travels in the `X-Mloop-Hint` header so the bodies stay the seed's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import orjson
from fastapi import APIRouter, Depends, Query, Response

from mloop import lineage
from mloop.errors import MloopError, NotFound
from mloop.lineage.schema import component
from mloop.web import redact
from mloop.web.app import get_workspace
from mloop.web.auth import Principal, require_role

if TYPE_CHECKING:
    from mloop.store import Workspace

router = APIRouter(tags=["lineage"])
viewer = require_role("viewer")

PIPELINE_REQUIRED = "pipeline is required"
PIPELINE_NOT_FOUND = "pipeline not found or domain filter mismatched"


def _json(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(data, option=orjson.OPT_NON_STR_KEYS), status_code=status,
                    media_type="application/json", headers=headers)


def _seed_error(status: int, message: str, exc: MloopError | None = None) -> Response:
    headers = {}
    if exc is not None:
        headers["X-Mloop-Error-Code"] = exc.code
        if exc.hint:
            headers["X-Mloop-Hint"] = exc.hint.encode("ascii", "replace").decode()[:500]
    return _json({"message": message}, status, headers)


def _schema(name: str) -> dict[str, Any]:
    return component(name)


_MESSAGE = {"application/json": {"schema": {
    "type": "object", "required": ["message"], "properties": {"message": {"type": "string"}}}}}


@router.get(
    "/lineage",
    summary="The lineage graph of a pipeline and its latest (or a given) execution (seed 004).",
    description=(
        "Seed 004's format: `pipeline`, `summary`, `graph.nodes/edges/artifacts` (+ `execution`). "
        "A known pipeline that never ran answers 200 with `summary.overallStatus` `NotStarted` and "
        "nodes whose `run` is null; a run still executing shows `Executing` steps with no `endTime`. "
        "Artifact storage settings that cannot be read are `Unknown`, with `reasons`."
    ),
    responses={
        200: {"content": {"application/json": {"schema": _schema("lineage")}}},
        400: {"description": "pipeline is required", "content": _MESSAGE},
        404: {"description": "pipeline not found or domain filter mismatched", "content": _MESSAGE},
    },
)
def get_lineage(
    pipeline: str | None = Query(None, description="Pipeline name."),
    include_latest_exec: bool = Query(True, alias="includeLatestExec",
                                      description="Add the execution's status, metrics and I/O."),
    run_id: str | None = Query(None, alias="runId", description="This run instead of the latest."),
    domain: str | None = Query(None, description="Only if the pipeline's domain tag matches."),
    region: str | None = Query(None, description="Accepted for seed compatibility; ignored."),
    ws: Workspace = Depends(get_workspace),
    who: Principal = Depends(viewer),
) -> Response:
    if not pipeline or not pipeline.strip():
        return _seed_error(400, PIPELINE_REQUIRED)
    try:
        data = lineage.pipeline(ws, pipeline.strip(), include_latest_exec=include_latest_exec,
                                run_id=run_id, domain=domain)
    except lineage.RunNotFound as exc:
        return _seed_error(404, exc.message, exc)
    except NotFound as exc:
        return _seed_error(404, PIPELINE_NOT_FOUND, exc)
    return _json(redact.for_caller(data, who.authenticated))


@router.get(
    "/lineage/models/{name}/{version}",
    summary="Upstream and downstream of a model version: run, data, approvals, deployments.",
    responses={200: {"content": {"application/json": {"schema": _schema("model")}}}},
)
def get_model_lineage(
    name: str, version: int, ws: Workspace = Depends(get_workspace), who: Principal = Depends(viewer)
) -> Response:
    return _json(redact.for_caller(lineage.model(ws, name, version), who.authenticated))


@router.get(
    "/lineage/endpoints/{name}",
    summary="The chain behind each variant of an endpoint: model version, run, data.",
    responses={200: {"content": {"application/json": {"schema": _schema("endpoint")}}}},
)
def get_endpoint_lineage(
    name: str, ws: Workspace = Depends(get_workspace), who: Principal = Depends(viewer)
) -> Response:
    return _json(redact.for_caller(lineage.endpoint(ws, name), who.authenticated))


@router.get(
    "/lineage/artifacts/{digest}",
    summary="Who produced an artifact and who used it.",
    responses={200: {"content": {"application/json": {"schema": _schema("artifact")}}}},
)
def get_artifact_lineage(
    digest: str, ws: Workspace = Depends(get_workspace), who: Principal = Depends(viewer)
) -> Response:
    return _json(redact.for_caller(lineage.artifact(ws, digest), who.authenticated))
