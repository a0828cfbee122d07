"""Reading the run records lineage is built from: definitions, runs, step runs, artifacts.

Each answer loads what it needs in a few indexed queries (`_RunData`), then assembles in memory.
Times are returned as ISO 8601 UTC strings; the store hands every column time back aware.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import NotFound, did_you_mean
from mloop.features import queries as feature_queries
from mloop.pipelines import list_pipelines, load_pipeline, queries
from mloop.pipelines.errors import PipelineNotFound

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
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def elapsed(start: datetime | None, end: datetime | None) -> float | None:
    """Seconds from start to end (to now while still running)."""
    if start is None:
        return None
    finish = end or datetime.now(UTC)
    return round(max((finish - start).total_seconds(), 0.0), 3)


def _latest_definition(conn: Connection, name: str) -> dict[str, Any] | None:
    return queries.latest_definition(conn, name)


def _definition_by_id(conn: Connection, pipeline_id: int) -> dict[str, Any]:
    return queries.definition_by_id(conn, pipeline_id)


def _known_names(ws: Workspace, conn: Connection) -> list[str]:
    return sorted(queries.recorded_names(conn) | set(list_pipelines(ws)))


def _unrun_definition(ws: Workspace, name: str) -> Graph | None:
    """The graph of a pipeline that is known (built in or configured) but was never run."""
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
    return PipelineNotFound(
        f"pipeline '{name}' not found", hint=did_you_mean(name, _known_names(ws, conn))
    )


def _pick_run(conn: Connection, name: str, run_id: str | None) -> dict[str, Any] | None:
    return queries.pick_run(conn, name, run_id)


class _RunData:
    """Step runs of one run, the artifacts they wrote and read, loaded in a few queries."""

    def __init__(self, conn: Connection, run: dict[str, Any], graph: Graph | None = None,
                 origins: bool = True) -> None:
        self.run = run
        summaries = queries.step_run_summaries(conn, run["id"])
        self.steps: dict[str, dict[str, Any]] = {r["step_name"]: r for r in summaries}
        ids = [s["id"] for s in self.steps.values()]
        cached = [s["cached_from"] for s in self.steps.values() if s["cached_from"]]
        self.origins = queries.step_origins(conn, cached) if origins else {}
        self.uses = queries.inputs_of(conn, ids)
        used = sorted({aid for pairs in self.uses.values() for _, aid in pairs})
        self.by_id = queries.artifacts_of(conn, ids, used)
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


def ingestion_history(conn: Connection, groups: list[str]) -> dict[str, list[tuple[datetime, int]]]:
    """(committed at, data version) of every ingestion of `groups`, oldest first."""
    return feature_queries.ingestion_history(conn, groups)


def version_at(history: list[tuple[datetime, int]], when: datetime | None) -> int | None:
    """The newest version committed at or before `when` (the latest when `when` is None)."""
    versions = [v for at, v in history if when is None or at <= when]
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
