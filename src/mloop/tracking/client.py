"""Configure MLflow from mloop's settings and hand out clients bound to the workspace's store.

MLflow keeps a process-global tracking URI that its fluent helpers (model logging, model
loading) read; mloop sets it under a lock right before those calls, and uses explicit
`MlflowClient(tracking_uri, registry_uri)` objects everywhere else, so two workspaces in one
process (tests, the control plane) never write into each other's store.
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from mloop.store.locks import file_lock
from mloop.tracking.errors import TrackingUnavailable, mlflow_errors

if TYPE_CHECKING:
    from mlflow import MlflowClient
    from mlflow.entities import Experiment

    from mloop.store import Workspace

# Serializes the calls that read MLflow's process-global tracking URI.
GLOBAL_LOCK = threading.RLock()
_clients: dict[str, Any] = {}
_experiments: dict[tuple[str, str], str] = {}
_probed: dict[str, float] = {}

# What MLflow 3.x needs set explicitly for a quiet, bounded, offline-friendly client.
_ENV_DEFAULTS = {
    "MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2",
    "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1",
    "MLFLOW_HTTP_REQUEST_TIMEOUT": "30",
    "MLFLOW_DISABLE_TELEMETRY": "true",
    "MLFLOW_RECORD_ENV_VARS_IN_MODEL_LOGGING": "false",
    "MLFLOW_ENABLE_ASYNC_LOGGING": "false",
    "GIT_PYTHON_REFRESH": "quiet",
}


def tracking_uri(ws: Workspace) -> str:
    return ws.settings.tracking_uri


def is_remote(uri: str) -> bool:
    return uri.startswith(("http://", "https://"))


def configure(ws: Workspace) -> MlflowClient:
    """Point MLflow at the workspace's tracking store and return a client bound to it.

    The default store is SQLite (`sqlite:///.mloop/mlflow.db`) with run and model artifacts under
    `settings.mlflow_artifact_root`; an `http(s)://` URI uses that MLflow server (and its
    artifact proxy). The tracking store also serves as the model registry.

    Raises:
        TrackingUnavailable: the server does not answer, or the database cannot be opened.
    """
    uri = tracking_uri(ws)
    for key, value in _ENV_DEFAULTS.items():
        os.environ.setdefault(key, value)
    if is_remote(uri):
        _probe(uri)
    elif uri.startswith("sqlite:///"):
        Path(uri[len("sqlite:///"):].split("?", 1)[0]).parent.mkdir(parents=True, exist_ok=True)
    client = _clients.get(uri)
    if client is None:
        with GLOBAL_LOCK, mlflow_errors(uri):
            _quiet_logs()
            from mlflow import MlflowClient

            client = _clients.get(uri)
            if client is None:
                with _store_init_lock(uri):
                    client = MlflowClient(tracking_uri=uri, registry_uri=uri)
                    client.search_registered_models(max_results=1)  # opens the registry store too
            _clients[uri] = client
    with GLOBAL_LOCK:
        _set_global(uri)
    return client


@contextmanager
def _store_init_lock(uri: str) -> Iterator[None]:
    """Serialize the first opening of a SQLite store across processes.

    MLflow creates and migrates a new SQLite store when a client first opens it; two processes
    doing that at once (two first pipeline runs in a fresh workspace) race, and one fails with
    "duplicate column" or an alembic row-count error.
    """
    if not uri.startswith("sqlite:///"):
        yield
        return
    db = Path(uri[len("sqlite:///"):].split("?", 1)[0])
    with file_lock(db.with_name(db.name + ".init.lock")):
        yield


@contextmanager
def activated(ws: Workspace) -> Iterator[MlflowClient]:
    """Hold the global lock with MLflow's global URIs set to this workspace's store."""
    client = configure(ws)
    with GLOBAL_LOCK:
        _set_global(tracking_uri(ws))
        with mlflow_errors(tracking_uri(ws)):
            yield client


def _set_global(uri: str) -> None:
    import mlflow

    if mlflow.get_tracking_uri() != uri:
        mlflow.set_tracking_uri(uri)
    if mlflow.get_registry_uri() != uri:
        mlflow.set_registry_uri(uri)


def _quiet_logs() -> None:
    # MLflow migrates a new SQLite store with Alembic and logs every revision at INFO.
    for name in ("alembic.runtime.migration", "mlflow.store.db.utils", "mlflow.models.model",
                 "mlflow.tracking._model_registry.fluent", "mlflow.tracking._tracking_service.client",
                 "mlflow.store.model_registry.abstract_store"):
        logging.getLogger(name).setLevel(logging.WARNING)
    # Its pickling advice on every pyfunc log is noise for mloop's own model wrappers.
    logging.getLogger("mlflow.pyfunc").setLevel(logging.ERROR)


def check_reachable(ws: Workspace) -> None:
    """Whether the tracking server answers (a TCP connect; MLflow itself is not imported).

    Raises:
        TrackingUnavailable: a remote server does not answer (the hint says how to start it).
    """
    uri = tracking_uri(ws)
    if is_remote(uri):
        _probed.pop(uri, None)  # a fresh answer, not one from 10 s ago
        _probe(uri)


def _probe(uri: str) -> None:
    """Fail in milliseconds, not minutes of retries, when the server is not there."""
    if time.monotonic() - _probed.get(uri, -1e9) < 10:
        return
    parsed = urlparse(uri)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    try:
        with socket.create_connection((parsed.hostname or "127.0.0.1", port), timeout=3):
            pass
    except OSError as exc:
        raise TrackingUnavailable(
            f"the MLflow tracking server at {uri} is unreachable: {exc.strerror or exc}",
            hint=f"Start it (`mlflow server --host {parsed.hostname} --port {port}`) or change "
            "tracking_uri (`mloop config show`; MLOOP_TRACKING_URI).",
        ) from exc
    _probed[uri] = time.monotonic()


def experiment_id(ws: Workspace, name: str) -> str:
    """The id of experiment `name`, created on first use (artifacts under mlflow_artifact_root)."""
    uri = tracking_uri(ws)
    cached = _experiments.get((uri, name))
    if cached is not None:
        return cached
    client = configure(ws)
    with mlflow_errors(uri):
        found: Experiment | None = client.get_experiment_by_name(name)
        if found is None:
            found = _create_experiment(ws, client, name)
        elif found.lifecycle_stage == "deleted":
            client.restore_experiment(found.experiment_id)
    _experiments[(uri, name)] = found.experiment_id
    return str(found.experiment_id)


def _create_experiment(ws: Workspace, client: MlflowClient, name: str) -> Experiment:
    from mlflow.exceptions import MlflowException

    location = None
    if not is_remote(tracking_uri(ws)):
        root = ws.settings.mlflow_artifact_root
        base = root if "://" in root else Path(root).resolve().as_uri()
        slug = re.sub(r"[^A-Za-z0-9._-]+", "-", name).strip("-") or "experiment"
        location = f"{base.rstrip('/')}/{slug}"
    try:
        client.create_experiment(name, artifact_location=location)
    except MlflowException as exc:  # another process created it first
        if exc.error_code != "RESOURCE_ALREADY_EXISTS":
            raise
    experiment = client.get_experiment_by_name(name)
    assert experiment is not None
    return experiment


def reset_caches() -> None:
    """Forget clients and experiment ids (tests that recreate stores under one URI)."""
    _clients.clear()
    _experiments.clear()
    _probed.clear()
