"""Who is calling: bearer tokens from `[auth] tokens` mapped to a principal and a role.

Roles are ordered (viewer < approver < deployer < admin): a route asks for the least role it
needs with `Depends(require_role("approver"))` and receives the `Principal`. Reads
(`require_role("viewer")`) are open to an anonymous viewer when `auth.anonymous_read` is set.
Tokens are compared in constant time and never logged or echoed in an error message.
"""

from __future__ import annotations

import hmac
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING

from fastapi import Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from mloop.errors import InvalidInput, PermissionDenied, Unauthenticated

if TYPE_CHECKING:
    from mloop.config import AuthSettings

ROLES: tuple[str, ...] = ("viewer", "approver", "deployer", "admin")
ANONYMOUS = "anonymous"
# Declares the scheme in OpenAPI; the header itself is parsed below (to report malformed ones).
_BEARER = HTTPBearer(auto_error=False, description="A token from the workspace's [auth] tokens.")


@dataclass(frozen=True)
class Principal:
    """The caller: a name for audit trails and a role for permission checks."""

    name: str
    role: str
    authenticated: bool = True

    def can(self, role: str) -> bool:
        """Whether this principal holds `role` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


def _bearer(header: str | None) -> str | None:
    if not header:
        return None
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        raise Unauthenticated("the Authorization header is not a bearer token")
    return value.strip()


def authenticate(auth: AuthSettings, header: str | None) -> Principal | None:
    """The principal of an `Authorization` header; None when there is no header.

    Raises:
        Unauthenticated: the header is malformed or the token is unknown.
    """
    token = _bearer(header)
    if token is None:
        return None
    given = token.encode()
    match = None
    for known, spec in auth.tokens.items():
        # Check every token (no early exit) so timing does not reveal a prefix match.
        if hmac.compare_digest(known.encode(), given):
            match = spec
    if match is None:
        raise Unauthenticated("unknown bearer token")
    return Principal(name=match.principal, role=match.role)


def resolve(auth: AuthSettings, header: str | None, role: str) -> Principal:
    """The caller allowed to act with `role`.

    Raises:
        Unauthenticated: no usable token and anonymous access does not cover `role`.
        PermissionDenied: the token's role is below `role`.
    """
    principal = authenticate(auth, header)
    if principal is None:
        if role == "viewer" and auth.anonymous_read:
            return Principal(name=ANONYMOUS, role="viewer", authenticated=False)
        raise Unauthenticated(f"this request needs a bearer token with role '{role}' or higher")
    if not principal.can(role):
        raise PermissionDenied(
            f"principal '{principal.name}' has role '{principal.role}'; this needs '{role}'",
            hint=f"Use a token whose role is {' or '.join(ROLES[ROLES.index(role):])}.",
        )
    return principal


def require_role(role: str) -> Callable[..., Awaitable[Principal]]:
    """A FastAPI dependency: the caller, who must hold `role` (or a higher one).

    Usage: `def route(who: Principal = Depends(require_role("approver")))`.
    """
    if role not in ROLES:
        raise InvalidInput(f"unknown role '{role}'", hint=f"roles: {', '.join(ROLES)}")

    async def dependency(  # async: pure CPU, no need for a threadpool hop per request
        request: Request, _doc: HTTPAuthorizationCredentials | None = Security(_BEARER)
    ) -> Principal:
        settings = request.app.state.ws.settings
        principal = resolve(settings.auth, request.headers.get("authorization"), role)
        request.state.principal = principal
        return principal

    dependency.__name__ = f"require_{role}"
    return dependency
