"""Pipelines: the list with latest status, and a pipeline's graph drawn from `GET /lineage`."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse

from mloop import lineage
from mloop.pipelines import list_pipelines, list_runs, queries
from mloop.web import redact
from mloop.web.dashboard import session
from mloop.web.dashboard.layout import NODE_H, NODE_W, layered
from mloop.web.dashboard.render import page

router = APIRouter(include_in_schema=False)


def pipeline_rows(ws: Any) -> list[dict[str, Any]]:
    """Every known pipeline with its newest run (or none)."""
    with ws.db.begin() as conn:
        recorded = queries.recorded_names(conn)
        counts = queries.run_counts(conn)

    rows = []
    for name in sorted(recorded | set(list_pipelines(ws))):  # declared ones show before they run
        latest = list_runs(ws, pipeline=name, limit=1)
        rows.append({"name": name, "runs": counts.get(name, 0), "latest": latest[0] if latest else None})
    return rows


@router.get("/ui/", response_class=HTMLResponse)  # the landing page: what runs, and how it went
@router.get("/ui/pipelines", response_class=HTMLResponse)
def pipelines_page(request: Request) -> HTMLResponse:
    session.principal(request, "viewer")
    return page(request, "pipelines.html", active="pipelines", rows=pipeline_rows(request.app.state.ws))


def graph_view(data: dict[str, Any]) -> dict[str, Any]:
    """Positions and curves for the lineage graph `data` (seed 004 format)."""
    nodes = [n["id"] for n in data["graph"]["nodes"]]
    pairs = [(e["from"], e["to"]) for e in data["graph"]["edges"]]
    layout = layered(nodes, pairs)
    edges = []
    for path, edge in zip(layout.paths, [e for e in data["graph"]["edges"]
                                         if e["from"] in layout.positions and e["to"] in layout.positions],
                          strict=False):
        edges.append({**edge, **path})
    boxes = [{**n, "x": layout.positions[n["id"]][0], "y": layout.positions[n["id"]][1]}
             for n in data["graph"]["nodes"]]
    return {"nodes": boxes, "edges": edges, "width": layout.width, "height": layout.height,
            "node_w": NODE_W, "node_h": NODE_H}


@router.get("/ui/pipelines/{name}", response_class=HTMLResponse)
def pipeline_page(request: Request, name: str, run: str | None = None) -> HTMLResponse:
    who = session.principal(request, "viewer")
    ws = request.app.state.ws
    data = redact.for_caller(lineage.pipeline(ws, name, include_latest_exec=True, run_id=run or None),
                             who.authenticated)
    runs = list_runs(ws, pipeline=name, limit=50)
    status = data["summary"].get("overallStatus")
    return page(
        request, "pipeline.html", active="pipelines", name=name, data=data, view=graph_view(data),
        runs=runs, selected=run, refresh=status in ("Executing", "Pending"),
        nodes={n["id"]: n for n in data["graph"]["nodes"]},
        artifacts={a["id"]: a for a in data["graph"].get("artifacts", [])},
    )
