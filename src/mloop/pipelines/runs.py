"""Run records: writing them (one short transaction per state change) and reading them back."""

from __future__ import annotations

import secrets
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from mloop.auth import acting_principal, normalize
from mloop.errors import NotFound, did_you_mean
from mloop.pipelines import graph as g
from mloop.pipelines.errors import RunNotFound
from mloop.pipelines.materializers import ArtifactInfo, load_output
from mloop.pipelines.orphans import settle_orphan, settle_orphans
from mloop.pipelines.tables import artifact_uses, artifacts, pipeline_runs, pipelines, step_runs
from mloop.pipelines.tracking_pending import pending_reason
from mloop.store.leases import this_holder

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace


def now() -> datetime:
    return datetime.now(UTC)


def new_run_id(pipeline: str) -> str:
    """Readable and sortable: `<pipeline>-<UTC time>-<random>`."""
    return f"{pipeline}-{now():%Y%m%d-%H%M%S}-{secrets.token_hex(2)}"


@dataclass
class StepRunRecord:
    id: int
    name: str
    kind: str
    status: str
    attempts: int
    func: str
    started_at: datetime | None = None
    finished_at: datetime | None = None
    duration_s: float | None = None
    cache_key: str | None = None
    cached_from: int | None = None
    params: dict[str, Any] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    outputs: dict[str, dict[str, Any]] = field(default_factory=dict)
    inputs: dict[str, str] = field(default_factory=dict)  # input name -> artifact digest
    message: str | None = None
    error: str | None = None
    mlflow_run_id: str | None = None
    model_uri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class RunRecord:
    """One pipeline run with its step runs (in graph order)."""

    id: str
    pipeline: str
    status: str
    params: dict[str, Any]
    target: str
    created_at: datetime
    started_at: datetime | None = None
    finished_at: datetime | None = None
    origin_run_id: str | None = None
    origin_kind: str | None = None
    error: str | None = None
    mlflow_run_id: str | None = None
    experiment: str | None = None
    graph_hash: str | None = None
    driver: str | None = None
    principal: str | None = None  # who started it
    steps: list[StepRunRecord] = field(default_factory=list)
    tracking_pending: str | None = None  # why MLflow lacks this run's tracking (see tracking_pending)

    @property
    def duration_s(self) -> float | None:
        if self.started_at and self.finished_at:
            return round((self.finished_at - self.started_at).total_seconds(), 3)
        return None

    def step(self, name: str) -> StepRunRecord:
        for item in self.steps:
            if item.name == name:
                return item
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["duration_s"] = self.duration_s
        return data


def save_pipeline(conn: Connection, graph: g.Graph) -> int:
    """The id of this exact definition (inserted once per name and graph hash)."""
    digest = graph.digest()
    query = select(pipelines.c.id).where(pipelines.c.name == graph.name,
                                         pipelines.c.graph_hash == digest)
    found = conn.execute(query).scalar()
    if found is not None:
        return int(found)
    try:
        with conn.begin_nested():
            result = conn.execute(pipelines.insert().values(
                name=graph.name, graph_hash=digest, graph=graph.to_dict(), source=graph.source,
                created_at=now()))
            return int(result.inserted_primary_key[0])  # type: ignore[index]
    except IntegrityError:  # another process stored it first
        return int(conn.execute(query).scalar_one())


def create_run(
    ws: Workspace, graph: g.Graph, params: dict[str, Any], *, run_id: str | None = None,
    target: str = "local", origin: tuple[str, str] | None = None, no_cache: bool = False,
    git_commit: str | None = None, principal: str | None = None,
) -> str:
    """Insert the run (Executing) and one Pending step run per node; return the run id.

    `principal` is who started it (default: the acting principal); its steps act for them.
    """
    run_id = run_id or new_run_id(graph.name)
    with ws.db.begin() as conn:
        pipeline_id = save_pipeline(conn, graph)
        conn.execute(pipeline_runs.insert().values(
            id=run_id, pipeline_id=pipeline_id, pipeline_name=graph.name, status=g.EXECUTING,
            params=params, target=target, origin_run_id=origin[0] if origin else None,
            origin_kind=origin[1] if origin else None, no_cache=no_cache,
            principal=normalize(principal) or acting_principal(ws), git_commit=git_commit, created_at=now(),
            started_at=now(), driver=this_holder() if target == "local" else None))
        conn.execute(step_runs.insert(), [
            {"run_id": run_id, "step_name": node.name, "kind": node.kind, "func": node.func,
             "status": g.PENDING, "attempts": 0, "params": {}, "metrics": {}, "outputs": {}}
            for node in graph.nodes.values()])
    return run_id


def step_ids(ws: Workspace, run_id: str) -> dict[str, int]:
    with ws.db.begin() as conn:
        rows = conn.execute(select(step_runs.c.step_name, step_runs.c.id)
                            .where(step_runs.c.run_id == run_id))
        return {r.step_name: r.id for r in rows}


def update_step(ws: Workspace, step_run_id: int, **values: Any) -> None:
    with ws.db.begin() as conn:
        conn.execute(step_runs.update().where(step_runs.c.id == step_run_id).values(**values))


def update_run(ws: Workspace, run_id: str, **values: Any) -> None:
    with ws.db.begin() as conn:
        conn.execute(pipeline_runs.update().where(pipeline_runs.c.id == run_id).values(**values))


def finish_step(
    ws: Workspace, step_run_id: int, values: dict[str, Any], outputs: dict[str, ArtifactInfo],
    uses: dict[str, int],
) -> dict[str, int]:
    """Record a finished step, its output artifacts and its input uses in one transaction.

    Returns:
        Output name -> artifact row id (what downstream steps record as their uses).
    """
    ids: dict[str, int] = {}
    with ws.db.begin() as conn:
        conn.execute(step_runs.update().where(step_runs.c.id == step_run_id).values(
            outputs={k: v.digest for k, v in outputs.items()}, **values))
        for name, info in outputs.items():
            result = conn.execute(artifacts.insert().values(
                digest=info.digest, uri=info.uri, size=info.size, type=info.type,
                format=info.format, producer_step_run_id=step_run_id, output_name=name,
                meta=info.meta, created_at=now()))
            ids[name] = int(result.inserted_primary_key[0])  # type: ignore[index]
        if uses:
            conn.execute(artifact_uses.insert(), [
                {"artifact_id": aid, "step_run_id": step_run_id, "input_name": name}
                for name, aid in uses.items()])
    return ids


def _step_record(row: Any, outputs: dict[str, dict[str, Any]], inputs: dict[str, str]) -> StepRunRecord:
    return StepRunRecord(
        id=row.id, name=row.step_name, kind=row.kind, status=row.status, attempts=row.attempts,
        func=row.func, started_at=row.started_at, finished_at=row.finished_at,
        duration_s=row.duration_s, cache_key=row.cache_key, cached_from=row.cached_from,
        params=row.params or {}, metrics=row.metrics or {}, outputs=outputs, inputs=inputs,
        message=row.message, error=row.error, mlflow_run_id=row.mlflow_run_id,
        model_uri=row.model_uri,
    )


def get_run(ws: Workspace, run_id: str) -> RunRecord:
    """A run with its steps, their artifacts and metrics.

    Raises:
        RunNotFound: no run with this id (the hint lists the newest ones).
    """
    with ws.db.begin() as conn:
        settle_orphan(conn, {"id": run_id, **_status_of(conn, run_id)})
        run = conn.execute(select(pipeline_runs, pipelines.c.graph_hash, pipelines.c.graph)
                           .join(pipelines).where(pipeline_runs.c.id == run_id)).first()
        if run is None:
            recent = [r.id for r in conn.execute(select(pipeline_runs.c.id).order_by(
                pipeline_runs.c.created_at.desc()).limit(5))]
            raise RunNotFound(f"no pipeline run '{run_id}'",
                              hint=f"newest runs: {', '.join(recent) or '(none)'}; "
                              "see `mloop runs list`")
        steps = list(conn.execute(select(step_runs).where(step_runs.c.run_id == run_id)))
        ids = [s.id for s in steps]
        outs: dict[int, dict[str, dict[str, Any]]] = {}
        for a in conn.execute(select(artifacts).where(artifacts.c.producer_step_run_id.in_(ids))):
            outs.setdefault(a.producer_step_run_id, {})[a.output_name] = {
                "digest": a.digest, "uri": a.uri, "size": a.size, "type": a.type,
                "format": a.format, "meta": a.meta}
        ins: dict[int, dict[str, str]] = {}
        for u in conn.execute(select(artifact_uses.c.step_run_id, artifact_uses.c.input_name,
                                     artifacts.c.digest).join(artifacts)
                              .where(artifact_uses.c.step_run_id.in_(ids))):
            ins.setdefault(u.step_run_id, {})[u.input_name] = u.digest
    steps.sort(key=_step_order([n["name"] for n in run.graph.get("nodes", [])]))
    return RunRecord(
        id=run.id, pipeline=run.pipeline_name, status=run.status, params=run.params,
        target=run.target, created_at=run.created_at, started_at=run.started_at,
        finished_at=run.finished_at, origin_run_id=run.origin_run_id,
        origin_kind=run.origin_kind, error=run.error, mlflow_run_id=run.mlflow_run_id,
        experiment=run.experiment, graph_hash=run.graph_hash, driver=run.driver,
        principal=run.principal,
        steps=[_step_record(s, outs.get(s.id, {}), ins.get(s.id, {})) for s in steps],
        tracking_pending=pending_reason(ws, run_id),
    )


def parent_step(step_name: str) -> str:
    """The step a row belongs to: itself, or for an inner task of a KFP group step (recorded
    as `for-loop-2[1]/square`, `condition-1/say`) the step before the first `/` or `[`."""
    cut = [i for i in (step_name.find("/"), step_name.find("[")) if i > 0]
    return step_name[:min(cut)] if cut else step_name


def _step_order(order: list[str]) -> Any:
    """Graph order; the rows of a group step's inner tasks (`loop[1]/task`, inner.py) follow
    their step in the order they started."""
    def key(row: Any) -> tuple[int, int, int]:
        group = parent_step(row.step_name)
        where = order.index(group) if group in order else len(order)
        return where, int(row.step_name != group), int(row.id)

    return key


def _status_of(conn: Connection, run_id: str) -> dict[str, Any]:
    row = conn.execute(select(pipeline_runs.c.status, pipeline_runs.c.driver)
                       .where(pipeline_runs.c.id == run_id)).first()
    return dict(row._mapping) if row else {}


def run_graph(ws: Workspace, run_id: str) -> g.Graph:
    """The exact definition a run was recorded against."""
    with ws.db.begin() as conn:
        raw = conn.execute(select(pipelines.c.graph).join(pipeline_runs)
                           .where(pipeline_runs.c.id == run_id)).scalar()
    if raw is None:
        raise RunNotFound(f"no pipeline run '{run_id}'")
    return g.Graph.from_dict(raw)


def list_runs(
    ws: Workspace, pipeline: str | None = None, status: str | None = None, limit: int = 50
) -> list[dict[str, Any]]:
    """The newest runs first: id, pipeline, status, times, origin, step counts."""
    query = select(pipeline_runs).order_by(pipeline_runs.c.created_at.desc()).limit(limit)
    if pipeline:
        query = query.where(pipeline_runs.c.pipeline_name == pipeline)
    if status:
        query = query.where(pipeline_runs.c.status == status)
    with ws.db.begin() as conn:
        settle_orphans(conn)
        runs = [dict(r._mapping) for r in conn.execute(query)]
        counts: dict[str, dict[str, int]] = {}
        ids = [r["id"] for r in runs]
        for row in conn.execute(select(step_runs.c.run_id, step_runs.c.status, func.count())
                                .where(step_runs.c.run_id.in_(ids))
                                .group_by(step_runs.c.run_id, step_runs.c.status)):
            counts.setdefault(row[0], {})[row[1]] = int(row[2])
    for run in runs:
        run["steps"] = counts.get(run["id"], {})
        start, end = run.get("started_at"), run.get("finished_at")
        run["duration_s"] = round((end - start).total_seconds(), 3) if start and end else None
    return runs


def step_logs(ws: Workspace, run_id: str, step: str | None = None) -> dict[str, str]:
    """Captured output per step (the full log from the artifact store when it was truncated)."""
    record = get_run(ws, run_id)
    names = [s.name for s in record.steps]
    if step is not None and step not in names:
        raise NotFound(f"run '{run_id}' has no step '{step}'", hint=did_you_mean(step, names))
    with ws.db.begin() as conn:
        rows = list(conn.execute(select(step_runs.c.step_name, step_runs.c.logs,
                                        step_runs.c.log_digest)
                                 .where(step_runs.c.run_id == run_id)))
    out: dict[str, str] = {}
    for row in rows:
        if step is not None and row.step_name != step:
            continue
        text = row.logs or ""
        if row.log_digest and ws.artifacts.exists(row.log_digest):
            text = ws.artifacts.get_bytes(row.log_digest).decode("utf-8", "replace")
        out[row.step_name] = text
    return {name: out.get(name, "") for name in names if name in out}


def load_artifact(ws: Workspace, run_id: str, step: str, output: str | None = None) -> Any:
    """Load a step's output as the object it returned (for notebooks and tests)."""
    record = get_run(ws, run_id).step(step)
    if not record.outputs:
        raise NotFound(f"step '{step}' of run '{run_id}' has no stored outputs ({record.status})")
    name = output or next(iter(record.outputs))
    return load_output(ws, record.outputs[name])
