"""Deleting pipeline runs, and the artifact digests the pipeline records still refer to.

A run's records go in one transaction (its step runs, their artifacts and input uses). A run
whose outputs another run reused (through the cache or as an input) is refused, naming those
runs: deleting it would cut their lineage. The artifact bytes are content-addressed and may be
shared, so they are not deleted here: the caller (`mloop.teardown`) removes what nothing
refers to any more.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from mloop.errors import Conflict
from mloop.pipelines.runs import get_run
from mloop.pipelines.tables import artifact_uses, artifacts, pipeline_runs, pipelines, step_runs
from mloop.store.leases import holder_gone

if TYPE_CHECKING:
    from mloop.store import Workspace

ACTIVE = ("Pending", "Executing")


class RunInUse(Conflict):
    """The run is still executing, or other runs reuse its outputs."""

    code = "run_in_use"


def delete_run(ws: Workspace, run_id: str) -> list[str]:
    """Delete run `run_id`'s records; returns the digests its records referred to.

    Raises:
        RunNotFound: no such run. RunInUse: it executes, or later runs reuse its outputs.
    """
    u, a, r, s = artifact_uses, artifacts, pipeline_runs, step_runs  # short: the queries fit a line
    run = get_run(ws, run_id)
    if run.status in ACTIVE and not holder_gone(run.driver):
        raise RunInUse(f"run {run_id} is {run.status}", hint="Wait for it to finish, or stop its process first.")
    with ws.db.begin() as conn:
        steps = conn.execute(select(s.c.id, s.c.outputs, s.c.log_digest).where(s.c.run_id == run_id)).all()
        ids = [row.id for row in steps]
        produced = conn.execute(select(a.c.id, a.c.digest).where(a.c.producer_step_run_id.in_(ids))).all()
        users = {rid for (rid,) in conn.execute(
            select(s.c.run_id).join(u, u.c.step_run_id == s.c.id)
            .where(u.c.artifact_id.in_([p.id for p in produced]), s.c.run_id != run_id))}
        users |= {rid for (rid,) in conn.execute(
            select(s.c.run_id).where(s.c.cached_from.in_(ids), s.c.run_id != run_id))}
        if users:
            listing = ", ".join(sorted(users))
            raise RunInUse(f"run {run_id}'s outputs are reused by run(s) {listing}",
                           hint=f"Delete those first: `mloop runs delete {sorted(users)[0]}`.")
        digests = {p.digest for p in produced} | {row.log_digest for row in steps if row.log_digest}
        digests |= {d for row in steps for d in (row.outputs or {}).values() if isinstance(d, str)}
        conn.execute(delete(u).where(u.c.step_run_id.in_(ids)))
        conn.execute(delete(a).where(a.c.producer_step_run_id.in_(ids)))
        conn.execute(delete(s).where(s.c.run_id == run_id))
        conn.execute(delete(r).where(r.c.id == run_id))
    return sorted(digests)


def referenced_digests(ws: Workspace) -> set[str]:
    """Every artifact digest a pipeline record refers to (outputs, artifacts, step logs)."""
    a, s = artifacts, step_runs
    with ws.db.begin() as conn:
        found = {d for (d,) in conn.execute(select(a.c.digest).distinct())}
        for outputs, log in conn.execute(select(s.c.outputs, s.c.log_digest)):
            found |= {d for d in (outputs or {}).values() if isinstance(d, str)}
            if log:
                found.add(log)
    return found


def pipelines_mentioning(ws: Workspace, value: str) -> list[str]:
    """Names of pipelines whose definition holds `value` as a parameter default or constant input
    (e.g. the feature group an extract step reads)."""
    def holds(doc: object) -> bool:
        if isinstance(doc, dict):
            return any(holds(v) for v in doc.values())
        if isinstance(doc, list):
            return any(holds(v) for v in doc)
        return doc == value

    with ws.db.begin() as conn:
        rows = conn.execute(select(pipelines.c.name, pipelines.c.graph)).all()
    return sorted({name for name, graph in rows if holds(graph)})


def delete_all_runs(ws: Workspace) -> list[str]:
    """Delete every run and pipeline definition (`mloop destroy`); returns the digests they referred to."""
    digests = referenced_digests(ws)
    with ws.db.begin() as conn:
        for table in (artifact_uses, artifacts, step_runs, pipeline_runs, pipelines):
            conn.execute(delete(table))
    return sorted(digests)
