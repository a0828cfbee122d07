"""Tracking and the registry against a real `mlflow server`, metadata on SQLite and PostgreSQL."""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest

from mloop import registry, tracking
from mloop.tracking import mlflow_registry

pytestmark = pytest.mark.slow


def _workspace(workspace_dir: Path, mlflow_url: str, database_url: str) -> Any:
    from mloop.store import open_workspace

    return open_workspace(workspace_dir, tracking_uri=mlflow_url, database_url=database_url)


def test_log_register_approve_and_load_through_the_server(
    workspace_dir: Path, mlflow_url: str, pg_url: str, tmp_path: Path,
) -> None:
    """The scale-out configuration: PostgreSQL metadata + a remote MLflow server."""
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from mloop.tracking.wrappers import log_estimator

    ws = _workspace(workspace_dir, mlflow_url, pg_url)
    name = f"remote-{uuid.uuid4().hex[:8]}"  # the server and the PG database outlive one test
    x = pd.DataFrame({"a": np.arange(10.0), "b": np.arange(10.0) ** 2})
    model = LinearRegression().fit(x, 3 * x["a"] + 1)
    with tracking.start_run(ws, experiment=f"exp-{name}", params={"fit": "ols"}) as parent, \
            tracking.start_run(ws, experiment=f"exp-{name}", parent_run_id=parent.run_id) as run:
        run.log_metrics({"r2": 1.0})
        uri = log_estimator(ws, run.run_id, model, input_example=x[:2])
    version = registry.register(ws, name, uri, metrics={"r2": 1.0})
    assert version.status == registry.PENDING and version.run_id == run.run_id
    registry.approve(ws, name, version.version, principal="alice", comment="fits")
    assert mlflow_registry.get_version(ws, name, 1)["tags"][registry.STATUS_TAG] == registry.APPROVED
    latest = registry.latest_approved(ws, name)
    local = tracking.download_model(ws, latest.model_uri, tmp_path / "dl")
    assert (local / "MLmodel").exists()
    predicted = tracking.load_pyfunc(ws, latest.model_uri).predict(x[:2])
    assert list(np.round(predicted, 6)) == [1.0, 4.0]
    assert tracking.get_run(ws, run.run_id)["tags"]["mlflow.parentRunId"] == parent.run_id
    ws.close()


def test_server_going_away_is_a_clear_error(workspace_dir: Path) -> None:
    from mloop.store import open_workspace
    from tests.support.servers import free_port

    ws = open_workspace(workspace_dir, tracking_uri=f"http://127.0.0.1:{free_port()}")
    with pytest.raises(tracking.TrackingUnavailable) as info:
        registry.register(ws, "m", "s3://b/m")
    assert info.value.code == "tracking_unavailable"
