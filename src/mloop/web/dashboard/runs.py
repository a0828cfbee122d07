"""Runs: a filterable table, parameters and metrics of compared runs side by side with a chart,
and retry / clone (with parameter edits) for deployers.

Retry and clone run in a worker process without the server's environment (`pipelines.detached`)
under a pre-assigned run id, so the browser lands on the run's graph at once and watches it refresh
while it executes. Files and URLs in their parameters must lie inside the workspace, the artifact
store or `[pipelines] allowed_data_roots` (`pipelines.locations`).
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mloop.errors import InvalidInput, MloopError
from mloop.web.dashboard import session
from mloop.web.dashboard.render import STATUS, page

router = APIRouter(include_in_schema=False)
SINCE = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}


def _compare(ws: Any, ids: list[str]) -> dict[str, Any]:
    """Parameters and metrics of the chosen runs, keyed for a side-by-side table and a chart."""
    from mloop.pipelines import get_run

    chosen = [get_run(ws, run_id) for run_id in ids[:8]]
    params = sorted({k for r in chosen for k in r.params})
    metrics: dict[str, dict[str, float]] = {}
    for run in chosen:
        for step in run.steps:
            for key, value in step.metrics.items():
                if isinstance(value, int | float):
                    metrics.setdefault(f"{step.name}.{key}", {})[run.id] = float(value)
    return {"runs": chosen, "params": params, "metrics": metrics}


@router.get("/ui/runs", response_class=HTMLResponse)
def runs_page(request: Request, pipeline: str = "", status: str = "", since: str = "") -> HTMLResponse:
    from mloop.pipelines import list_runs

    who = session.principal(request, "viewer")
    ws = request.app.state.ws
    rows = list_runs(ws, pipeline=pipeline or None, status=status or None, limit=200)
    if since in SINCE:
        cutoff = datetime.now(UTC) - SINCE[since]
        rows = [r for r in rows if r["created_at"] >= cutoff]
    compare_ids = request.query_params.getlist("compare")
    comparison = _compare(ws, compare_ids) if compare_ids else None
    pipelines = sorted({r["pipeline_name"] for r in list_runs(ws, limit=500)})
    return page(request, "runs.html", active="runs", rows=rows, pipelines=pipelines,
                statuses=[s for s in STATUS if s not in ("NotStarted", "PendingManualApproval",
                                                         "Approved", "Rejected")],
                filters={"pipeline": pipeline, "status": status, "since": since},
                comparison=comparison, can_run=who.can("deployer"))


@router.post("/ui/runs/{run_id}/action", response_model=None)
async def run_action(request: Request, run_id: str) -> HTMLResponse | RedirectResponse:
    from mloop.pipelines import detached, get_run
    from mloop.pipelines.catalog import resolve_params
    from mloop.pipelines.locations import check_locations
    from mloop.pipelines.runs import new_run_id, run_graph

    form = await request.form()
    session.check_csrf(request, str(form.get("csrf", "")))
    who = session.principal(request, "deployer")
    ws = request.app.state.ws
    action = str(form.get("action", ""))
    try:
        original = get_run(ws, run_id)
        new_id = new_run_id(original.pipeline)
        params: dict[str, Any] = {}
        if action == "retry":
            if original.status in ("Succeeded", "Executing"):
                raise InvalidInput(f"run '{run_id}' is {original.status}; only failed or stopped runs retry",
                                   hint="Clone it with new parameters instead.")
        elif action == "clone":
            params = {k[len("param:"):]: str(v) for k, v in form.items()
                      if k.startswith("param:") and str(v) != str(original.params.get(k[len("param:"):]))}
            # Check them here: a bad value must be a 400 on this page, not a run that never starts.
            resolve_params(run_graph(ws, run_id), {**original.params, **params})
        else:
            raise InvalidInput(f"unknown action '{action}'", hint="retry or clone")
        # The server never reads a caller's file or URL: every location the run would read is checked.
        check_locations(ws, {**original.params, **params})
        await asyncio.to_thread(detached.start, ws, action, run_id, new_id, principal=who.name, params=params)
    except MloopError as exc:
        response = _run(request, run_id, flash=f"{exc.message}. {exc.hint or ''}", kind="error")
        response.status_code = exc.http_status
        return response
    return RedirectResponse(f"/ui/pipelines/{original.pipeline}?run={new_id}", status_code=303)


@router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str) -> HTMLResponse:
    return _run(request, run_id)


def _run(request: Request, run_id: str, flash: str | None = None, kind: str | None = None) -> HTMLResponse:
    """The run page; a refused action shows `flash` (never taken from the URL)."""
    from mloop.pipelines import get_run

    who = session.principal(request, "viewer")
    run = get_run(request.app.state.ws, run_id)
    return page(request, "run.html", active="runs", run=run, can_run=who.can("deployer"),
                flash=flash, flash_kind=kind, refresh=run.status in ("Pending", "Executing"))
