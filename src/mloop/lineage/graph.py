"""The lineage of a pipeline in seed 004's format, from the run records.

`pipeline(ws, name)` answers `{pipeline, summary, graph: {nodes, edges, artifacts}}`: nodes are
the steps of the definition (type from the step kind), edges come from the definition (`ref:Get`
for data, `dependsOn` for explicit ordering, `condition` with its branch), and with
`include_latest_exec` each node carries its step run (status, times, job id, metrics, cached,
attempts) and the artifacts it read and wrote, each with storage security metadata.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.errors import NotFound, did_you_mean
from mloop.lineage import storage
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


# ------------------------------------------------------------------------------ definitions


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


# -------------------------------------------------------------------------------- runs


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

    def __init__(self, conn: Connection, run: dict[str, Any]) -> None:
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


# ------------------------------------------------------------------------------- assembly


class _Artifacts:
    """The artifacts a graph mentions, once each, with location and storage metadata."""

    def __init__(self, ws: Workspace) -> None:
        settings = ws.settings
        self.ws = ws
        self.items: dict[str, dict[str, Any]] = {}
        root = settings.artifact_root
        self.local_root = None if "://" in root else Path(root)
        self.kwargs = {
            "endpoint_url": settings.s3_endpoint_url, "probe": settings.lineage.storage_metadata,
            "ttl": settings.lineage.probe_ttl_seconds, "timeout_ms": settings.lineage.s3_timeout_ms,
        }

    def add(self, rec: dict[str, Any] | None, digest: str | None, producer: str) -> str | None:
        """Register an artifact (a record, or just a digest) and return its uri."""
        if rec is None and digest is None:
            return None
        digest = rec["digest"] if rec else digest
        assert digest is not None
        if digest in self.items:
            return str(self.items[digest]["uri"])
        uri = rec["uri"] if rec else self.ws.artifacts.uri(digest)
        entry: dict[str, Any] = {
            "id": rec["id"] if rec else len(self.items) + 1_000_000, "uri": uri,
            "digest": digest, "size": rec["size"] if rec else None,
            "type": rec["type"] if rec else None, "producer": producer,
        }
        entry.update(storage.describe_location(uri, local_root=self.local_root, **self.kwargs))
        self.items[digest] = entry
        return str(uri)


def _edges(graph: Graph) -> list[dict[str, Any]]:
    edges: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str]] = set()

    def add(edge: dict[str, Any]) -> None:
        key = (edge["from"], edge["to"], edge["via"] + edge.get("branch", ""))
        if key not in seen:
            seen.add(key)
            edges.append(edge)

    for node in graph.nodes.values():
        for binding in node.inputs.values():
            if binding.source == "output" and binding.step in graph.nodes:
                add({"from": binding.step, "to": node.name, "via": "ref:Get"})
        for name in node.after:
            add({"from": name, "to": node.name, "via": "dependsOn"})
        for cond, branch in node.when:
            add({"from": cond, "to": node.name, "via": "condition", "branch": "true" if branch else "false"})
    return edges


def _feature_groups(node: Node, step: dict[str, Any] | None) -> list[str]:
    names = list(node.options.get("feature_groups") or [])
    params = (step or {}).get("params") or {}
    for arg in node.options.get("feature_group_args") or []:
        binding = node.inputs.get(arg)
        value = params.get(arg, binding.value if binding is not None and binding.source == "value" else None)
        if isinstance(value, str) and value not in names:
            names.append(value)
    return names


def _inputs(node: Node, step: dict[str, Any] | None, data: _RunData | None,
            arts: _Artifacts | None, producers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    used = {name: aid for name, aid in (data.uses.get(step["id"], []) if data and step else [])}
    for name, binding in node.inputs.items():
        if binding.source != "output":
            continue
        item: dict[str, Any] = {"name": name, "uri": None, "from": f"{binding.step}.{binding.output}"}
        if data is not None and arts is not None:
            rec = data.by_id.get(used[name]) if name in used else None
            digest = rec["digest"] if rec else _output_digest(producers.get(str(binding.step)), binding.output)
            rec = rec or (data.by_digest.get(digest) if digest else None)
            item["uri"] = arts.add(rec, digest, f"{binding.step}.{binding.output}")
            item["digest"] = digest
        out.append(item)
    for group in _feature_groups(node, step):
        out.append({"name": group, "uri": f"mloop://feature-groups/{group}", "from": "feature-group"})
    return out


def _output_digest(step: dict[str, Any] | None, output: str | None) -> str | None:
    value = ((step or {}).get("outputs") or {}).get(output or "")
    return value if isinstance(value, str) else None


def _outputs(node: Node, step: dict[str, Any] | None, data: _RunData | None,
             arts: _Artifacts | None) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for name in node.outputs:
        item: dict[str, Any] = {"name": name, "uri": None}
        digest = _output_digest(step, name)
        if digest and data is not None and arts is not None:
            item["uri"] = arts.add(data.by_digest.get(digest), digest, f"{node.name}.{name}")
            item["digest"] = digest
        out.append(item)
    if step and step.get("model_uri"):
        out.append({"name": "model", "uri": step["model_uri"]})
    return out


def _numeric(metrics: dict[str, Any] | None) -> dict[str, float | None]:
    return {k: v for k, v in (metrics or {}).items()
            if v is None or (isinstance(v, int | float) and not isinstance(v, bool))}


def _step_run(name: str, run_id: str, node: Node, step: dict[str, Any] | None,
              data: _RunData) -> dict[str, Any]:
    if step is None:
        status = "Pending" if data.run["status"] in ("Pending", "Executing") else "Skipped"
        return {"status": status, "startTime": None, "endTime": None, "elapsedSec": None,
                "jobArn": job_arn(name, run_id, node.name), "metrics": {}, "cached": False,
                "attempts": 0}
    origin = data.origins.get(step["cached_from"]) if step["cached_from"] else None
    running = step["status"] == "Executing"
    seconds = step["duration_s"] if step["duration_s"] is not None and not running else elapsed(
        step["started_at"], step["finished_at"])
    run: dict[str, Any] = {
        "status": step["status"], "startTime": iso(step["started_at"]), "endTime": iso(step["finished_at"]),
        "elapsedSec": None if seconds is None else round(float(seconds), 3),
        "jobArn": job_arn(name, run_id, node.name),
        "metrics": _numeric(step["metrics"]),
        "cached": step["status"] == "Cached" or bool(step["cached_from"]),
        "cachedFrom": job_arn(name, origin[0], origin[1]) if origin else None,
        "attempts": int(step["attempts"] or 0),
    }
    if step.get("message") and step["status"] in ("Failed", "Stopped", "Skipped"):
        run["error"] = step["message"]
    if step.get("mlflow_run_id"):
        run["mlflowRunId"] = step["mlflow_run_id"]
    return run


# ------------------------------------------------------------------------------ the answer


def pipeline(ws: Workspace, name: str, include_latest_exec: bool = True, run_id: str | None = None,
             domain: str | None = None) -> dict[str, Any]:
    """The lineage graph of pipeline `name` in seed 004's format.

    Args:
        ws: the workspace.
        name: the pipeline name.
        include_latest_exec: add the latest run (or `run_id`): statuses, times, metrics, I/O.
        run_id: describe this run instead of the latest one.
        domain: answer only if the pipeline's domain tag matches (seed 004's filter).

    Returns:
        `{pipeline, summary, graph: {nodes, edges, artifacts}, execution}`. A pipeline that never
        ran has `summary.overallStatus` "NotStarted" and nodes whose `run` is null.

    Raises:
        PipelineNotFound: no such pipeline, or its domain does not match.
        RunNotFound: `run_id` is not a run of this pipeline.
    """
    from mloop.pipelines.graph import Graph

    with ws.db.begin() as conn:
        latest = _latest_definition(conn, name)
        run = _pick_run(conn, name, run_id) if (include_latest_exec or run_id) and latest else None
        if run is not None and run["pipeline_id"] != latest["id"]:  # type: ignore[index]
            definition = _definition_by_id(conn, run["pipeline_id"])
        else:
            definition = latest
        data = _RunData(conn, run) if run is not None else None
        if definition is None:
            unrun = _unrun_definition(ws, name)
            if unrun is None:
                raise _not_found(ws, conn, name)
            if run_id:
                raise RunNotFound(f"run '{run_id}' not found for pipeline '{name}'")
    graph = Graph.from_dict(definition["graph"]) if definition else unrun
    raw = definition["graph"] if definition else graph.to_dict()
    if domain is not None and _domain_of(raw) != domain:
        from mloop.pipelines.errors import PipelineNotFound

        raise PipelineNotFound(f"pipeline '{name}' is not in domain '{domain}'",
                               hint=f"its domain is {_domain_of(raw) or 'not set'}")
    modified = latest["created_at"] if latest else None
    return _answer(ws, name, graph, modified, data)


def _answer(ws: Workspace, name: str, graph: Graph, modified: datetime | None,
            data: _RunData | None) -> dict[str, Any]:
    arts = _Artifacts(ws) if data is not None else None
    steps = data.steps if data is not None else {}
    nodes = []
    for node in graph.nodes.values():
        step = steps.get(node.name)
        nodes.append({
            "id": node.name, "type": node.kind,
            "inputs": _inputs(node, step, data, arts, steps),
            "outputs": _outputs(node, step, data, arts),
            "run": _step_run(name, data.run["id"], node, step, data) if data is not None else None,
        })
    return {
        "pipeline": {"name": name, "arn": pipeline_arn(name), "lastModifiedTime": iso(modified),
                     "digest": graph.digest(), "description": graph.description or None},
        "summary": _summary(nodes, data),
        "graph": {"nodes": nodes, "edges": _edges(graph),
                  "artifacts": list(arts.items.values()) if arts else []},
        "execution": _execution(data) if data is not None else None,
    }


def _summary(nodes: list[dict[str, Any]], data: _RunData | None) -> dict[str, Any]:
    if data is None:
        return {"overallStatus": NOT_STARTED, "nodeStatus": {}, "elapsedSec": None}
    counts = Counter(n["run"]["status"] for n in nodes if n["run"])
    run = data.run
    return {"overallStatus": run["status"], "nodeStatus": dict(sorted(counts.items())),
            "elapsedSec": elapsed(run["started_at"] or run["created_at"], run["finished_at"])}


def _execution(data: _RunData) -> dict[str, Any]:
    run = data.run
    return {
        "runId": run["id"], "status": run["status"], "createdTime": iso(run["created_at"]),
        "startTime": iso(run["started_at"]), "endTime": iso(run["finished_at"]),
        "params": run["params"], "target": run["target"], "principal": run["principal"],
        "origin": {"runId": run["origin_run_id"], "kind": run["origin_kind"]} if run["origin_run_id"] else None,
        "mlflowRunId": run["mlflow_run_id"], "experiment": run["experiment"], "error": run["error"],
    }
