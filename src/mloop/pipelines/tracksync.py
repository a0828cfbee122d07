"""Tracking that could not be written during a run, replayed from mloop's own records.

The tracking hook marks a run "tracking pending" (an outbox entry) when MLflow stops
answering; mloop's records keep everything MLflow should have received (parameters, step
metrics, statuses). `sync_run` writes it: the parent run (created if it never was), a nested
run per executed Training step that has none, and every step's metrics. It runs from
`mloop runs sync-tracking RUN` and automatically before the next run.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from mloop import tracking
from mloop.errors import Conflict
from mloop.pipelines import graph as g
from mloop.pipelines import runs
from mloop.pipelines.hooks import log_step, parent_tags
from mloop.pipelines.tracking_pending import TOPIC
from mloop.store import outbox

if TYPE_CHECKING:
    from mloop.pipelines.runs import RunRecord
    from mloop.store import Workspace

log = logging.getLogger("mloop.pipelines")
_MLFLOW_STATUS = {g.SUCCEEDED: "FINISHED", g.STOPPED: "KILLED"}


def sync_run(ws: Workspace, run_id: str) -> RunRecord:
    """Replay run `run_id`'s pending tracking into MLflow now.

    Raises:
        TrackingUnavailable: the server still does not answer (the entry stays pending).
        RunNotFound: no such run.
    """
    runs.get_run(ws, run_id)
    _, errors = outbox.drain(ws, TOPIC, lambda e: _replay(ws, e.subject), subject=run_id)
    if errors:
        raise tracking.TrackingUnavailable(f"tracking of run '{run_id}' is still pending: {errors[0]}")
    return runs.get_run(ws, run_id)


def drain_pending(ws: Workspace) -> int:
    """Replay every pending run (before a new run starts); failures stay pending, quietly."""
    if not outbox.pending(ws, TOPIC):
        return 0
    done, errors = outbox.drain(ws, TOPIC, lambda e: _replay(ws, e.subject))
    for error in errors:
        log.warning("tracking still pending for %s", error)
    return done


def _replay(ws: Workspace, run_id: str) -> None:
    record = runs.get_run(ws, run_id)
    if record.status in (g.PENDING, g.EXECUTING):
        raise Conflict(f"run '{run_id}' is still {record.status}; its tracking syncs when it ends")
    experiment = record.experiment or str(record.params.get("experiment_name") or record.pipeline)
    parent = record.mlflow_run_id
    if parent is None:
        graph = runs.run_graph(ws, run_id)
        parent = tracking.create_run(ws, experiment=experiment, run_name=run_id, params=record.params,
                                     tags=parent_tags(ws, run_id, graph, None)).run_id
        runs.update_run(ws, run_id, mlflow_run_id=parent, experiment=experiment)
    for step in record.steps:
        if step.status != g.SUCCEEDED or step.kind == g.CONDITION:
            continue
        if step.kind == g.TRAINING and step.mlflow_run_id in (None, parent):
            nested = tracking.create_run(ws, experiment=experiment, run_name=f"{run_id}/{step.name}",
                                         parent_run_id=parent, tags=_step_tags(record, step.name))
            log_step(ws, nested.run_id, {}, step.params, step.metrics, nested=True, step=step.name)
            tracking.end_run(ws, nested.run_id, "FINISHED")
            runs.update_step(ws, step.id, mlflow_run_id=nested.run_id)
        elif step.metrics:
            nested_id = step.mlflow_run_id if step.kind == g.TRAINING else None
            log_step(ws, nested_id or parent, {}, {}, step.metrics, nested=nested_id is not None,
                     step=step.name)
    tracking.set_tags(ws, parent, {"mloop.tracking": "replayed"})
    tracking.end_run(ws, parent, _MLFLOW_STATUS.get(record.status, "FAILED"))


def _step_tags(record: RunRecord, step: str) -> dict[str, Any]:
    return {"mloop.pipeline": record.pipeline, "mloop.run_id": record.id, "mloop.step": step,
            "mloop.tracking": "replayed"}
