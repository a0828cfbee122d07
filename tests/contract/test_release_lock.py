"""The release deploy lock and driver claims on every metadata backend (SQLite, PostgreSQL)."""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from mloop.errors import Conflict
from mloop.release import StageContext, create_release, records, run_release, start_release
from mloop.release.drivers import now, this_driver
from mloop.release.lock import lock_holder, try_lock
from tests.support.release_repo import fake_stages


@pytest.fixture
def ws(repo: Path, database_url: str) -> Any:
    from mloop.store import open_workspace

    workspace = open_workspace(repo, database_url=database_url,
                               release__endpoint=f"ep-{uuid.uuid4().hex[:8]}")
    yield workspace
    workspace.close()


def test_two_releases_never_deploy_the_same_endpoint_at_once(ws: Any) -> None:
    intervals: list[tuple[str, float]] = []

    def deploy(ctx: StageContext) -> dict[str, Any]:
        intervals.append(("start", time.monotonic()))
        time.sleep(0.3)
        return {"version": 1}

    def verify(ctx: StageContext) -> dict[str, Any]:
        time.sleep(0.2)
        intervals.append(("end", time.monotonic()))
        return {}

    stages = fake_stages(Counter(), Deploy=deploy, Verify=verify)
    results: list[Any] = []
    # Both are recorded before either runs: a start while another *waits for approval* is refused
    # by design (tested elsewhere); this test is about the deploy lock between two running releases.
    created = [create_release(ws) for _ in range(2)]
    threads = [threading.Thread(target=lambda rid=r.id: results.append(run_release(ws, rid, stages=stages)))
               for r in created]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert [r.status for r in results] == ["Succeeded", "Succeeded"]
    # deploy+verify windows alternate: start, end, start, end (never start, start)
    assert [kind for kind, _ in sorted(intervals, key=lambda x: x[1])] == ["start", "end", "start", "end"]
    assert lock_holder(ws.db, ws.settings.release.endpoint) is None


def test_lock_of_a_dead_or_finished_holder_is_free(ws: Any) -> None:
    endpoint = ws.settings.release.endpoint
    a = start_release(ws, stages=fake_stages(Counter()))  # finished: holds nothing
    assert try_lock(ws.db, endpoint, a.id) is None
    b = records.get_release(ws.db, a.id)
    # pretend `a` is still running but its driver died (a pid that cannot exist)
    from sqlalchemy import update

    from mloop.release.tables import releases

    with ws.db.begin() as conn:
        conn.execute(update(releases).where(releases.c.id == b.id).values(
            status="Executing", driver=f"{socket.gethostname()}:999999999", heartbeat_at=now()))
    c = start_release(ws, stages=fake_stages(Counter()))
    assert c.status == "Succeeded"  # took the dead holder's lock
    with ws.db.begin() as conn:  # a live holder blocks
        conn.execute(update(releases).where(releases.c.id == b.id).values(driver=this_driver()))
    assert try_lock(ws.db, endpoint, b.id) is None
    assert try_lock(ws.db, endpoint, c.id + 1000) == b.id


def test_only_one_process_drives_a_release(ws: Any) -> None:
    started, go = threading.Event(), threading.Event()

    def approval(ctx: StageContext) -> dict[str, Any]:
        started.set()
        go.wait(10)
        return {}

    thread = threading.Thread(target=lambda: start_release(ws, stages=fake_stages(Counter(), Approval=approval)))
    thread.start()
    assert started.wait(10)
    [release] = records.list_releases(ws.db, endpoint=ws.settings.release.endpoint)
    other = "elsewhere:1"
    with pytest.raises(Conflict, match="being driven by"):
        records.claim(ws.db, release.id, other)
    go.set()
    thread.join(10)
