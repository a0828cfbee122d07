"""mloop.tracking against the embedded SQLite MLflow store."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import pytest

from mloop import tracking
from mloop.errors import InvalidInput
from mloop.tracking import TrackingNotFound, TrackingUnavailable


def _fitted(seed: int = 0) -> tuple[Any, Any]:
    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LogisticRegression

    rng = np.random.default_rng(seed)
    x = pd.DataFrame(rng.normal(size=(60, 2)), columns=["a", "b"])
    y = (x["a"] > 0).astype(int)
    return LogisticRegression().fit(x, y), x


def test_nested_runs_record_params_metrics_tags_and_status(ml_workspace: Any) -> None:
    ws = ml_workspace
    with tracking.start_run(ws, experiment="exp", run_name="parent", params={"lr": 0.1},  # noqa: SIM117
                            tags={"pipeline": "p"}) as parent:
        with tracking.start_run(ws, experiment="exp", parent_run_id=parent.run_id) as child:
            child.log_metrics({"auc": 0.91, "n": 3})
            child.set_tags({"kind": "Training"})
    got = tracking.get_run(ws, child.run_id)
    assert got["tags"]["mlflow.parentRunId"] == parent.run_id
    assert got["metrics"] == {"auc": 0.91, "n": 3.0}
    assert got["status"] == "FINISHED"
    assert got["tags"]["mlflow.user"] == "tester"
    top = tracking.get_run(ws, parent.run_id)
    assert top["params"] == {"lr": "0.1"} and top["tags"]["pipeline"] == "p"


def test_a_run_that_raises_is_marked_failed(ml_workspace: Any) -> None:
    with pytest.raises(RuntimeError), tracking.start_run(ml_workspace, experiment="exp") as run:
        raise RuntimeError("boom")
    assert tracking.get_run(ml_workspace, run.run_id)["status"] == "FAILED"


def test_logged_model_round_trips_and_stays_inside_the_workspace(
    ml_workspace: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mloop.tracking.wrappers import log_estimator

    monkeypatch.chdir(tmp_path)  # nothing may land in the current directory (./mlruns)
    ws = ml_workspace
    model, x = _fitted()
    with tracking.start_run(ws, experiment="models") as run:
        uri = log_estimator(ws, run.run_id, model, input_example=x[:2])
    assert uri.startswith("models:/m-")
    local = tracking.download_model(ws, uri, tmp_path / "dl")
    assert (local / "MLmodel").exists()
    assert "scikit-learn==" in (local / "requirements.txt").read_text()
    loaded = tracking.load_pyfunc(ws, uri)
    assert list(loaded.predict(x[:3]).round(6)) == list(model.predict_proba(x[:3])[:, 1].round(6))
    assert not (tmp_path / "mlruns").exists()
    assert list((ws.root / ".mloop" / "mlflow-artifacts" / "models").rglob("MLmodel"))


def test_non_numeric_metric_is_invalid_input(ml_workspace: Any) -> None:
    with tracking.start_run(ml_workspace, experiment="exp") as run, pytest.raises(InvalidInput):
        run.log_metrics({"auc": "high"})


def test_unknown_run_is_not_found(ml_workspace: Any) -> None:
    with pytest.raises(TrackingNotFound):
        tracking.log_params(ml_workspace, "0" * 32, {"a": 1})


def test_unreachable_server_fails_fast_with_a_hint(workspace_dir: Path) -> None:
    from mloop.store import open_workspace
    from tests.support.servers import free_port

    ws = open_workspace(workspace_dir, tracking_uri=f"http://127.0.0.1:{free_port()}")
    started = time.monotonic()
    with pytest.raises(TrackingUnavailable) as info, tracking.start_run(ws, experiment="exp"):
        pass
    assert time.monotonic() - started < 5
    assert "unreachable" in info.value.message and "mlflow server" in (info.value.hint or "")


def test_a_runs_uri_registers_the_logged_model(ml_workspace: Any, tmp_path: Path) -> None:
    from mloop import registry
    from mloop.tracking.wrappers import log_estimator

    model, _ = _fitted()
    with tracking.start_run(ml_workspace, experiment="models") as run:
        log_estimator(ml_workspace, run.run_id, model, name="clf")
    version = registry.register(ml_workspace, "clf", f"runs:/{run.run_id}/clf")
    assert version.source.startswith("models:/m-") and version.run_id == run.run_id
    assert (tracking.download_model(ml_workspace, version.model_uri, tmp_path / "d") / "MLmodel").exists()
    other, _ = _fitted(seed=1)  # the same files would return version 1 (one version per set of files)
    with tracking.start_run(ml_workspace, experiment="models") as run2:
        log_estimator(ml_workspace, run2.run_id, other)
    by_run = registry.register(ml_workspace, "clf", run_id=run2.run_id)  # "model or run"
    assert by_run.version == 2 and by_run.source.startswith("models:/m-") and by_run.run_id == run2.run_id


def test_a_run_can_be_opened_and_closed_apart(ml_workspace: Any) -> None:
    run = tracking.create_run(ml_workspace, experiment="kfp", run_name="pipeline")
    assert tracking.get_run(ml_workspace, run.run_id)["status"] == "RUNNING"
    tracking.end_run(ml_workspace, run.run_id, "KILLED")
    assert tracking.get_run(ml_workspace, run.run_id)["status"] == "KILLED"
