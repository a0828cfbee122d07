"""Models: registered models, their versions, the approval queue and the audit trail.

Approve / Reject go through `mloop.registry` with the session's principal, so the same policy
(comment required, four-eyes rule) applies as on the command line; the page shows the refusal.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from mloop.errors import MloopError
from mloop.web.dashboard import session
from mloop.web.dashboard.render import page

if TYPE_CHECKING:
    from mloop.registry import ModelVersion
    from mloop.store import Workspace

router = APIRouter(include_in_schema=False)
DONE = ("approved", "rejected")


def _queue(ws: Workspace) -> list[ModelVersion]:
    from mloop import registry

    pending: list[ModelVersion] = []
    for model in registry.list_models(ws):
        if model.pending:
            pending += [v for v in registry.versions(ws, model.name) if v.status == registry.PENDING]
    return sorted(pending, key=lambda v: v.created_at)


@router.get("/ui/models", response_class=HTMLResponse)
def models_page(request: Request) -> HTMLResponse:
    return _models(request)


def _models(request: Request, flash: str | None = None, kind: str | None = None) -> HTMLResponse:
    """The models page; a refused decision shows `flash` (never taken from the URL)."""
    from mloop import registry

    who = session.principal(request, "viewer")
    ws = request.app.state.ws
    return page(request, "models.html", active="models", models=registry.list_models(ws),
                queue=_queue(ws), can_approve=who.can("approver"), flash=flash, flash_kind=kind,
                settings=ws.settings.registry)


@router.get("/ui/models/{name}", response_class=HTMLResponse)
def model_page(request: Request, name: str) -> HTMLResponse:
    from mloop import registry

    who = session.principal(request, "viewer")
    ws = request.app.state.ws
    versions = sorted(registry.versions(ws, name), key=lambda v: -v.version)
    # Only the outcomes this server redirects with: a link cannot make the page say anything else.
    done = request.query_params.get("done") if request.query_params.get("done") in DONE else None
    return page(request, "model.html", active="models", name=name, versions=versions, done=done,
                history=list(reversed(registry.history(ws, name))), can_approve=who.can("approver"),
                deployments=_deployments(ws, name))


def _deployments(ws: Workspace, name: str) -> dict[int, list[str]]:
    """version -> ['endpoint/variant', ...] where it serves now."""
    from mloop import serving

    out: dict[int, list[str]] = {}
    for endpoint in serving.list_endpoints(ws):
        for variant in endpoint.variants:
            if variant.model_name == name:
                out.setdefault(variant.model_version, []).append(f"{endpoint.name}/{variant.name}")
    return out


@router.post("/ui/models/{name}/{version}/decision", response_model=None)
def decide(request: Request, name: str, version: int, decision: str = Form(...),
           comment: str = Form(""), csrf: str = Form("")) -> HTMLResponse | RedirectResponse:
    from mloop import registry

    session.check_csrf(request, csrf)
    who = session.principal(request, "approver")
    ws = request.app.state.ws
    if decision not in ("approve", "reject"):
        response = _models(request, flash=f"unknown decision '{decision}'; approve or reject", kind="error")
        response.status_code = 400  # bad input is 4xx, like every other refused form
        return response
    from mloop.serving.endpoints.retire import reject_version  # refuses while an endpoint serves the version

    action = registry.approve if decision == "approve" else reject_version
    try:
        action(ws, name, version, principal=who.name, comment=comment.strip() or None)
    except MloopError as exc:
        response = _models(request, flash=f"{exc.message}. {exc.hint or ''}".strip(), kind="error")
        response.status_code = exc.http_status
        return response
    verb = "approved" if decision == "approve" else "rejected"
    return RedirectResponse(f"/ui/models/{name}?done={verb}", status_code=303)
