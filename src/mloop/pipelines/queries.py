"""Read-only queries over the pipelines package's tables, for the packages above it.

The tables (`pipelines.tables`) are private to this package: lineage, the dashboard and teardown
read run records through these functions, so a column change is made here, once, not in every
reader. Each takes an open connection, so a caller composes several in one transaction (lineage
reads a run, its steps, their artifacts and the registry's records in one consistent snapshot).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, func, select

from mloop.pipelines.errors import RunNotFound
from mloop.pipelines.orphans import settle_orphan
from mloop.pipelines.tables import artifact_uses, artifacts, pipeline_runs, pipelines, step_runs

# Not logs or tracebacks: they can be large, and readers of lineage show the one-line message.
_HEAVY_STEP_COLUMNS = ("logs", "error", "func", "cache_key", "log_digest")


def latest_definition(conn: Connection, name: str) -> dict[str, Any] | None:
    """The newest recorded definition (graph) of pipeline `name`, or None if it never ran."""
    query = select(pipelines).where(pipelines.c.name == name).order_by(pipelines.c.id.desc()).limit(1)
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def definition_by_id(conn: Connection, pipeline_id: int) -> dict[str, Any]:
    """The recorded definition a run executed."""
    return dict(conn.execute(select(pipelines).where(pipelines.c.id == pipeline_id)).one()._mapping)


def definition_graph(conn: Connection, pipeline_id: int) -> dict[str, Any] | None:
    """Only the graph of a recorded definition (None if the record is gone)."""
    row = conn.execute(select(pipelines.c.graph).where(pipelines.c.id == pipeline_id)).first()
    return row.graph if row is not None else None


def recorded_names(conn: Connection) -> set[str]:
    """Names of every pipeline that has a recorded definition (ran at least once)."""
    return {row[0] for row in conn.execute(select(pipelines.c.name).distinct())}


def run_counts(conn: Connection) -> dict[str, int]:
    """Runs recorded per pipeline name."""
    query = select(pipeline_runs.c.pipeline_name, func.count()).group_by(pipeline_runs.c.pipeline_name)
    return {name: int(count) for name, count in conn.execute(query).all()}


def count_runs(conn: Connection) -> int:
    """Runs recorded in the workspace."""
    return int(conn.execute(select(func.count()).select_from(pipeline_runs)).scalar() or 0)


def run_record(conn: Connection, run_id: str) -> dict[str, Any] | None:
    """The pipeline_runs row of `run_id` as recorded (not settled), or None."""
    row = conn.execute(select(pipeline_runs).where(pipeline_runs.c.id == run_id)).first()
    return dict(row._mapping) if row else None


def pick_run(conn: Connection, name: str, run_id: str | None) -> dict[str, Any] | None:
    """Run `run_id` of pipeline `name`, or its newest run (None if it never ran), settled
    (a run whose driver died reads Stopped).

    Raises:
        RunNotFound: `run_id` is not a run of `name`.
    """
    query = select(pipeline_runs).where(pipeline_runs.c.pipeline_name == name)
    if run_id:
        row = conn.execute(query.where(pipeline_runs.c.id == run_id)).first()
        if row is None:
            raise RunNotFound(f"run '{run_id}' not found for pipeline '{name}'")
        return settle_orphan(conn, dict(row._mapping))
    newest = query.order_by(pipeline_runs.c.created_at.desc(), pipeline_runs.c.id.desc()).limit(1)
    row = conn.execute(newest).first()
    return settle_orphan(conn, dict(row._mapping)) if row else None


def step_run_summaries(conn: Connection, run_id: str) -> list[dict[str, Any]]:
    """The step runs of a run, without their logs, tracebacks and code (which can be large)."""
    cols = [c for c in step_runs.c if c.name not in _HEAVY_STEP_COLUMNS]
    return [dict(r._mapping) for r in conn.execute(select(*cols).where(step_runs.c.run_id == run_id)).all()]


def step_run(conn: Connection, step_run_id: int) -> dict[str, Any] | None:
    """One step_runs row, or None."""
    row = conn.execute(select(step_runs).where(step_runs.c.id == step_run_id)).first()
    return dict(row._mapping) if row else None


def step_origins(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
    """step run id -> (run id, step name) of the step runs that cached steps reused."""
    if not ids:
        return {}
    query = select(step_runs.c.id, step_runs.c.run_id, step_runs.c.step_name).where(step_runs.c.id.in_(ids))
    return {r.id: (r.run_id, r.step_name) for r in conn.execute(query)}


def inputs_of(conn: Connection, step_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """step run id -> [(input name, artifact id)] it read."""
    if not step_ids:
        return {}
    out: dict[int, list[tuple[str, int]]] = {}
    au = artifact_uses
    query = select(au.c.step_run_id, au.c.input_name, au.c.artifact_id).where(au.c.step_run_id.in_(step_ids))
    for u in conn.execute(query):
        out.setdefault(u.step_run_id, []).append((u.input_name, u.artifact_id))
    return out


def artifacts_of(conn: Connection, step_ids: list[int], used_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Artifact rows written by these step runs or read by them, by id.

    Selected by producer, not by digest: a digest reused by 1,000 cached runs has 1,000 rows.
    Two indexed queries rather than one `OR`, which SQLite answers with a table scan.
    """
    a = artifacts
    cols = select(a.c.id, a.c.digest, a.c.uri, a.c.size, a.c.type, a.c.format, a.c.producer_step_run_id,
                  a.c.output_name)
    out: dict[int, dict[str, Any]] = {}
    if step_ids:
        out.update((r.id, dict(r._mapping)) for r in conn.execute(cols.where(a.c.producer_step_run_id.in_(step_ids))))
    missing = [i for i in used_ids if i not in out]
    if missing:
        out.update((r.id, dict(r._mapping)) for r in conn.execute(cols.where(a.c.id.in_(missing))))
    return dict(sorted(out.items()))


def artifacts_with_digest(conn: Connection, digest: str) -> list[dict[str, Any]]:
    """Every artifact record of `digest` (one per step output that produced those bytes), oldest first."""
    query = select(artifacts).where(artifacts.c.digest == digest).order_by(artifacts.c.id)
    return [dict(r._mapping) for r in conn.execute(query)]


def consumers_of(conn: Connection, artifact_ids: list[int]) -> list[Any]:
    """Every step run that read one of these artifacts: input name, step, run, status, pipeline."""
    query = (select(artifact_uses.c.input_name, step_runs.c.step_name, step_runs.c.run_id, step_runs.c.status,
                    pipeline_runs.c.pipeline_name)
             .join(step_runs, step_runs.c.id == artifact_uses.c.step_run_id)
             .join(pipeline_runs, pipeline_runs.c.id == step_runs.c.run_id)
             .where(artifact_uses.c.artifact_id.in_(artifact_ids)).order_by(artifact_uses.c.id))
    return list(conn.execute(query).all())


def producer_of_model(conn: Connection, version: dict[str, Any]) -> tuple[dict[str, Any] | None,
                                                                           dict[str, Any] | None]:
    """(step run, pipeline run) behind a registered model version (a registry record), by the
    run and step ids it recorded, else by its model URI, else by its MLflow run id."""
    meta = version.get("meta") or {}
    run_id = meta.get("pipeline_run_id") or meta.get("mloop.run_id")
    step_name = meta.get("step") or meta.get("step_name")
    query = select(step_runs)
    candidates = []
    if run_id and step_name:
        candidates.append(query.where(step_runs.c.run_id == run_id, step_runs.c.step_name == step_name))
    uris = [u for u in (version["model_uri"], version.get("source")) if u]
    candidates.append(query.where(step_runs.c.model_uri.in_(uris)))
    if version.get("run_id"):
        candidates.append(query.where(step_runs.c.mlflow_run_id == version["run_id"]))
    step = None
    for candidate in candidates:
        row = conn.execute(candidate.order_by(step_runs.c.id.desc()).limit(1)).first()
        if row is not None:
            step = dict(row._mapping)
            break
    rid = step["run_id"] if step else run_id
    if not rid:
        return None, None
    return step, run_record(conn, rid)
