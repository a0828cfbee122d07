"""Reading the run records lineage is built from: definitions, runs, step runs, artifacts.

Each answer loads what it needs in a few indexed queries (`_RunData`), then assembles in memory.
Times are returned as ISO 8601 UTC strings; SQLite hands back naive datetimes stored in UTC.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import NotFound, did_you_mean
from mloop.pipelines.errors import RunNotFound

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.pipelines.graph import Graph, Node
    from mloop.store import Workspace

NOT_STARTED = "NotStarted"

def pipeline_arn(name: str) -> str:
    """A stable URI of a pipeline (seed 004's `arn`)."""
    return f"mloop://pipelines/{name}"


def job_arn(name: str, run_id: str, step: str) -> str:
    """A stable URI of a step run (seed 004's `jobArn`): pipeline/run/step, like a pathspec."""
    return f"mloop://pipelines/{name}/runs/{run_id}/steps/{step}"


def iso(value: datetime | None) -> str | None:
    if value is None:
        return None
    if value.tzinfo is None:  # SQLite returns naive datetimes for aware columns
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


def elapsed(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from start to end (to now while still running)."""
    start = _aware(start)
    if start is None:
        return None
    finish = _aware(end) or datetime.now(UTC)
    return round(max((finish - start).total_seconds(), 0.0), 3)


def _latest_definition(conn: Connection, name: str) -> dict[str, Any] | None:
    from sqlalchemy import select

    from mloop.pipelines.tables import pipelines

    query = select(pipelines).where(pipelines.c.name == name).order_by(pipelines.c.id.desc()).limit(1)
    row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def _definition_by_id(conn: Connection, pipeline_id: int) -> dict[str, Any]:
    from sqlalchemy import select

    from mloop.pipelines.tables import pipelines

    return dict(conn.execute(select(pipelines).where(pipelines.c.id == pipeline_id)).one()._mapping)


def _known_names(ws: Workspace, conn: Connection) -> list[str]:
    from sqlalchemy import select

    from mloop.pipelines.tables import pipelines

    names = {row[0] for row in conn.execute(select(pipelines.c.name).distinct())}
    names.update(ws.settings.pipelines)
    try:
        from mloop.recipes.pipelines import BUILTIN

        names.update(BUILTIN)
    except ImportError:
        pass
    return sorted(names)


def _unrun_definition(ws: Workspace, name: str) -> Graph | None:
    """The graph of a pipeline that is known (built in or configured) but was never run."""
    try:
        from mloop.pipelines import load_pipeline
    except (ImportError, AttributeError):
        return None
    try:
        loaded = load_pipeline(ws, name)
    except NotFound:
        return None
    graph = getattr(loaded, "graph", loaded)
    return graph() if callable(graph) else graph  # type: ignore[no-any-return]


def _domain_of(graph: dict[str, Any]) -> str | None:
    tags = graph.get("tags") or {}
    return graph.get("domain") or (tags.get("domain") if isinstance(tags, dict) else None)


def _not_found(ws: Workspace, conn: Connection, name: str) -> NotFound:
    from mloop.pipelines.errors import PipelineNotFound

    return PipelineNotFound(
        f"pipeline '{name}' not found", hint=did_you_mean(name, _known_names(ws, conn))
    )


def _pick_run(conn: Connection, name: str, run_id: str | None) -> dict[str, Any] | None:
    from sqlalchemy import select

    from mloop.pipelines.tables import pipeline_runs as runs

    query = select(runs).where(runs.c.pipeline_name == name)
    if run_id:
        row = conn.execute(query.where(runs.c.id == run_id)).first()
        if row is None:
            raise RunNotFound(f"run '{run_id}' not found for pipeline '{name}'")
        return dict(row._mapping)
    row = conn.execute(query.order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(1)).first()
    return dict(row._mapping) if row else None


class _RunData:
    """Step runs of one run, the artifacts they wrote and read, loaded in four queries."""

    def __init__(self, conn: Connection, run: dict[str, Any], graph: Graph | None = None) -> None:
        from sqlalchemy import select

        from mloop.pipelines.tables import artifact_uses, artifacts, step_runs

        self.run = run
        rows = conn.execute(select(step_runs).where(step_runs.c.run_id == run["id"])).all()
        self.steps: dict[str, dict[str, Any]] = {r.step_name: dict(r._mapping) for r in rows}
        ids = [s["id"] for s in self.steps.values()]
        origin_ids = [s["cached_from"] for s in self.steps.values() if s["cached_from"]]
        self.origins: dict[int, tuple[str, str]] = {}
        if origin_ids:
            query = select(step_runs.c.id, step_runs.c.run_id, step_runs.c.step_name).where(
                step_runs.c.id.in_(origin_ids))
            self.origins = {r.id: (r.run_id, r.step_name) for r in conn.execute(query)}
        digests = {d for s in self.steps.values() for d in (s["outputs"] or {}).values() if isinstance(d, str)}
        self.uses: dict[int, list[tuple[str, int]]] = {}
        if ids:
            query = select(artifact_uses.c.step_run_id, artifact_uses.c.input_name,
                           artifact_uses.c.artifact_id).where(artifact_uses.c.step_run_id.in_(ids))
            use_rows = conn.execute(query).all()
            for u in use_rows:
                self.uses.setdefault(u.step_run_id, []).append((u.input_name, u.artifact_id))
            used_ids = {u.artifact_id for u in use_rows}
        else:
            used_ids = set()
        self.by_digest: dict[str, dict[str, Any]] = {}
        self.by_id: dict[int, dict[str, Any]] = {}
        cols = [artifacts.c.id, artifacts.c.digest, artifacts.c.uri, artifacts.c.size, artifacts.c.type,
                artifacts.c.format]
        conds = []
        if digests:
            conds.append(artifacts.c.digest.in_(sorted(digests)))
        if used_ids:
            conds.append(artifacts.c.id.in_(sorted(used_ids)))
        if conds:
            from sqlalchemy import or_

            for a in conn.execute(select(*cols).where(or_(*conds)).order_by(artifacts.c.id)):
                rec = dict(a._mapping)
                self.by_id[rec["id"]] = rec
                self.by_digest.setdefault(rec["digest"], rec)
        groups = {g for node in (graph.nodes.values() if graph else ()) for g in
                  _feature_groups(node, self.steps.get(node.name))}
        self.ingestions = ingestion_history(conn, sorted(groups))

    def group_version(self, group: str, step: dict[str, Any] | None) -> int | None:
        """The data version of `group` when `step` started (what the step read)."""
        recorded = ((step or {}).get("params") or {}).get("feature_group_versions") or {}
        if group in recorded:
            return int(recorded[group])
        return version_at(self.ingestions.get(group, []), (step or {}).get("started_at"))


def ingestion_history(conn: Connection, groups: list[str]) -> dict[str, list[tuple[datetime, int]]]:
    """(committed at, data version) of every ingestion of `groups`, oldest first."""
    if not groups:
        return {}
    try:
        from sqlalchemy import select

        from mloop.features.tables import feature_groups, feature_ingestions
    except ImportError:
        return {}
    query = (select(feature_groups.c.name, feature_ingestions.c.created_at, feature_ingestions.c.version)
             .join(feature_ingestions, feature_ingestions.c.group_id == feature_groups.c.id)
             .where(feature_groups.c.name.in_(groups)).order_by(feature_ingestions.c.version))
    out: dict[str, list[tuple[datetime, int]]] = {}
    for row in conn.execute(query):
        out.setdefault(row.name, []).append((_aware(row.created_at), int(row.version)))  # type: ignore[arg-type]
    return out


def version_at(history: list[tuple[datetime, int]], when: datetime | None) -> int | None:
    """The newest version committed at or before `when` (the latest when `when` is None)."""
    moment = _aware(when)
    versions = [v for at, v in history if moment is None or at <= moment]
    return max(versions) if versions else None



def _feature_groups(node: Node, step: dict[str, Any] | None) -> list[str]:
    names = list(node.options.get("feature_groups") or [])
    params = (step or {}).get("params") or {}
    for arg in node.options.get("feature_group_args") or []:
        binding = node.inputs.get(arg)
        value = params.get(arg, binding.value if binding is not None and binding.source == "value" else None)
        if isinstance(value, str) and value not in names:
            names.append(value)
    return names


def _numeric(metrics: dict[str, Any] | None) -> dict[str, float | None]:
    return {k: v for k, v in (metrics or {}).items()
            if v is None or (isinstance(v, int | float) and not isinstance(v, bool))}
