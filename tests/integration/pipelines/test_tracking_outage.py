"""Seed 003's "MLflow ConnectionError": an unreachable tracking server stops a run before its
first step; one that goes away mid-run leaves the run "tracking pending", and its tracking is
replayed into MLflow when the server is back (by hand or by the next run)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from mloop.pipelines import list_runs, run_pipeline
from tests.support import example_pipeline as ex
from tests.support.mlflow_server import mlflow_server
from tests.support.servers import free_port


@pytest.fixture
def outage_ws(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[Any, int]]:
    from mloop.config import init_workspace
    from mloop.store import open_workspace
    from mloop.tracking.client import reset_caches

    port = free_port()
    monkeypatch.setenv("MLOOP_TRACKING_URI", f"http://127.0.0.1:{port}")
    init_workspace(tmp_path / "ws")
    ws = open_workspace(tmp_path / "ws")
    yield ws, port
    ex.BEFORE_SAVE.clear()
    ws.close()
    reset_caches()


def test_nothing_listening_stops_the_run_before_its_first_step(outage_ws: tuple[Any, int]) -> None:
    from mloop.tracking import TrackingUnavailable

    ws, port = outage_ws
    with pytest.raises(TrackingUnavailable) as err:
        run_pipeline(ws, ex.outage)
    assert f"127.0.0.1:{port}" in err.value.message and "mlflow server" in (err.value.hint or "")
    assert list_runs(ws) == []


@pytest.mark.slow
def test_tracking_lost_mid_run_is_kept_and_replayed(outage_ws: tuple[Any, int], tmp_path: Path,
                                                      mlflow_template: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    from mloop import tracking
    from mloop.pipelines import get_run
    from mloop.pipelines.tracksync import sync_run

    ws, port = outage_ws
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # a refused connection fails at once
    # something answers the preflight's connect, then goes away after the first step
    listener = socket.create_server(("127.0.0.1", port))
    ex.BEFORE_SAVE.append(listener.close)
    record = run_pipeline(ws, ex.outage)
    assert record.status == "Succeeded", record.error  # the work itself is not lost
    assert record.tracking_pending and f"127.0.0.1:{port}" in record.tracking_pending
    assert record.mlflow_run_id is None and record.step("train").mlflow_run_id is None

    with pytest.raises(tracking.TrackingUnavailable):
        sync_run(ws, record.id)  # still down: stays pending
    assert get_run(ws, record.id).tracking_pending

    ex.BEFORE_SAVE.clear()
    with mlflow_server(tmp_path / "mlflow", template=mlflow_template, port=port):
        tracking.client.reset_caches()
        synced = sync_run(ws, record.id)
        assert synced.tracking_pending is None and synced.mlflow_run_id
        parent = tracking.get_run(ws, synced.mlflow_run_id)
        assert parent["params"]["depth"] == "3" and parent["tags"]["mloop.run_id"] == record.id
        assert parent["status"] == "FINISHED"
        nested = tracking.get_run(ws, synced.step("train").mlflow_run_id)
        assert nested["tags"]["mlflow.parentRunId"] == synced.mlflow_run_id
        assert nested["metrics"]["importance.x"] == 0.7 and nested["params"]["depth"] == "3"
