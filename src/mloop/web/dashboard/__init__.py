"""The dashboard: server-rendered pages on the control plane (no front-end build step).

Pages live under `/ui/`; each module here is a router for one noun. Sessions are token logins in
an HttpOnly SameSite cookie; every form is CSRF-protected (`session.py`). The graph layout is
computed in Python (`layout.py`) and drawn as SVG.
"""

from __future__ import annotations

import inspect
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from mloop.errors import MloopError, Unauthenticated
from mloop.http_errors import status_and_body
from mloop.web.dashboard.render import page

PAGE_MODULES = [
    "mloop.web.dashboard.login",
    "mloop.web.dashboard.pipelines",
    "mloop.web.dashboard.models",
    "mloop.web.dashboard.endpoints",
    "mloop.web.dashboard.runs",
    "mloop.web.dashboard.operations",
]


def register(app: FastAPI) -> None:
    """Mount the dashboard pages, their static files, and HTML error pages for `/ui/`."""
    import importlib

    app.mount("/ui/static", StaticFiles(directory=Path(__file__).parent / "static"), name="ui-static")
    for name in PAGE_MODULES:
        app.include_router(importlib.import_module(name).router)

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/ui/", status_code=303)

    previous = app.exception_handlers.get(MloopError)

    async def html_errors(request: Request, exc: Exception) -> Response:
        if not request.url.path.startswith("/ui/") or not isinstance(exc, MloopError):
            assert previous is not None
            answer = previous(request, exc)
            return await answer if inspect.isawaitable(answer) else answer

        if isinstance(exc, Unauthenticated) and request.method == "GET":
            return RedirectResponse(f"/ui/login?next={request.url.path}", status_code=303)
        return page(request, "error.html", status_code=status_and_body(exc)[0], error=exc)

    app.add_exception_handler(MloopError, html_errors)
