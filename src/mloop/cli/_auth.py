"""The one identity check of mutating commands (approve, reject, deploy, endpoint changes, runs,
releases, destroy): `authorize(ws, role)` returns who runs the command, proven by MLOOP_TOKEN
when the workspace authenticates commands (`[auth] cli = "token"`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mloop.auth import require

if TYPE_CHECKING:
    from mloop.store import Workspace


def authorize(ws: Workspace, role: str, action: str = "this command") -> str:
    """The normalised principal allowed to run a command that needs `role`.

    Raises:
        Unauthenticated: the workspace wants a token and MLOOP_TOKEN is unset, unknown or revoked.
        PermissionDenied: the token's role is below `role`.
    """
    return require(ws, role, action=action).name
