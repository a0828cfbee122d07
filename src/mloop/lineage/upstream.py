"""Upstream and downstream queries: a model version, an endpoint, an artifact.

`model()` walks from a registry version to the step run that produced (or registered) it, then
backwards through the artifact uses of that run to the data and feature groups it came from, and
forwards to the endpoints serving it. Everything is read from the metadata tables directly
(a handful of indexed queries), never through MLflow, so it stays fast.
"""

from __future__ import annotations

import threading
import time
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

from mloop.errors import ArtifactNotFound, NotFound, did_you_mean
from mloop.lineage.graph import TERMINAL
from mloop.lineage.links import model_uri, trail
from mloop.lineage.records import _feature_groups as groups_of
from mloop.lineage.records import _numeric, _RunData, elapsed, iso, job_arn

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.pipelines.graph import Graph
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
    from sqlalchemy import select

    from mloop.pipelines.tables import pipeline_runs, step_runs

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
    run = conn.execute(select(pipeline_runs).where(pipeline_runs.c.id == rid)).first()
    return step, (dict(run._mapping) if run else None)


def _run_data(conn: Connection, run: dict[str, Any] | None) -> tuple[Graph | None, _RunData | None]:
    """The definition a run executed and its records (steps, uses, artifacts), loaded once."""
    if run is None:
        return None, None
    from sqlalchemy import select

    from mloop.pipelines.graph import Graph
    from mloop.pipelines.tables import pipelines

    row = conn.execute(select(pipelines.c.graph).where(pipelines.c.id == run["pipeline_id"])).first()
    graph = Graph.from_dict(row.graph) if row is not None else None
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
    try:
        from sqlalchemy import select

        from mloop.serving.tables import endpoint_variants as ev
    except ImportError:
        return []
    query = select(ev).where(ev.c.model_name == name, ev.c.model_version == version).order_by(ev.c.endpoint)
    return [{"endpoint": r.endpoint, "variant": r.variant, "weight": r.weight,
             "deployedAt": iso(r.deployed_at)} for r in conn.execute(query)]


def _version_row(conn: Connection, name: str, version: int) -> dict[str, Any]:
    from sqlalchemy import select

    from mloop.registry.tables import registry_versions as rv

    row = conn.execute(select(rv).where(rv.c.name == name, rv.c.version == version)).first()
    if row is not None:
        return dict(row._mapping)
    versions = [r.version for r in conn.execute(select(rv.c.version).where(rv.c.name == name))]
    if versions:
        raise NotFound(f"model '{name}' has no version {version}",
                       hint=f"versions: {', '.join(map(str, sorted(versions)))}")
    names = [r.name for r in conn.execute(select(rv.c.name).distinct())]
    raise NotFound(f"model '{name}' not found", hint=did_you_mean(name, names))


def model(ws: Workspace, name: str, version: int) -> dict[str, Any]:
    """Where a model version came from and where it runs.

    Returns:
        `{model, approvals, run, data, featureGroups, deployments, triggeredBy}`: the registry
        record, its approval trail, the pipeline run and step behind it, every upstream artifact,
        the feature groups read (with recorded data versions), the endpoint variants serving it,
        and what started the release that trained it (release, drift report, alert), nearest first.

    Raises:
        NotFound: no such model or version (the hint lists what exists).
    """
    from sqlalchemy import select

    from mloop.registry.tables import registry_audit as ra

    with ws.db.begin() as conn:
        row = _version_row(conn, name, int(version))
        audit = conn.execute(select(ra).where(ra.c.name == name, ra.c.version == int(version))
                             .order_by(ra.c.id)).all()
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
        NotFound: no endpoint named `name` (the hint lists the endpoints).
    """
    from sqlalchemy import select

    from mloop.serving.tables import endpoint_history as eh
    from mloop.serving.tables import endpoint_variants as ev
    from mloop.serving.tables import endpoints as ep

    with ws.db.begin() as conn:
        row = conn.execute(select(ep).where(ep.c.name == name)).first()
        if row is None:
            names = [r.name for r in conn.execute(select(ep.c.name))]
            raise NotFound(f"endpoint '{name}' not found", hint=did_you_mean(name, names))
        variants = conn.execute(select(ev).where(ev.c.endpoint == name).order_by(ev.c.variant)).all()
        changes = conn.execute(select(eh.c.generation, eh.c.at, eh.c.action, eh.c.principal)
                               .where(eh.c.endpoint == name).order_by(eh.c.generation.desc()).limit(20)).all()
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
    from sqlalchemy import select

    from mloop.lineage.graph import _Artifacts
    from mloop.pipelines.tables import artifact_uses, artifacts, pipeline_runs, step_runs

    digest = digest.strip().lower().removeprefix("sha256:")
    with ws.db.begin() as conn:
        rows = [dict(r._mapping) for r in conn.execute(
            select(artifacts).where(artifacts.c.digest == digest).order_by(artifacts.c.id))]
        if not rows:
            raise ArtifactNotFound(f"no recorded artifact with digest '{digest[:64]}'",
                                   hint="Digests are listed by `mloop lineage show PIPELINE`.")
        first = rows[0]
        producer = conn.execute(select(step_runs).where(step_runs.c.id == first["producer_step_run_id"])).first()
        run = conn.execute(select(pipeline_runs).where(pipeline_runs.c.id == producer.run_id)).first() \
            if producer else None
        ids = [r["id"] for r in rows]
        uses = conn.execute(
            select(artifact_uses.c.input_name, step_runs.c.step_name, step_runs.c.run_id, step_runs.c.status,
                   pipeline_runs.c.pipeline_name)
            .join(step_runs, step_runs.c.id == artifact_uses.c.step_run_id)
            .join(pipeline_runs, pipeline_runs.c.id == step_runs.c.run_id)
            .where(artifact_uses.c.artifact_id.in_(ids)).order_by(artifact_uses.c.id)).all()
    arts = _Artifacts(ws)
    arts.add(first, digest, first["output_name"])
    entry = arts.items[digest]
    entry["format"] = first["format"]
    producer_ref = _run_ref(dict(producer._mapping) if producer else None, dict(run._mapping) if run else None)
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
