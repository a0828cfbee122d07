"""Runs whose driver process died (its host:pid lease, `store.leases`, is gone): recording such
a run as Stopped, so every reader sees it as it is and `mloop runs retry` can finish it."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mloop.pipelines import graph as g
from mloop.pipelines.tables import pipeline_runs, step_runs
from mloop.store.leases import holder_gone

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace


def _now() -> datetime:
    return datetime.now(UTC)


def mark_orphan_stopped(ws: Workspace, run_id: str, reason: str) -> None:
    """Record a run whose process died mid-run as Stopped (its unfinished steps too)."""
    with ws.db.begin() as conn:
        _stop_orphan(conn, run_id, reason)


def _stop_orphan(conn: Connection, run_id: str, reason: str) -> None:
    conn.execute(step_runs.update().where(step_runs.c.run_id == run_id)
                 .where(step_runs.c.status.in_([g.PENDING, g.EXECUTING]))
                 .values(status=g.STOPPED, message=reason, finished_at=_now()))
    conn.execute(pipeline_runs.update().where(pipeline_runs.c.id == run_id)
                 .where(pipeline_runs.c.status.in_([g.PENDING, g.EXECUTING]))
                 .values(status=g.STOPPED, error=reason, finished_at=_now()))


def orphan_reason(driver: str | None) -> str:
    return f"stopped: its process {driver} is gone; `mloop runs retry` finishes it"


def settle_orphan(conn: Connection, run: dict[str, Any]) -> dict[str, Any]:
    """`run` (a pipeline_runs row) as it truly is: Stopped if its driver process died.

    Every reader (CLI, lineage, dashboard) goes through this, so a run killed by SIGKILL reads
    Stopped at once, not only after someone runs `retry`. The record is corrected in place.
    """
    if run.get("status") in (g.PENDING, g.EXECUTING) and holder_gone(run.get("driver")):
        reason = orphan_reason(run.get("driver"))
        _stop_orphan(conn, run["id"], reason)
        return {**run, "status": g.STOPPED, "error": reason, "finished_at": run.get("finished_at") or _now()}
    return run


def settle_orphans(conn: Connection) -> None:
    """Correct every unfinished local run whose driver process is gone (one small query)."""
    rows = conn.execute(select(pipeline_runs.c.id, pipeline_runs.c.status, pipeline_runs.c.driver)
                        .where(pipeline_runs.c.status.in_([g.PENDING, g.EXECUTING]))).all()
    for row in rows:
        settle_orphan(conn, dict(row._mapping))
