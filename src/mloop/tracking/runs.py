"""Experiment runs: start (optionally nested) runs and log parameters, metrics and tags."""

from __future__ import annotations

import math
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from mloop.auth import acting_principal
from mloop.errors import InvalidInput
from mloop.tracking.client import configure, experiment_id, tracking_uri
from mloop.tracking.errors import mlflow_errors
from mloop.tracking.logged_models import log_model

if TYPE_CHECKING:
    from mloop.store import Workspace

_PARAM_MAX = 6000  # MLflow's limit on a parameter value
_BATCH = 100


@dataclass
class Run:
    """A handle on an active MLflow run, with the logging helpers bound to it."""

    ws: Workspace = field(repr=False)
    run_id: str
    experiment_id: str
    experiment: str
    parent_run_id: str | None = None

    def log_params(self, params: Mapping[str, Any]) -> None:
        log_params(self.ws, self.run_id, params)

    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        log_metrics(self.ws, self.run_id, metrics, step=step)

    def set_tags(self, tags: Mapping[str, Any]) -> None:
        set_tags(self.ws, self.run_id, tags)

    def log_model(self, **kwargs: Any) -> str:
        return log_model(self.ws, self.run_id, **kwargs)


def create_run(
    ws: Workspace,
    *,
    experiment: str,
    run_name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    parent_run_id: str | None = None,
) -> Run:
    """Open an MLflow run that outlives this call (end it with `end_run`, maybe in another process).

    `start_run` is the usual form; this one is for runs that span processes (a KFP pipeline's
    parent run is opened by one task and closed by another).

    Raises:
        TrackingUnavailable: the tracking store cannot be reached.
    """
    client = configure(ws)
    exp_id = experiment_id(ws, experiment)
    all_tags = {"mlflow.user": acting_principal(ws), "mloop.principal": acting_principal(ws),
                **{k: _text(v) for k, v in (tags or {}).items()}}
    if parent_run_id:
        all_tags["mlflow.parentRunId"] = parent_run_id
    with mlflow_errors(tracking_uri(ws)):
        info = client.create_run(exp_id, run_name=run_name, tags=all_tags).info
    run = Run(ws, info.run_id, exp_id, experiment, parent_run_id)
    if params:
        run.log_params(params)
    return run


def end_run(ws: Workspace, run_id: str, status: str = "FINISHED") -> None:
    """Close a run: FINISHED, FAILED or KILLED."""
    with mlflow_errors(tracking_uri(ws)):
        configure(ws).set_terminated(run_id, status=status)


@contextmanager
def start_run(
    ws: Workspace,
    *,
    experiment: str,
    run_name: str | None = None,
    params: Mapping[str, Any] | None = None,
    tags: Mapping[str, Any] | None = None,
    parent_run_id: str | None = None,
) -> Iterator[Run]:
    """Open an MLflow run for the block; FINISHED when it ends, FAILED (or KILLED) when it raises.

    Args:
        experiment: experiment name, created on first use.
        run_name: shown in the MLflow UI.
        params, tags: logged at start.
        parent_run_id: nest this run under another (e.g. a training step under its pipeline run).

    Yields:
        A `Run` with `.run_id` and bound `log_params / log_metrics / set_tags / log_model`.

    Raises:
        TrackingUnavailable: the tracking store cannot be reached.
    """
    run = create_run(ws, experiment=experiment, run_name=run_name, params=params, tags=tags,
                     parent_run_id=parent_run_id)
    try:
        yield run
    except BaseException as exc:
        end_run(ws, run.run_id, "KILLED" if isinstance(exc, KeyboardInterrupt) else "FAILED")
        raise
    end_run(ws, run.run_id, "FINISHED")


def log_params(ws: Workspace, run_id: str, params: Mapping[str, Any]) -> None:
    """Log parameters (values become text, cut to MLflow's 6000-character limit)."""
    from mlflow.entities import Param

    items = [Param(str(k), _text(v)[:_PARAM_MAX]) for k, v in params.items()]
    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        for start in range(0, len(items), _BATCH):
            client.log_batch(run_id, params=items[start:start + _BATCH])


def log_metrics(
    ws: Workspace, run_id: str, metrics: Mapping[str, float], step: int | None = None
) -> None:
    """Log numeric metrics at one timestamp (and step).

    Raises:
        InvalidInput: a value is not a number.
    """
    from mlflow.entities import Metric

    now = int(time.time() * 1000)
    items = []
    for key, value in metrics.items():
        try:
            number = float(value)
        except (TypeError, ValueError):
            raise InvalidInput(f"metric '{key}' must be a number, got {type(value).__name__}: {value!r}",
                               hint="Log text values as tags or params instead.") from None
        items.append(Metric(str(key), number if math.isfinite(number) else float("nan"), now, step or 0))
    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        for start in range(0, len(items), _BATCH * 10):
            client.log_batch(run_id, metrics=items[start:start + _BATCH * 10])


def set_tags(ws: Workspace, run_id: str, tags: Mapping[str, Any]) -> None:
    """Set run tags (values become text)."""
    from mlflow.entities import RunTag

    items = [RunTag(str(k), _text(v)) for k, v in tags.items()]
    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        for start in range(0, len(items), _BATCH):
            client.log_batch(run_id, tags=items[start:start + _BATCH])


def get_run(ws: Workspace, run_id: str) -> dict[str, Any]:
    """A run as plain data: id, experiment, status, params, metrics, tags, times."""
    client = configure(ws)
    with mlflow_errors(tracking_uri(ws)):
        run = client.get_run(run_id)
    return {
        "run_id": run.info.run_id, "experiment_id": run.info.experiment_id,
        "run_name": run.info.run_name, "status": run.info.status,
        "start_time": run.info.start_time, "end_time": run.info.end_time,
        "params": dict(run.data.params), "metrics": dict(run.data.metrics), "tags": dict(run.data.tags),
    }


def _text(value: Any) -> str:
    return value if isinstance(value, str) else str(value)
