"""Runs: a filterable table, parameters and metrics of compared runs side by side with a chart,
and retry / clone (with parameter edits) for deployers.

Retry and clone start in a background thread of the control plane with a pre-assigned run id, so
the browser lands on the run's graph at once and watches it refresh while it executes.
"""

from __future__ import annotations

import threading
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mloop.errors import InvalidInput, MloopError
from mloop.web.dashboard import session
from mloop.web.dashboard.render import STATUS, page

router = APIRouter(include_in_schema=False)
SINCE = {"1h": timedelta(hours=1), "24h": timedelta(days=1), "7d": timedelta(days=7)}


def _aware(value: datetime | None) -> datetime | None:
    return value.replace(tzinfo=UTC) if value is not None and value.tzinfo is None else value


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
        rows = [r for r in rows if (_aware(r["created_at"]) or cutoff) >= cutoff]
    compare_ids = request.query_params.getlist("compare")
    comparison = _compare(ws, compare_ids) if compare_ids else None
    pipelines = sorted({r["pipeline_name"] for r in list_runs(ws, limit=500)})
    return page(request, "runs.html", active="runs", rows=rows, pipelines=pipelines,
                statuses=[s for s in STATUS if s not in ("NotStarted", "PendingManualApproval",
                                                         "Approved", "Rejected")],
                filters={"pipeline": pipeline, "status": status, "since": since},
                comparison=comparison, can_run=who.can("deployer"))


def _start(target: Any, **kwargs: Any) -> None:
    """Run `target` in the background and return once its run record exists (or it failed)."""
    from mloop.pipelines import get_run

    thread = threading.Thread(target=_quietly, args=(target,), kwargs=kwargs, daemon=True,
                              name=f"mloop-run-{kwargs['new_run_id']}")
    thread.start()
    while thread.is_alive():
        try:
            get_run(kwargs["ws"], kwargs["new_run_id"])
            return
        except MloopError:
            thread.join(0.05)


def _quietly(target: Any, **kwargs: Any) -> None:
    import logging

    try:
        target(**kwargs)
    except Exception:  # the run record holds the failure; the server keeps serving
        logging.getLogger("mloop.web").exception("background run %s failed", kwargs.get("new_run_id"))


@router.post("/ui/runs/{run_id}/action", response_model=None)
async def run_action(request: Request, run_id: str) -> HTMLResponse | RedirectResponse:
    from mloop.pipelines import clone_run, get_run, retry_run
    from mloop.pipelines.registry import resolve_params
    from mloop.pipelines.runs import new_run_id, run_graph

    form = await request.form()
    session.check_csrf(request, str(form.get("csrf", "")))
    who = session.principal(request, "deployer")
    ws = request.app.state.ws
    action = str(form.get("action", ""))
    try:
        original = get_run(ws, run_id)
        new_id = new_run_id(original.pipeline)
        if action == "retry":
            if original.status in ("Succeeded", "Executing"):
                raise InvalidInput(f"run '{run_id}' is {original.status}; only failed or stopped runs retry",
                                   hint="Clone it with new parameters instead.")
            _start(retry_run, ws=ws, run_id=run_id, new_run_id=new_id, principal=who.name)
        elif action == "clone":
            params = {k[len("param:"):]: str(v) for k, v in form.items()
                      if k.startswith("param:") and str(v) != str(original.params.get(k[len("param:"):]))}
            # Check them here: in the background thread a bad value only reached the log, and the
            # redirect led to a run that was never created (404).
            resolve_params(run_graph(ws, run_id), {**original.params, **params})
            _start(clone_run, ws=ws, run_id=run_id, params=params, new_run_id=new_id, principal=who.name)
        else:
            raise InvalidInput(f"unknown action '{action}'", hint="retry or clone")
    except MloopError as exc:
        response = run_page(request, run_id, flash=f"{exc.message}. {exc.hint or ''}", kind="error")
        response.status_code = exc.http_status
        return response
    return RedirectResponse(f"/ui/pipelines/{original.pipeline}?run={new_id}", status_code=303)


@router.get("/ui/runs/{run_id}", response_class=HTMLResponse)
def run_page(request: Request, run_id: str, flash: str | None = None, kind: str | None = None) -> HTMLResponse:
    from mloop.pipelines import get_run

    who = session.principal(request, "viewer")
    run = get_run(request.app.state.ws, run_id)
    return page(request, "run.html", active="runs", run=run, can_run=who.can("deployer"),
                flash=flash, flash_kind=kind, refresh=run.status in ("Pending", "Executing"))
