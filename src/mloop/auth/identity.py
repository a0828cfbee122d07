"""Who runs a command: the one check every mutating CLI command goes through.

`[auth] cli = "token"` (the default whenever the metadata database is shared, i.e. not the
workspace's own SQLite file) means a command must present `MLOOP_TOKEN`, and the token's
principal and role decide, exactly as on the dashboard. `cli = "os"` (the default of a
single-user workspace) trusts the configured `principal` (MLOOP_PRINCIPAL or the OS user).
A set `MLOOP_TOKEN` is always used: a proven identity beats a typed name.
"""

from __future__ import annotations

import logging
import os
from typing import TYPE_CHECKING

from mloop.auth.legacy import import_config_tokens
from mloop.auth.principals import ROLES, Principal, check_role, normalize
from mloop.auth.tokens import authenticate
from mloop.errors import PermissionDenied, Unauthenticated

if TYPE_CHECKING:
    from mloop.store import Workspace

TOKEN_ENV = "MLOOP_TOKEN"
log = logging.getLogger("mloop.auth")


def cli_mode(ws: Workspace) -> str:
    """"token" or "os": how commands of this workspace prove who runs them."""
    configured = ws.settings.auth.cli
    if configured is not None:
        return configured
    own = f"sqlite:///{(ws.root / '.mloop' / 'mloop.db').resolve()}"
    return "os" if ws.settings.database_url == own else "token"


def ensure_tokens_migrated(ws: Workspace) -> None:
    """Move plaintext configured tokens into the database, telling the user (stderr log)."""
    message = import_config_tokens(ws)
    if message:
        log.warning(message)


def require(ws: Workspace, role: str, *, action: str = "this command") -> Principal:
    """The principal running a command that needs `role`.

    Raises:
        Unauthenticated: token mode without MLOOP_TOKEN, or an unknown/revoked token.
        PermissionDenied: the token's role is below `role`.
    """
    check_role(role)
    token = os.environ.get(TOKEN_ENV, "").strip()
    if token:
        ensure_tokens_migrated(ws)
        who = authenticate(ws, token)
    elif cli_mode(ws) == "token":
        raise Unauthenticated(
            f"{action} needs a token: this workspace authenticates commands ([auth] cli = \"token\")",
            hint=f"Set {TOKEN_ENV} to a token with role '{role}' or higher "
                 "(an admin issues one: `mloop auth tokens create --principal NAME --role ROLE`).")
    else:
        return Principal(name=normalize(ws.settings.principal) or "unknown", role="admin", authenticated=False)
    if not who.can(role):
        raise PermissionDenied(
            f"principal '{who.name}' has role '{who.role}'; {action} needs '{role}'",
            hint=f"Use a token whose role is {' or '.join(ROLES[ROLES.index(role):])}.")
    return who
