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
from fastapi.responses import JSONResponse

from mloop import __version__
from mloop.web import errors, security
from mloop.web.auth import Principal, require_role
from mloop.web.openapi import document_errors

if TYPE_CHECKING:
    from mloop.store import Workspace

# Built-in routers, in the order they appear in the OpenAPI description.
ROUTER_MODULES: list[str] = [
    "mloop.web.routers.lineage",
    "mloop.web.dashboard",
]

DESCRIPTION = """The mloop control plane: lineage of pipelines, models and endpoints.

Reads are open to anonymous viewers when `[auth] anonymous_read` allows it (by default only
while the server listens on 127.0.0.1); everything else needs
`Authorization: Bearer <token>` with a token from `mloop auth tokens create` (roles: viewer < approver <
deployer < admin). Errors are JSON `{code, message, hint}`; an unexpected failure is
`{"message": "internal error", "requestId": ...}` and the server log has the details.
"""


async def get_workspace(request: Request) -> Workspace:
    """A FastAPI dependency: the workspace this app serves."""
    return request.app.state.ws  # type: ignore[no-any-return]


def create_app(ws: Workspace, *, extra_routers: Iterable[APIRouter | ModuleType | str] = (),
               bind_host: str | None = None) -> FastAPI:
    """The control-plane app for `ws`.

    Args:
        ws: the workspace (its settings drive auth, CORS and allowed hosts; its stores back the routes).
        extra_routers: more routers to mount: `APIRouter`s, router modules, or module names.
        bind_host: the address the server binds (`mloop server` passes it): with no
            `[server] allowed_hosts`, requests must name it or localhost in `Host`.

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
    server = ws.settings.server
    if ws.settings.auth.anonymous_read == "loopback" and bind_host is not None:
        # Anonymous reads only while no one but this machine can connect.
        ws.settings.auth.anonymous_read = bind_host in security.LOOPBACK_NAMES
    security.install_cors(app, server.cors_origins, server.cors_methods,
                          ["Authorization", "Content-Type", errors.REQUEST_ID_HEADER],
                          [errors.REQUEST_ID_HEADER])
    app.add_middleware(security.BodyLimit, max_bytes=server.max_body_bytes)
    security.protect(app, security.allowed_hosts(server.allowed_hosts, bind_host))
    app.include_router(_system_router())
    for item in [*ROUTER_MODULES, *extra_routers]:
        mount(app, item)

    document_errors(app)
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
        except Exception as exc:  # noqa: BLE001 — health must answer, whatever broke
            database = f"unavailable: {type(exc).__name__}"
        ok = database == "ok"
        body = {"status": "ok" if ok else "degraded", "version": __version__, "database": database}
        return JSONResponse(body, status_code=200 if ok else 503)

    @router.get("/api/whoami", summary="The principal and role of the caller.")
    def whoami(who: Principal = Depends(require_role("viewer"))) -> dict[str, Any]:
        return {"principal": who.name, "role": who.role, "authenticated": who.authenticated}

    return router
