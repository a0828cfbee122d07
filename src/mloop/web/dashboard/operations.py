"""Releases and monitoring: the stages of each release with its waiting approval, and the live
loop — interactions per hour, feedback rate, drift reports and alerts."""

from __future__ import annotations

import json
import re
from collections import Counter
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse

from mloop import features
from mloop.alerts import list_alerts
from mloop.errors import MloopError, NotFound
from mloop.release import approve_release, list_releases, reject_release
from mloop.web.dashboard import session
from mloop.web.dashboard.render import page

router = APIRouter(include_in_schema=False)
_REPORT = re.compile(r"^[A-Za-z0-9._-]+\.html$")


@router.get("/ui/releases", response_class=HTMLResponse)
def releases_page(request: Request) -> HTMLResponse:
    return _releases(request)


def _releases(request: Request, flash: str | None = None, kind: str | None = None,
              status_code: int = 200) -> HTMLResponse:
    """The releases page; a refused decision shows `flash` (never taken from the URL)."""
    who = session.principal(request, "viewer")
    releases = list_releases(request.app.state.ws.db, limit=50)
    active = any(not r.finished for r in releases)
    return page(request, "releases.html", active="releases", releases=releases,
                can_approve=who.can("approver"), refresh=active and not flash, flash=flash,
                flash_kind=kind, status_code=status_code)


@router.post("/ui/releases/{release_id}/decision", response_model=None)
def release_decision(request: Request, release_id: int, decision: str = Form(...), comment: str = Form(""),
                     csrf: str = Form("")) -> HTMLResponse | RedirectResponse:

    session.check_csrf(request, csrf)
    who = session.principal(request, "approver")
    action = approve_release if decision == "approve" else reject_release
    try:
        action(request.app.state.ws, release_id, principal=who.name, comment=comment.strip() or None)
    except MloopError as exc:
        return _releases(request, flash=f"{exc.message}. {exc.hint or ''}", kind="error",
                         status_code=exc.http_status)
    return RedirectResponse("/ui/releases", status_code=303)


def _hourly(ws: Any, group: str) -> tuple[list[tuple[str, int]], int]:
    """Records per hour (newest 48 hours that have any) and the total, from a feature group."""
    try:
        frame = features.extract(ws, group, history=True)
    except MloopError:
        return [], 0
    if frame.empty:
        return [], 0
    column = features.get_group(ws, group).spec.event_time
    hours = Counter(ts.strftime("%Y-%m-%d %H:00") for ts in frame[column].dropna())
    return sorted(hours.items())[-48:], len(frame)


def _reports(ws: Any) -> list[dict[str, Any]]:
    folder = ws.state_dir / "monitoring"
    out = []
    for path in sorted(folder.glob("*.json"), reverse=True)[:20] if folder.exists() else []:
        try:
            data = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        out.append({"name": path.stem, "html": path.with_suffix(".html").name,
                    "endpoint": data.get("endpoint"), "drifted": data.get("drifted"),
                    "created_at": data.get("generated_at"),
                    "rows": data.get("rows_current")})
    return out


@router.get("/ui/monitoring", response_class=HTMLResponse)
def monitoring_page(request: Request) -> HTMLResponse:

    session.principal(request, "viewer")
    ws = request.app.state.ws
    hourly, interactions = _hourly(ws, ws.settings.app.interactions_group)
    _, feedback = _hourly(ws, ws.settings.app.feedback_group)
    peak = max((n for _, n in hourly), default=1)
    return page(request, "monitoring.html", active="monitoring", hourly=hourly, peak=peak,
                interactions=interactions, feedback=feedback,
                feedback_rate=feedback / interactions if interactions else None,
                reports=_reports(ws), alerts=list_alerts(ws, limit=50))


@router.get("/ui/monitoring/reports/{name}")
def report_file(request: Request, name: str) -> FileResponse:
    session.principal(request, "viewer")
    path: Path = request.app.state.ws.state_dir / "monitoring" / name
    if not _REPORT.match(name) or not path.is_file():
        raise NotFound(f"no drift report '{name}'", hint="Create one with `mloop monitor drift ENDPOINT`.")
    return FileResponse(path, media_type="text/html")
