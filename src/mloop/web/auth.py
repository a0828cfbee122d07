"""Who is calling: a bearer token (stored hashed in the metadata database) -> principal and role.

Roles are ordered (viewer < approver < deployer < admin): a route asks for the least role it
needs with `Depends(require_role("approver"))` and receives the `Principal`. Reads
(`require_role("viewer")`) are open to an anonymous viewer when `auth.anonymous_read` is set.
Tokens are never logged or echoed in an error message; see `mloop.auth` for their storage.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from fastapi import Request, Security
from fastapi.concurrency import run_in_threadpool
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mloop.auth import ANONYMOUS, ROLES, Principal, check_role, ensure_tokens_migrated
from mloop.auth import authenticate as token_principal
from mloop.errors import PermissionDenied, Unauthenticated

if TYPE_CHECKING:
    from mloop.store import Workspace

# Declares the scheme in OpenAPI; the header itself is parsed below (to report malformed ones).
_BEARER = HTTPBearer(auto_error=False, description="A token from `mloop auth tokens create`.")

__all__ = ["ANONYMOUS", "ROLES", "Principal", "authenticate", "require_role", "resolve"]


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header is not a bearer token")
    return value.strip()


def authenticate(ws: Workspace, header: str | None) -> Principal | None:
    """The principal of an `Authorization` header; None when there is no header.

    Raises:
        Unauthenticated: the header is malformed or the token is unknown or revoked.
    """
    token = _bearer(header)
    if token is None:
        return None
    ensure_tokens_migrated(ws)
    return token_principal(ws, token)


def allow(ws: Workspace, principal: Principal | None, role: str) -> Principal:
    """`principal` when it may act with `role` (None: anonymous, if reads are open).

    Raises:
        Unauthenticated: no principal and anonymous access does not cover `role`.
        PermissionDenied: the principal's role is below `role`.
    """
    if principal is None:
        if role == "viewer" and ws.settings.auth.anonymous_read:
            return Principal(name=ANONYMOUS, role="viewer", authenticated=False)
        raise Unauthenticated(f"this request needs a bearer token with role '{role}' or higher")
    if not principal.can(role):
        raise PermissionDenied(
            f"principal '{principal.name}' has role '{principal.role}'; this needs '{role}'",
            hint=f"Use a token whose role is {' or '.join(ROLES[ROLES.index(role):])}.",
        )
    return principal


def resolve(ws: Workspace, header: str | None, role: str) -> Principal:
    """The caller of a request with `header`, allowed to act with `role` (see `allow`)."""
    return allow(ws, authenticate(ws, header), role)


def require_role(role: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller, who must hold `role` (or a higher one).

    Usage: `def route(who: Principal = Depends(require_role("approver")))`.
    """
    check_role(role)

    async def dependency(
        request: Request, _doc: HTTPAuthorizationCredentials | None = Security(_BEARER)
    ) -> Principal:
        header = request.headers.get("authorization")
        ws = request.app.state.ws
        # A token is a database lookup: off the event loop. Anonymous reads need none.
        principal = resolve(ws, None, role) if header is None else \
            await run_in_threadpool(resolve, ws, header, role)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency
