"""A KFP `Model` artifact into mloop's registry (then approved, deployed and served as usual).

`register_from_run` takes the artifact a finished run stored (`mloop models register NAME
--from-run RUN --task TASK --output NAME`); `register_from_component` is the in-pipeline way: a
component running under mloop calls it with its `model.path`. Either logs the artifact as an
MLflow pyfunc model (see `pyfunc.py`) and registers it PendingManualApproval.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop import registry, tracking
from mloop.errors import InvalidInput, NotFound, PermissionDenied, did_you_mean
from mloop.pipelines.graph import EXECUTING
from mloop.pipelines.kfp_frontend.artifacts import StoredArtifact
from mloop.pipelines.runs import get_run, load_artifact
from mloop.store import open_workspace

if TYPE_CHECKING:
    from mloop.registry import ModelVersion
    from mloop.store import Workspace

PYFUNC = Path(__file__).with_name("pyfunc.py")
# The run a component process works for (set by the step that starts it); not a setting.
RUN_ENV = "_MLOOP_RUN_ID"


def register_model_artifact(
    ws: Workspace, name: str, model_path: Path, *, metadata: dict[str, Any] | None = None,
    metrics: dict[str, Any] | None = None, artifact_meta: dict[str, Any] | None = None,
    run_id: str | None = None, principal: str | None = None,
) -> ModelVersion:
    """Log the artifact at `model_path` as an MLflow model and register a Pending version.

    Raises:
        InvalidInput: nothing at `model_path`.
    """
    if not model_path.exists():
        raise InvalidInput(f"model artifact {model_path} does not exist")
    with tempfile.TemporaryDirectory(prefix="mloop-kfp-model-") as tmp:
        meta = Path(tmp) / "meta.json"
        meta.write_text(json.dumps(artifact_meta or {}, default=str), encoding="utf-8")
        artifacts = {"model": str(model_path), "meta": str(meta)}
        if run_id is None:
            with tracking.start_run(ws, experiment="kfp-models", run_name=name) as run:
                uri = tracking.log_model(ws, run.run_id, python_model=str(PYFUNC), artifacts=artifacts)
                run_id = run.run_id
        else:
            uri = tracking.log_model(ws, run_id, python_model=str(PYFUNC), artifacts=artifacts)
    return registry.register(ws, name, uri, run_id=run_id, metrics=metrics, metadata=metadata,
                             principal=principal)


def register_from_run(ws: Workspace, name: str, run_id: str, task: str, output: str, *,
                      principal: str | None = None) -> ModelVersion:
    """Register the `output` Model artifact of step `task` of pipeline run `run_id`, by `principal`
    (who asks; default the acting principal).

    Raises:
        NotFound: no such run, task or output (the hint names the ones there are).
        InvalidInput: the output is not a KFP Model artifact.
    """
    record = get_run(ws, run_id)
    steps = {s.name: s for s in record.steps}
    if task not in steps:
        raise NotFound(f"run {run_id} has no task '{task}'", hint=did_you_mean(task, steps))
    step = steps[task]
    if output not in step.outputs:
        raise NotFound(f"task '{task}' of run {run_id} has no output '{output}'",
                       hint=did_you_mean(output, step.outputs))
    stored = load_artifact(ws, run_id, task, output)
    if not isinstance(stored, StoredArtifact) or stored.title != "system.Model" or stored.path is None:
        raise InvalidInput(f"output '{output}' of task '{task}' is not a KFP Model artifact")
    metrics = {k: v for s in record.steps for k, v in (s.metrics or {}).items()}
    meta = {"pipeline": record.pipeline, "pipeline_run": run_id, "task": task, "output": output,
            "digest": step.outputs[output]["digest"]}
    return register_model_artifact(ws, name, stored.path, metadata=meta, metrics=metrics,
                                   artifact_meta=stored.metadata, run_id=step.mlflow_run_id, principal=principal)


def register_from_component(name: str, model_path: str, *, metrics: dict[str, Any] | None = None,
                            artifact_meta: dict[str, Any] | None = None) -> int:
    """Called from a KFP component running under mloop (its working directory is the workspace);
    `artifact_meta` is the Model artifact's metadata (`features` selects the scored columns).
    The version is registered by the principal of the run the component works for (never the
    component process's own configuration), so the four-eyes rule binds whoever started the run.

    Returns:
        The new version number.
    """
    ws = open_workspace()
    try:
        version = register_model_artifact(ws, name, Path(model_path), metrics=metrics,
                                          artifact_meta=artifact_meta, principal=_run_principal(ws),
                                          metadata={"registered_from": "kfp component"})
    finally:
        ws.close()
    return version.version


def _run_principal(ws: Workspace) -> str | None:
    """The principal of the executing run named by RUN_ENV (None outside a run).

    Raises:
        PermissionDenied: RUN_ENV names no executing run (a process cannot borrow a finished
            run's identity).
    """
    run_id = os.environ.get(RUN_ENV)
    if not run_id:
        return None
    try:
        record = get_run(ws, run_id)
    except NotFound:
        record = None
    if record is None or record.status != EXECUTING:
        raise PermissionDenied(f"{RUN_ENV}={run_id} names no executing run",
                               hint="Register from a component while its run executes.")
    return record.principal
