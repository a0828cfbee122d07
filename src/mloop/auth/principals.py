"""Who acts: principals, roles, and the principal a piece of work runs on behalf of.

A principal's name is compared only after `normalize` (trim, casefold), so `Root` and `root `
are one person for the four-eyes rule. Work done for someone else (a pipeline step of a run a
deployer started from the dashboard) runs under `act_as(name)`; library functions that record
who did something default to `acting_principal(ws)`, never to the server's OS user.
"""

from __future__ import annotations

import contextvars
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from mloop.errors import InvalidInput

if TYPE_CHECKING:
    from mloop.store import Workspace

ROLES: tuple[str, ...] = ("viewer", "approver", "deployer", "admin")
ANONYMOUS = "anonymous"
_ACTING: contextvars.ContextVar[str | None] = contextvars.ContextVar("mloop_acting_principal", default=None)


def normalize(name: str | None) -> str | None:
    """The comparable form of a principal name (trimmed, casefolded); None when blank."""
    if name is None:
        return None
    text = " ".join(str(name).split()).casefold()
    return text or None


def check_role(role: str) -> str:
    """`role` when it is one of ROLES.

    Raises:
        InvalidInput: an unknown role, naming the valid ones.
    """
    if role not in ROLES:
        raise InvalidInput(f"unknown role '{role}'", hint=f"roles: {', '.join(ROLES)}")
    return role


@dataclass(frozen=True)
class Principal:
    """The caller: a name for audit trails and a role for permission checks."""

    name: str
    role: str
    authenticated: bool = True

    def can(self, role: str) -> bool:
        """Whether this principal holds `role` or a higher one."""
        return ROLES.index(self.role) >= ROLES.index(role)


@contextmanager
def act_as(name: str | None) -> Iterator[None]:
    """Within the block, records default to `name` (normalised) as the acting principal."""
    token = _ACTING.set(normalize(name))
    try:
        yield
    finally:
        _ACTING.reset(token)


def acting_principal(ws: Workspace) -> str | None:
    """Who the current work is done for: `act_as`'s name, else this process's configured one."""
    return _ACTING.get() or normalize(ws.settings.principal)
