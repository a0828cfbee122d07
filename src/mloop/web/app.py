"""The control plane: one FastAPI app per workspace, open to more routers.

Routers live in `mloop.web.routers.<resource>`; each module exposes `router` (an `APIRouter`)
or `register(app)` for more (static files, templates). `ROUTER_MODULES` lists the built-in ones;
the dashboard and other packages add theirs there, or callers pass `extra_routers`. Routes read
the workspace from `request.app.state.ws` (`Depends(get_workspace)`) and guard themselves with
`Depends(require_role(...))`.
"""

from __future__ import annotations

import asyncio
import importlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from types import ModuleType
from typing import TYPE_CHECKING, Any

from fastapi import APIRouter, Depends, FastAPI, Request
from fastapi.middleware.cors import CORSMiddleware
from fastapi.responses import JSONResponse

from mloop import __version__
from mloop.web import errors
from mloop.web.auth import Principal, require_role

if TYPE_CHECKING:
    from mloop.store import Workspace

# Built-in routers, in the order they appear in the OpenAPI description.
ROUTER_MODULES: list[str] = [
    "mloop.web.routers.lineage",
    "mloop.web.dashboard",
]

DESCRIPTION = """The mloop control plane: lineage of pipelines, models and endpoints.

Reads are open to anonymous viewers when `[auth] anonymous_read` is true; everything else needs
`Authorization: Bearer <token>` with a token from `mloop auth tokens create` (roles: viewer < approver <
deployer < admin). Errors are JSON `{code, message, hint}`; an unexpected failure is
`{"message": "internal error", "requestId": ...}` and the server log has the details.
"""


async def get_workspace(request: Request) -> Workspace:
    """A FastAPI dependency: the workspace this app serves."""
    return request.app.state.ws  # type: ignore[no-any-return]


def create_app(ws: Workspace, *, extra_routers: Iterable[APIRouter | ModuleType | str] = ()) -> FastAPI:
    """The control-plane app for `ws`.

    Args:
        ws: the workspace (its settings drive auth and CORS; its stores back the routes).
        extra_routers: more routers to mount: `APIRouter`s, router modules, or module names.

    Returns:
        A FastAPI app; run it with uvicorn (`mloop server` does).
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        # Open (and migrate) the database before the first request, off the event loop.
        await asyncio.to_thread(lambda: ws.db)
        yield

    app = FastAPI(title="mloop control plane", version=__version__, description=DESCRIPTION,
                  lifespan=lifespan)
    app.state.ws = ws
    errors.install(app)
    cors = ws.settings.server
    app.add_middleware(
        CORSMiddleware, allow_origins=cors.cors_origins, allow_methods=cors.cors_methods,
        allow_headers=["Authorization", "Content-Type", errors.REQUEST_ID_HEADER],
        expose_headers=[errors.REQUEST_ID_HEADER], allow_credentials=False,
    )
    app.include_router(_system_router())
    for item in [*ROUTER_MODULES, *extra_routers]:
        mount(app, item)
    return app


def mount(app: FastAPI, item: APIRouter | ModuleType | str) -> None:
    """Add a router (or a router module's `register(app)` / `router`) to `app`."""
    if isinstance(item, APIRouter):
        app.include_router(item)
        return
    module = importlib.import_module(item) if isinstance(item, str) else item
    if hasattr(module, "register"):
        module.register(app)
    else:
        app.include_router(module.router)


def _system_router() -> APIRouter:
    router = APIRouter(tags=["system"])

    @router.get("/healthz", summary="Liveness and database reachability (no auth).")
    def healthz(ws: Workspace = Depends(get_workspace)) -> JSONResponse:
        from sqlalchemy import text

        try:
            with ws.db.begin() as conn:
                conn.execute(text("SELECT 1"))
            database = "ok"
        except Exception as exc:  # health must answer, whatever broke
            database = f"unavailable: {type(exc).__name__}"
        ok = database == "ok"
        body = {"status": "ok" if ok else "degraded", "version": __version__, "database": database}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("/api/whoami", summary="The principal and role of the caller.")
    def whoami(who: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
        return {"principal": who.name, "role": who.role, "authenticated": who.authenticated}

    return router
