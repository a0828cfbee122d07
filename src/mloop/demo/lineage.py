"""Chapter: the control plane — the lineage of ad-click-ctr over HTTP in seed 004's format,
then a model version traced back to its run, data, feature group version and approvals."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from mloop.demo import DemoContext
from mloop.demo.processes import start_mloop
from mloop.store.files import atomic_write

TITLE = "Lineage: the control plane serves the graph of ad-click-ctr (seed 004 JSON) and a model's chain"
NEEDS: tuple[str, ...] = ("pipelines", "serving")
PIPELINE = "ad-click-ctr"


def run(ctx: DemoContext) -> None:
    import httpx

    url = _start_server(ctx)
    with httpx.Client(base_url=url, timeout=30) as http:
        response = http.get("/lineage", params={"pipeline": PIPELINE, "includeLatestExec": "true"})
        response.raise_for_status()
        data = response.json()
        _summary(ctx, data, response.elapsed.total_seconds() * 1000)
        out = ctx.workspace.root.parent / f"{ctx.workspace.root.name}-{PIPELINE}-lineage.json"
        atomic_write(out, json.dumps(data, indent=2) + "\n")
        ctx.did(f"wrote the lineage JSON ({out.stat().st_size:,} bytes)", str(out))
        missing = http.get("/lineage")
        ctx.say(f"GET /lineage without a pipeline → {missing.status_code} {missing.text}")
        if ctx.state.get("pipeline_model_version"):
            _model(ctx, http, ctx.state["pipeline_model"], int(ctx.state["pipeline_model_version"]))
        if ctx.state.get("serving_endpoint"):
            _endpoint(ctx, http, ctx.state["serving_endpoint"])
    ctx.say(f"try: [bold]curl '{url}/lineage?pipeline={PIPELINE}&includeLatestExec=true'[/] · "
            f"[bold]mloop lineage show {PIPELINE}[/] · OpenAPI at {url}/docs")
    ctx.state.update(control_plane_url=url, lineage_json=str(out))


def _start_server(ctx: DemoContext) -> str:
    """`mloop server` as a user starts it, on a free port; stopped when the demo ends."""
    url = start_mloop(ctx, ["server"], log_name="control-plane.log", ready="/healthz")
    ctx.did(f"started the control plane (mloop server) on {url}", f"{url}/docs")
    return url


def _summary(ctx: DemoContext, data: dict[str, Any], took_ms: float) -> None:
    s, graph = data["summary"], data["graph"]
    statuses = ", ".join(f"{k} {v}" for k, v in s["nodeStatus"].items())
    took = "" if s["elapsedSec"] is None else f"; run took {s['elapsedSec']:.2f} s"
    ctx.did(f"GET /lineage?pipeline={PIPELINE}&includeLatestExec=true → {s['overallStatus']} "
            f"({statuses or 'no run yet'}) in {took_ms:.0f} ms{took}")
    vias = Counter(e["via"] for e in graph["edges"])
    ctx.say(f"{len(graph['nodes'])} nodes, {len(graph['edges'])} edges "
            f"({', '.join(f'{k} {v}' for k, v in vias.items())}), {len(graph['artifacts'])} artifacts")
    for node in graph["nodes"]:
        run = node["run"] or {}
        metrics = ", ".join(f"{k}={v:.3f}" for k, v in sorted((run.get("metrics") or {}).items())[:4])
        ctx.say(f"  {node['id']:<20} {node['type']:<14} {run.get('status', '-'):<10} {metrics}")
    if graph["artifacts"]:
        first = graph["artifacts"][0]
        meta = first.get("s3") or first.get("storage") or {}
        ctx.say(f"artifact #{first['id']} {first['key'][:40]}… storage: encryption {meta.get('encryption')}, "
                f"versioning {meta.get('versioning')}, publicAccess {meta.get('publicAccess')}")


def _model(ctx: DemoContext, http: Any, name: str, version: int) -> None:
    response = http.get(f"/lineage/models/{name}/{version}")
    if response.status_code != 200:
        ctx.say(f"[yellow]model lineage of {name} v{version}: {response.status_code} {response.text}[/]")
        return
    chain = response.json()
    run = chain["run"] or {}
    groups = ", ".join(f"{g['name']} v{g['dataVersion']}" for g in chain["featureGroups"]) or "none"
    approvals = " → ".join(a["to"] for a in chain["approvals"])
    deployed = ", ".join(f"{d['endpoint']}/{d['variant']}" for d in chain["deployments"]) or "not deployed"
    ctx.did(f"{name} v{version} ({chain['model']['status']}) ← run {run.get('runId')} step {run.get('step')} "
            f"← {len(chain['data'])} data artifacts ← feature groups {groups}",
            f"mloop lineage model {name} {version}")
    ctx.say(f"approvals: {approvals}; deployments: {deployed}")




def _endpoint(ctx: DemoContext, http: Any, name: str) -> None:
    response = http.get(f"/lineage/endpoints/{name}")
    if response.status_code != 200:
        ctx.say(f"[yellow]endpoint lineage of {name}: {response.status_code} {response.text}[/]")
        return
    for v in response.json()["variants"]:
        chain = v["lineage"] or {}
        run = chain.get("run") or {}
        groups = ", ".join(f"{g['name']} v{g['dataVersion']}" for g in chain.get("featureGroups", []))
        ctx.did(f"endpoint {name}/{v['variant']} ({v['weight']}%) → {v['model']} v{v['version']} "
                f"← run {run.get('runId')} ← {groups or 'no feature group'}", f"mloop lineage endpoint {name}")
