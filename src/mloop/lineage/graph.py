"""The lineage of a pipeline in seed 004's format, from the run records.

`pipeline(ws, name)` answers `{pipeline, summary, graph: {nodes, edges, artifacts}}`: nodes are
the steps of the definition (type from the step kind), edges come from the definition (`ref:Get`
for data, `dependsOn` for explicit ordering, `condition` with its branch), and with
`include_latest_exec` each node carries its step run (status, times, job id, metrics, cached,
attempts) and the artifacts it read and wrote, each with storage security metadata.
"""

from __future__ import annotations

import threading
import time
from collections import Counter, OrderedDict
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mloop.lineage import storage
from mloop.lineage.records import (
    NOT_STARTED,
    _definition_by_id,
    _feature_groups,
    _latest_definition,
    _not_found,
    _numeric,
    _pick_run,
    _RunData,
    _unrun_definition,
    elapsed,
    iso,
    job_arn,
    pipeline_arn,
)
from mloop.pipelines.errors import PipelineNotFound, RunNotFound
from mloop.pipelines.graph import Graph
from mloop.pipelines.runs import parent_step

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.pipelines.graph import Node
    from mloop.store import Workspace

TERMINAL = ("Succeeded", "Failed", "Stopped")

__all__ = ["NOT_STARTED", "RunNotFound", "elapsed", "iso", "job_arn", "pipeline", "pipeline_arn"]



# ------------------------------------------------------------------------------- assembly


class _Artifacts:
    """The artifacts a graph mentions, once each, with location and storage metadata."""

    def __init__(self, ws: Workspace) -> None:
        settings = ws.settings
        self.ws = ws
        self.items: dict[str, dict[str, Any]] = {}
        root = settings.artifact_root
        self.local_root = None if "://" in root else Path(root)
        self.kwargs: dict[str, Any] = {
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


def _inputs(node: Node, step: dict[str, Any] | None, data: _RunData | None,
            arts: _Artifacts | None, producers: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    used = {name: aid for name, aid in (data.uses.get(step["id"], []) if data and step else [])}
    for name, binding in node.inputs.items():
        if binding.source != "output":
            continue
        index = "".join(f"[{part!r}]" for part in binding.path)  # report["auc"] reads one field
        item: dict[str, Any] = {"name": name, "uri": None, "from": f"{binding.step}.{binding.output}{index}"}
        if data is not None and arts is not None:
            rec = data.by_id.get(used[name]) if name in used else None
            digest = rec["digest"] if rec else _output_digest(producers.get(str(binding.step)), binding.output)
            rec = rec or (data.by_digest.get(digest) if digest else None)
            item["uri"] = arts.add(rec, digest, f"{binding.step}.{binding.output}")
            item["digest"] = digest
        out.append(item)
    for group in _feature_groups(node, step):
        item = {"name": group, "uri": f"mloop://feature-groups/{group}", "from": "feature-group"}
        if data is not None:
            item["dataVersion"] = data.group_version(group, step)
        out.append(item)
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
        out.append({"name": "mlflowModel", "uri": step["model_uri"]})  # the MLflow logged model
    return out


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
    if step.get("message"):
        run["error" if step["status"] in ("Failed", "Stopped") else "message"] = step["message"]
    if step.get("mlflow_run_id"):
        run["mlflowRunId"] = step["mlflow_run_id"]
    return run


def _inner_tasks(step: str, data: _RunData, arts: _Artifacts) -> list[dict[str, Any]]:
    """The recorded inner tasks of a KFP group step (`loop[1]/task`), in the order they started,
    each with its status, times and the artifacts it wrote (added to the graph's artifacts)."""
    rows = sorted((s for n, s in data.steps.items() if n != step and parent_step(n) == step),
                  key=lambda s: s["id"])
    tasks = []
    for row in rows:
        outputs = []
        for output, digest in (row.get("outputs") or {}).items():
            uri = arts.add(data.by_digest.get(digest), digest, f"{row['step_name']}.{output}")
            outputs.append({"name": output, "uri": uri, "digest": digest})
        seconds = row["duration_s"] if row["duration_s"] is not None else elapsed(
            row["started_at"], row["finished_at"])
        task = {"name": row["step_name"], "status": row["status"],
                "startTime": iso(row["started_at"]), "endTime": iso(row["finished_at"]),
                "elapsedSec": None if seconds is None else round(float(seconds), 3),
                "mlflowRunId": row.get("mlflow_run_id"), "cached": row["status"] == "Cached",
                "outputs": outputs}
        if row.get("message"):  # failures under `error`, which the dashboard reduces for guests
            task["error" if row["status"] in ("Failed", "Stopped") else "message"] = row["message"]
        tasks.append(task)
    return tasks


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
    answer, own = _cached_answer(ws, name, include_latest_exec or bool(run_id), run_id)
    if domain is not None and (own or ws.settings.lineage.domain) != domain:
        own = own or ws.settings.lineage.domain
        raise PipelineNotFound(f"pipeline '{name}' is not in domain '{domain}'",
                               hint=f"its domain is {own or 'not set ([lineage] domain)'}")
    return answer


# Answers about finished runs never change (a retry is a new run), except for the storage
# metadata, which is as fresh as the probe TTL: keep recent ones, serialized, for that long.
_ANSWERS: OrderedDict[tuple[Any, ...], tuple[float, bytes, str | None]] = OrderedDict()
_ANSWERS_MAX = 64
_answers_lock = threading.Lock()


def clear_answers() -> None:
    """Forget cached answers (tests; after editing records by hand)."""
    with _answers_lock:
        _ANSWERS.clear()


def _cached_answer(ws: Workspace, name: str, with_run: bool,
                   run_id: str | None) -> tuple[dict[str, Any], str | None]:
    """(answer, the pipeline's own domain tag), from the cache when the run is finished."""
    import orjson

    ttl = ws.settings.lineage.probe_ttl_seconds
    with ws.db.begin() as conn:
        latest = _latest_definition(conn, name)
        run = _pick_run(conn, name, run_id) if with_run and latest is not None else None
        key = None
        if latest is not None and (run is None or (run["status"] in TERMINAL and run["finished_at"])):
            key = (ws.settings.database_url, name, latest["id"], run and (run["id"], run["status"], run["finished_at"]))
            with _answers_lock:
                hit = _ANSWERS.get(key)
            if hit and time.monotonic() - hit[0] < ttl:  # the current TTL decides
                return orjson.loads(hit[1]), hit[2]
        graph, digest, modified, data = _load(ws, conn, name, latest, run, run_id)
    answer = _answer(ws, name, graph, digest, modified, data)
    tags = getattr(graph, "tags", None) or {}
    own = getattr(graph, "domain", None) or (tags.get("domain") if isinstance(tags, dict) else None)
    if key is not None and ttl > 0:
        with _answers_lock:
            _ANSWERS[key] = (time.monotonic(), orjson.dumps(answer), own)
            while len(_ANSWERS) > _ANSWERS_MAX:
                _ANSWERS.popitem(last=False)
    return answer, own


def _load(ws: Workspace, conn: Connection, name: str, latest: dict[str, Any] | None, run: dict[str, Any] | None,
          run_id: str | None) -> tuple[Graph, str, datetime | None, _RunData | None]:
    """(definition, its digest, when it last changed, the run's records).

    A run is described with the definition it executed, which may be older than the latest.
    """
    if latest is None:
        unrun = _unrun_definition(ws, name)
        if unrun is None:
            raise _not_found(ws, conn, name)
        if run_id:
            raise RunNotFound(f"run '{run_id}' not found for pipeline '{name}'")
        return unrun, unrun.digest(), None, None
    definition = latest
    if run is not None and run["pipeline_id"] != latest["id"]:
        definition = _definition_by_id(conn, run["pipeline_id"])
    graph = Graph.from_dict(definition["graph"])
    data = _RunData(conn, run, graph) if run is not None else None
    return graph, str(definition["graph_hash"]), latest["created_at"], data


def _answer(ws: Workspace, name: str, graph: Graph, digest: str, modified: datetime | None,
            data: _RunData | None) -> dict[str, Any]:
    arts = _Artifacts(ws) if data is not None else None
    steps = data.steps if data is not None else {}
    nodes = []
    for node in graph.nodes.values():
        step = steps.get(node.name)
        run = _step_run(name, data.run["id"], node, step, data) if data is not None else None
        if run is not None and data is not None and arts is not None:
            tasks = _inner_tasks(node.name, data, arts)
            if tasks:
                run["tasks"] = tasks
        nodes.append({
            "id": node.name, "type": node.kind,
            "inputs": _inputs(node, step, data, arts, steps),
            "outputs": _outputs(node, step, data, arts),
            "run": run,
        })
    return {
        "pipeline": {"name": name, "arn": pipeline_arn(name), "lastModifiedTime": iso(modified),
                     "digest": digest, "description": graph.description or None},
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
