"""Experiment tracking on MLflow: the only package that imports MLflow (lazily).

`configure(ws)` points MLflow at the workspace's store (SQLite under `.mloop/` by default, or a
remote `mlflow server`); runs, metrics and pyfunc models are logged through explicit clients;
`mlflow_registry` (MLflow's model registry, as plain data) is the adapter `mloop.registry`
builds its approval workflow on.
"""

from mloop.tracking.client import configure, experiment_id
from mloop.tracking.errors import TrackingError, TrackingNotFound, TrackingUnavailable
from mloop.tracking.logged_models import (
    default_requirements,
    download_model,
    files_digest,
    load_pyfunc,
    log_model,
    model_digest,
)
from mloop.tracking.runs import (
    Run,
    create_run,
    end_run,
    get_run,
    log_metrics,
    log_params,
    set_tags,
    start_run,
)

__all__ = [
    "Run",
    "TrackingError",
    "TrackingNotFound",
    "TrackingUnavailable",
    "configure",
    "create_run",
    "default_requirements",
    "download_model",
    "end_run",
    "experiment_id",
    "files_digest",
    "get_run",
    "load_pyfunc",
    "log_metrics",
    "log_model",
    "log_params",
    "model_digest",
    "set_tags",
    "start_run",
]
