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

    from mloop.pipelines.runs import settle_orphan
    from mloop.pipelines.tables import pipeline_runs as runs

    query = select(runs).where(runs.c.pipeline_name == name)
    if run_id:
        row = conn.execute(query.where(runs.c.id == run_id)).first()
        if row is None:
            raise RunNotFound(f"run '{run_id}' not found for pipeline '{name}'")
        return settle_orphan(conn, dict(row._mapping))
    row = conn.execute(query.order_by(runs.c.created_at.desc(), runs.c.id.desc()).limit(1)).first()
    return settle_orphan(conn, dict(row._mapping)) if row else None


class _RunData:
    """Step runs of one run, the artifacts they wrote and read, loaded in a few queries."""

    def __init__(self, conn: Connection, run: dict[str, Any], graph: Graph | None = None,
                 origins: bool = True) -> None:
        from sqlalchemy import select

        from mloop.pipelines.tables import step_runs as sr

        self.run = run
        # Not logs or tracebacks: they can be large and lineage shows the one-line message.
        cols = [c for c in sr.c if c.name not in ("logs", "error", "func", "cache_key", "log_digest")]
        rows = conn.execute(select(*cols).where(sr.c.run_id == run["id"])).all()
        self.steps: dict[str, dict[str, Any]] = {r.step_name: dict(r._mapping) for r in rows}
        ids = [s["id"] for s in self.steps.values()]
        cached = [s["cached_from"] for s in self.steps.values() if s["cached_from"]]
        self.origins = _origins(conn, cached) if origins else {}
        self.uses = _uses(conn, ids)
        used = sorted({aid for pairs in self.uses.values() for _, aid in pairs})
        self.by_id = _artifacts(conn, ids, used)
        self.by_digest: dict[str, dict[str, Any]] = {}
        for rec in self.by_id.values():
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


def _origins(conn: Connection, ids: list[int]) -> dict[int, tuple[str, str]]:
    """step run id -> (run id, step name) of the step runs that cached steps reused."""
    if not ids:
        return {}
    from sqlalchemy import select

    from mloop.pipelines.tables import step_runs

    query = select(step_runs.c.id, step_runs.c.run_id, step_runs.c.step_name).where(step_runs.c.id.in_(ids))
    return {r.id: (r.run_id, r.step_name) for r in conn.execute(query)}


def _uses(conn: Connection, step_ids: list[int]) -> dict[int, list[tuple[str, int]]]:
    """step run id -> [(input name, artifact id)]."""
    if not step_ids:
        return {}
    from sqlalchemy import select

    from mloop.pipelines.tables import artifact_uses as au

    out: dict[int, list[tuple[str, int]]] = {}
    query = select(au.c.step_run_id, au.c.input_name, au.c.artifact_id).where(au.c.step_run_id.in_(step_ids))
    for u in conn.execute(query):
        out.setdefault(u.step_run_id, []).append((u.input_name, u.artifact_id))
    return out


def _artifacts(conn: Connection, step_ids: list[int], used_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Artifact rows written by these step runs or read by them, by id.

    Selected by producer, not by digest: a digest reused by 1,000 cached runs has 1,000 rows.
    Two indexed queries rather than one `OR`, which SQLite answers with a table scan.
    """
    from sqlalchemy import select

    from mloop.pipelines.tables import artifacts as a

    cols = select(a.c.id, a.c.digest, a.c.uri, a.c.size, a.c.type, a.c.format, a.c.producer_step_run_id,
                  a.c.output_name)
    out: dict[int, dict[str, Any]] = {}
    if step_ids:
        out.update((r.id, dict(r._mapping)) for r in conn.execute(cols.where(a.c.producer_step_run_id.in_(step_ids))))
    missing = [i for i in used_ids if i not in out]
    if missing:
        out.update((r.id, dict(r._mapping)) for r in conn.execute(cols.where(a.c.id.in_(missing))))
    return dict(sorted(out.items()))


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
