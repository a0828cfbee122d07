"""Upstream and downstream queries: a model version, an endpoint, an artifact.

`model()` walks from a registry version to the step run that produced (or registered) it, then
backwards through the artifact uses of that run to the data and feature groups it came from, and
forwards to the endpoints serving it. Everything is read through the query functions of the
packages that own the records (pipelines, registry, serving), composed in one transaction: a
handful of indexed queries, never through MLflow, so it stays fast.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from mloop.errors import ArtifactNotFound, NotFound
from mloop.lineage.graph import TERMINAL, _Artifacts
from mloop.lineage.links import model_uri, trail
from mloop.lineage.records import _feature_groups as groups_of
from mloop.lineage.records import _numeric, _RunData, elapsed, iso, job_arn
from mloop.pipelines import queries as pipeline_queries
from mloop.pipelines.graph import Graph
from mloop.registry import queries as registry_queries
from mloop.serving import queries as serving_queries

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace


def _run_ref(step: dict[str, Any] | None, run: dict[str, Any] | None) -> dict[str, Any] | None:
    if run is None:
        return None
    ref: dict[str, Any] = {
        "pipeline": run["pipeline_name"], "runId": run["id"], "status": run["status"],
        "startTime": iso(run["started_at"]), "endTime": iso(run["finished_at"]),
        "elapsedSec": elapsed(run["started_at"] or run["created_at"], run["finished_at"]),
        "params": run["params"], "mlflowRunId": run["mlflow_run_id"],
        "step": None, "jobArn": None,
    }
    if step is not None:
        ref.update(step=step["step_name"], jobArn=job_arn(run["pipeline_name"], run["id"], step["step_name"]),
                   stepType=step["kind"], metrics=_numeric(step["metrics"]))
    return ref


def _find_producer(conn: Connection, version: dict[str, Any]) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """(step run, pipeline run) behind a model version, by recorded ids or by model URI."""
    return pipeline_queries.producer_of_model(conn, version)


def _run_data(conn: Connection, run: dict[str, Any] | None) -> tuple[Graph | None, _RunData | None]:
    """The definition a run executed and its records (steps, uses, artifacts), loaded once."""
    if run is None:
        return None, None
    recorded = pipeline_queries.definition_graph(conn, run["pipeline_id"])
    graph = Graph.from_dict(recorded) if recorded is not None else None
    return graph, _RunData(conn, run, graph, origins=False)


def _upstream_data(data: _RunData, step_run_id: int) -> list[dict[str, Any]]:
    """Every artifact the step consumed, directly or through the steps that produced its inputs."""
    names = {s["id"]: s["step_name"] for s in data.steps.values()}
    found: dict[int, dict[str, Any]] = {}
    seen: set[int] = set()
    frontier = [step_run_id]
    while frontier:
        current = frontier.pop()
        if current in seen:
            continue
        seen.add(current)
        for _input, artifact_id in data.uses.get(current, []):
            rec = data.by_id.get(artifact_id)
            if rec is not None:
                found.setdefault(artifact_id, rec)
                frontier.append(rec["producer_step_run_id"])
    return [
        {"name": f"{names.get(r['producer_step_run_id'], '?')}.{r['output_name']}", "uri": r["uri"],
         "digest": r["digest"], "size": r["size"], "type": r["type"], "artifactId": r["id"]}
        for r in sorted(found.values(), key=lambda r: r["id"])
    ]


def _feature_groups(graph: Graph | None, data: _RunData | None) -> list[dict[str, Any]]:
    """Feature groups the run's steps read, with the data version each step read."""
    if graph is None or data is None:
        return []
    out: list[dict[str, Any]] = []
    for node in graph.nodes.values():
        step = data.steps.get(node.name)
        for name in groups_of(node, step):
            out.append({"name": name, "step": node.name, "dataVersion": data.group_version(name, step),
                        "uri": f"mloop://feature-groups/{name}"})
    return out


# What a finished run read never changes: its upstream is kept (by run and step) for the probe TTL.
_UPSTREAM: OrderedDict[tuple[Any, ...], tuple[float, bytes]] = OrderedDict()
_UPSTREAM_MAX = 256
_upstream_lock = threading.Lock()


def _upstream(ws: Workspace, conn: Connection, step: dict[str, Any] | None,
              run: dict[str, Any] | None) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """(upstream artifacts, feature groups) of a step run, cached when its run has finished."""
    import orjson

    ttl = ws.settings.lineage.probe_ttl_seconds
    key = None
    if run is not None and run["finished_at"] is not None and run["status"] in TERMINAL:
        key = (ws.settings.database_url, run["id"], step["id"] if step else None, run["finished_at"])
        with _upstream_lock:
            hit = _UPSTREAM.get(key)
        if hit and time.monotonic() - hit[0] < ttl:
            data, groups = orjson.loads(hit[1])
            return data, groups
    graph, records = _run_data(conn, run)
    data = _upstream_data(records, step["id"]) if step and records else []
    groups = _feature_groups(graph, records)
    if key is not None and ttl > 0:
        with _upstream_lock:
            _UPSTREAM[key] = (time.monotonic(), orjson.dumps([data, groups]))
            while len(_UPSTREAM) > _UPSTREAM_MAX:
                _UPSTREAM.popitem(last=False)
    return data, groups


def clear_upstream() -> None:
    with _upstream_lock:
        _UPSTREAM.clear()


def _deployments(conn: Connection, name: str, version: int) -> list[dict[str, Any]]:
    return [{"endpoint": r.endpoint, "variant": r.variant, "weight": r.weight,
             "deployedAt": iso(r.deployed_at)} for r in serving_queries.variants_serving(conn, name, version)]


def model(ws: Workspace, name: str, version: int) -> dict[str, Any]:
    """Where a model version came from and where it runs.

    Returns:
        `{model, approvals, run, data, featureGroups, deployments, triggeredBy}`: the registry
        record, its approval trail, the pipeline run and step behind it, every upstream artifact,
        the feature groups read (with recorded data versions), the endpoint variants serving it,
        and what started the release that trained it (release, drift report, alert), nearest first.

    Raises:
        ModelNotFound, ModelVersionNotFound: no such model or version (the hint lists what exists).
    """
    with ws.db.begin() as conn:  # one snapshot over the registry's, pipelines' and serving's records
        row = registry_queries.version_record(conn, name, int(version))
        audit = registry_queries.approval_trail(conn, name, int(version))
        step, run = _find_producer(conn, row)
        data, groups = _upstream(ws, conn, step, run)
        deployments = _deployments(conn, name, int(version))
        triggered_by = trail(conn, model_uri(name, int(version)))
    return {
        "model": {"name": row["name"], "version": int(row["version"]), "status": row["status"],
                  "modelUri": row["model_uri"], "source": row["source"], "mlflowRunId": row["run_id"],
                  "metrics": _numeric(row["metrics"]), "createdAt": iso(row["created_at"]),
                  "registeredBy": row["registered_by"], "arn": model_uri(name, int(version))},
        "approvals": [{"from": a.from_status, "to": a.to_status, "principal": a.principal,
                       "at": iso(a.at), "comment": a.comment} for a in audit],
        "run": _run_ref(step, run),
        "data": data,
        "featureGroups": groups,
        "deployments": deployments,
        "triggeredBy": triggered_by,
    }


def endpoint(ws: Workspace, name: str) -> dict[str, Any]:
    """The chain behind each variant of an endpoint: model version -> approvals -> run -> data.

    Raises:
        EndpointNotFound: no endpoint named `name` (the hint lists the endpoints).
    """
    with ws.db.begin() as conn:
        row = serving_queries.endpoint_record(conn, name)
        variants = serving_queries.variants_of(conn, name)
        changes = serving_queries.recent_changes(conn, name, limit=20)
    out = []
    for v in variants:
        try:
            chain: dict[str, Any] | None = model(ws, v.model_name, v.model_version)
        except NotFound:
            chain = None  # the version was deleted from the registry; say so rather than fail
        out.append({"variant": v.variant, "weight": v.weight, "model": v.model_name,
                    "version": v.model_version, "modelUri": v.model_uri,
                    "deployedAt": iso(v.deployed_at), "lineage": chain})
    return {
        "endpoint": {"name": row.name, "generation": row.generation, "followModel": row.follow_model,
                     "createdAt": iso(row.created_at), "updatedAt": iso(row.updated_at),
                     "arn": f"mloop://endpoints/{name}"},
        "variants": out,
        "history": [{"generation": c.generation, "at": iso(c.at), "action": c.action,
                     "principal": c.principal} for c in changes],
    }


def artifact(ws: Workspace, digest: str) -> dict[str, Any]:
    """Who produced an artifact (pipeline, run, step, output) and every step run that read it.

    Raises:
        ArtifactNotFound: no run recorded an artifact with this digest (or it is malformed).
    """
    digest = digest.strip().lower().removeprefix("sha256:")
    with ws.db.begin() as conn:
        rows = pipeline_queries.artifacts_with_digest(conn, digest)
        if not rows:
            raise ArtifactNotFound(f"no recorded artifact with digest '{digest[:64]}'",
                                   hint="Digests are listed by `mloop lineage show PIPELINE`.")
        first = rows[0]
        producer = pipeline_queries.step_run(conn, first["producer_step_run_id"])
        run = pipeline_queries.run_record(conn, producer["run_id"]) if producer else None
        uses = pipeline_queries.consumers_of(conn, [r["id"] for r in rows])
    arts = _Artifacts(ws)
    arts.add(first, digest, first["output_name"])
    entry = arts.items[digest]
    entry["format"] = first["format"]
    producer_ref = _run_ref(producer, run)
    if producer_ref is not None:
        producer_ref["output"] = first["output_name"]
    return {
        "artifact": entry,
        "producer": producer_ref,
        "consumers": [{"pipeline": u.pipeline_name, "runId": u.run_id, "step": u.step_name, "input": u.input_name,
                       "status": u.status, "jobArn": job_arn(u.pipeline_name, u.run_id, u.step_name)}
                      for u in uses],
        "recordedBy": len(rows),
    }
