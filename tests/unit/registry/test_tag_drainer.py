"""The background MLflow tag drainer a CLI decision starts ends when its work is done.

It is a detached process (`start_new_session`), so nobody waits for it: it must exit by itself
once the outbox is empty, and within its budget when MLflow does not answer (the tag then
stays pending for the next drain).
"""

from __future__ import annotations

from typing import Any

import psutil

from mloop import registry
from mloop.registry.tagsync import BACKGROUND_BUDGET_S, pending_tags, spawn_drain
from tests.support.servers import free_port


def _approve_without_mlflow(ws: Any) -> None:
    registry.register(ws, "ctr", "s3://b/m", principal="carol")
    registry.approve(ws, "ctr", 1, principal="alice", comment="ok", sync_mlflow=False)
    assert pending_tags(ws) == {"ctr/1": "Approved"}


def test_the_drainer_delivers_the_tag_and_exits(ml_workspace: Any) -> None:
    from mloop.tracking import mlflow_registry

    _approve_without_mlflow(ml_workspace)
    pid = spawn_drain(ml_workspace)
    assert pid is not None
    assert psutil.Process(pid).wait(timeout=120) == 0  # psutil.TimeoutExpired if it lingers
    assert pending_tags(ml_workspace) == {}
    assert mlflow_registry.get_version(ml_workspace, "ctr", 1)["tags"]["mloop.approval_status"] == "Approved"


def test_the_drainer_gives_up_on_an_unreachable_tracking_server(ml_workspace: Any) -> None:
    from mloop.store import outbox
    from mloop.store.workspace import open_workspace

    _approve_without_mlflow(ml_workspace)
    with open(ml_workspace.root / "mloop.toml", "a", encoding="utf-8") as fh:
        fh.write(f'tracking_uri = "http://127.0.0.1:{free_port()}"\n')  # nothing listens there
    pid = spawn_drain(open_workspace(ml_workspace.root))
    assert pid is not None
    assert psutil.Process(pid).wait(timeout=BACKGROUND_BUDGET_S + 60) is not None
    [entry] = outbox.pending(ml_workspace, "mlflow-version-tag")
    assert entry.attempts >= 1 and entry.last_error  # kept, with why, for the next drain
