"""The real stage implementations: Source, TrainRegister, Approval, Deploy, Verify.

Each is written so that running it again after a crash is safe: it records what it started
(the pipeline run, the endpoint generation before the deploy) as partial outputs first, and on a
second attempt adopts or finishes that work instead of doing it twice.
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop import registry, serving
from mloop.errors import MloopError, NotFound
from mloop.lineage import model_uri, record_link
from mloop.pipelines import get_run, load_pipeline, retry_run, run_pipeline
from mloop.pipelines.runs import new_run_id, update_run
from mloop.release.errors import StageFailed, StageRejected
from mloop.release.verify import smoke
from mloop.serving.endpoints import find_endpoint

if TYPE_CHECKING:
    from mloop.release.engine import StageContext


def source(ctx: StageContext) -> dict[str, Any]:
    """Record the commit, branch, dirty flag (checked at start) and the pipeline definition hash."""
    info = dict(ctx.options.get("source") or {})
    return {**info, "pipeline": ctx.release.pipeline, "pipeline_hash": pipeline_hash(ctx)}


def pipeline_hash(ctx: StageContext) -> str:
    """The digest of the pipeline's definition graph (what exactly will be trained).

    Raises:
        StageFailed: the pipeline is unknown or its definition is invalid.
    """
    try:
        definition = load_pipeline(ctx.ws, ctx.release.pipeline)
    except MloopError as exc:
        raise StageFailed(f"pipeline '{ctx.release.pipeline}': {exc.message}", hint=exc.hint) from exc
    graph = definition.graph() if callable(getattr(definition, "graph", None)) else definition.graph
    return str(graph.digest())


def train_register(ctx: StageContext) -> dict[str, Any]:
    """Run the pipeline (or finish the run a crash interrupted) and find the version it registered."""
    release = ctx.release
    earlier: str = ctx.outputs("TrainRegister").get("run_id") or ""
    record = _existing_run(ctx, earlier, get_run) if earlier else None
    if record is not None and record.status != "Succeeded":
        ctx.progress(f"finishing pipeline run {earlier} (interrupted): retrying what did not succeed")
        if record.status == "Executing":  # its process died with the previous driver
            update_run(ctx.ws, earlier, status="Stopped", error="interrupted: the release driver died")
        retry_id = new_run_id(release.pipeline.rsplit(":", 1)[-1])
        tried = [*ctx.outputs("TrainRegister").get("runs", [earlier]), retry_id]
        ctx.progress(run_id=retry_id, retried_run_id=earlier, runs=tried)  # recorded before it starts
        record = retry_run(ctx.ws, earlier, new_run_id=retry_id, principal=release.created_by)
    elif record is None:
        record = _run(ctx)
    if record.status != "Succeeded":
        raise StageFailed(
            f"pipeline run {record.id} of {release.pipeline} ended {record.status}"
            + (f": {record.error}" if record.error else ""),
            hint=f"Inspect it with `mloop runs show {record.id}`; fix, commit, and start a new release.",
        )
    version = _registered_version(ctx, record)
    _link(ctx, version.version)
    return {"run_id": record.id, "model_version": version.version, "model_uri": version.model_uri,
            "metrics": version.metrics}


def _link(ctx: StageContext, version: int) -> None:
    """Lineage: this release registered the version (and what started the release led here)."""
    release = ctx.release
    record_link(ctx.ws.db, f"mloop://releases/{release.id}", model_uri(release.model, version), "registered",
                {"kind": "release", "id": release.id, "commit": release.commit,
                 "pipeline": release.pipeline, "trigger": (ctx.options.get("trigger") or {}).get("kind")})


def _existing_run(ctx: StageContext, run_id: str, get_run: Any) -> Any:
    try:
        return get_run(ctx.ws, run_id)
    except NotFound:  # only "no such run": a database outage must not start a second run
        return None  # the crash came before the run was recorded: run it now


def _run(ctx: StageContext) -> Any:
    """Run the pipeline under a run id recorded first, so a crash mid-run can be finished."""
    release = ctx.release
    run_id = new_run_id(release.pipeline.rsplit(":", 1)[-1])  # a "module:function" ref names no run
    ctx.progress(f"running pipeline {release.pipeline} as run {run_id} with {release.params or 'its defaults'}",
                 run_id=run_id)
    return run_pipeline(ctx.ws, release.pipeline, dict(release.params), run_id=run_id,
                        principal=release.created_by)


def _registered_version(ctx: StageContext, record: Any) -> Any:
    model = ctx.release.model
    try:
        candidates = registry.versions(ctx.ws, model)
    except registry.ModelNotFound:
        candidates = []
    mlflow_runs = {s.mlflow_run_id for s in getattr(record, "steps", []) if getattr(s, "mlflow_run_id", None)}
    run_ids = {record.id, record.origin_run_id, *ctx.outputs("TrainRegister").get("runs", [])} - {None}
    mine = [v for v in candidates
            if v.metadata.get("pipeline_run_id") in run_ids or (v.run_id and v.run_id in mlflow_runs)
            or run_ids & set(v.metadata.get("reused_by_pipeline_runs", []))]  # unchanged files: the same version
    if not mine:
        raise StageFailed(
            f"pipeline run {record.id} succeeded but registered no version of model '{model}' "
            "(did its quality gate fail?)",
            hint=f"See `mloop runs show {record.id}`; check [release] model matches the pipeline's model name.",
        )
    return max(mine, key=lambda v: v.version)


def approval(ctx: StageContext) -> dict[str, Any]:
    """Wait until the registered version is Approved (continue) or Rejected (end Rejected)."""
    release = ctx.release
    name, version = release.model, int(release.model_version or 0)
    since = ctx.outputs("Approval").get("waiting_since")
    if since is None:
        since = datetime.now(UTC).isoformat()
        ctx.progress(f"waiting for approval of {name} v{version}: `mloop release approve {release.id}`",
                     waiting_since=since)
    if ctx.outputs("Approval").get("driver_idle_at"):  # a driver drives it again
        ctx.progress(driver_idle_at=None)
    timeout = ctx.options.get("approval_timeout")
    poll = float(ctx.options.get("poll_interval") or 1.0)
    while True:
        mv = registry.get_version(ctx.ws, name, version)
        if mv.status == registry.APPROVED:
            return {"status": mv.status, "approved_by": mv.approved_by, "comment": mv.comment,
                    "approved_at": mv.approved_at.isoformat() if mv.approved_at else None}
        if mv.status == registry.REJECTED:
            why = f": {mv.comment}" if mv.comment else ""
            raise StageRejected(f"{name} v{version} was rejected by {mv.decided_by or 'someone'}{why}")
        waited = (datetime.now(UTC) - datetime.fromisoformat(since)).total_seconds()
        if timeout and waited > float(timeout):
            raise StageFailed(
                f"no decision on {name} v{version} within the approval timeout ({float(timeout):g} s)",
                hint="Approve it (`mloop models approve`) and start a new release, or raise "
                "[release] approval_timeout.",
            )
        ctx.still_wanted(f"waiting for approval of {name} v{version}")
        ctx.sleep(poll)


def deploy(ctx: StageContext) -> dict[str, Any]:
    """Deploy exactly this release's version (or the newest Approved, when configured)."""
    release, opts = ctx.release, ctx.options
    version = int(release.model_version or 0)
    if opts.get("use_latest_approved"):
        version = registry.latest_approved(ctx.ws, release.model).version
    current = find_endpoint(ctx.ws, release.endpoint)
    partial = ctx.outputs("Deploy")
    if "generation" in partial and current and _serves(current, partial["variant"], version):
        return partial  # deployed before a crash: do not deploy twice
    weight = opts.get("canary_weight")
    variant, weight = ("canary", int(weight)) if weight and current else ("production", 100)
    previous = current.generation if current else 0
    ctx.progress(f"deploying {release.model} v{version} to {release.endpoint}/{variant} ({weight}%)",
                 previous_generation=previous, variant=variant, weight=weight, version=version)
    endpoint = serving.deploy(ctx.ws, release.endpoint, release.model, version=version,
                              variant=variant, weight=weight, principal=release.created_by)
    return {"version": version, "variant": variant, "weight": weight,
            "generation": endpoint.generation, "previous_generation": previous}


def _serves(endpoint: Any, variant: str, version: int) -> bool:
    return any(v.name == variant and v.model_version == version for v in endpoint.variants)


def verify(ctx: StageContext) -> dict[str, Any]:
    """Smoke-invoke the endpoint through every protocol; roll back and fail if it misbehaves."""
    deployed = ctx.outputs("Deploy")
    started = time.perf_counter()
    try:
        checks = smoke(ctx.ws, ctx.release, deployed, ctx.options)
    except StageFailed as exc:
        note = rollback(ctx, deployed)
        raise StageFailed(f"{exc.message}; {note}", hint=exc.hint) from exc
    return {"checks": checks, "seconds": round(time.perf_counter() - started, 3)}


def rollback(ctx: StageContext, deployed: dict[str, Any]) -> str:
    """Undo this release's deploy, once: only if the endpoint still shows our generation."""
    release = ctx.release
    current = find_endpoint(ctx.ws, release.endpoint)
    if current is None or current.generation != deployed.get("generation"):
        return "the endpoint changed since this deploy; not rolled back"
    try:
        restored = serving.rollback(ctx.ws, release.endpoint, principal=release.created_by)
    except MloopError as exc:
        return f"could not roll back: {exc.message}"
    ctx.progress(rolled_back_to=restored.generation)
    served = ", ".join(f"{v.name}={v.model_name} v{v.model_version}" for v in restored.variants)
    return f"rolled endpoint '{release.endpoint}' back ({served})"


STAGE_FUNCTIONS = {
    "Source": source,
    "TrainRegister": train_register,
    "Approval": approval,
    "Deploy": deploy,
    "Verify": verify,
}
