"""Bearer tokens: issued once, stored as SHA-256 digests, revocable.

A token is 32 random bytes (URL-safe text with an `mlp_` prefix), so a plain SHA-256 is a
sound digest (no dictionary to attack); it is looked up by digest and the digest compared in
constant time. The plaintext exists only in the output of `create_token`.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.auth.principals import Principal, check_role, normalize
from mloop.errors import InvalidInput, NotFound, Unauthenticated

# The tables (SQLAlchemy) are imported where a query runs: `import mloop.serving` reaches auth
# and stays free of SQLAlchemy.
if TYPE_CHECKING:
    from mloop.store import Workspace

PREFIX = "mlp_"
HINT_CHARS = 10


def digest(secret: str) -> str:
    """The stored form of a token or session id."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True)
class TokenRecord:
    """What the database knows about a token (never the token itself)."""

    id: int
    hint: str
    principal: str
    role: str
    created_at: datetime
    created_by: str | None
    note: str | None
    revoked_at: datetime | None

    @classmethod
    def from_row(cls, row: Any) -> TokenRecord:
        m = row._mapping
        return cls(id=m["id"], hint=m["hint"], principal=m["principal"], role=m["role"],
                   created_at=m["created_at"], created_by=m["created_by"], note=m["note"],
                   revoked_at=m["revoked_at"])

    def to_dict(self) -> dict[str, Any]:
        return {"id": self.id, "hint": self.hint + "…", "principal": self.principal, "role": self.role,
                "created_at": self.created_at, "created_by": self.created_by, "note": self.note,
                "revoked": self.revoked_at is not None}


def _principal_name(name: str) -> str:
    clean = normalize(name)
    if clean is None or len(clean) > 200:
        raise InvalidInput("a token needs a principal name of 1-200 characters",
                           hint="mloop auth tokens create --principal ana --role approver")
    return clean


def store_token(ws: Workspace, token: str, principal: str, role: str, *,
                created_by: str | None = None, note: str | None = None) -> TokenRecord:
    """Record `token` (hashed) for `principal` with `role`; a known token is left as it is."""
    from sqlalchemy import select

    from mloop.auth.tables import auth_tokens as t

    values = {"token_hash": digest(token), "hint": token[:HINT_CHARS], "principal": _principal_name(principal),
              "role": check_role(role), "created_at": datetime.now(UTC), "created_by": normalize(created_by),
              "note": (note or None) and note[:500]}
    with ws.db.begin() as conn:
        found = conn.execute(select(t).where(t.c.token_hash == values["token_hash"])).first()
        if found is None:
            conn.execute(t.insert().values(**values))
            found = conn.execute(select(t).where(t.c.token_hash == values["token_hash"])).one()
    return TokenRecord.from_row(found)


def create_token(ws: Workspace, principal: str, role: str, *, created_by: str | None = None,
                 note: str | None = None) -> tuple[str, TokenRecord]:
    """Issue a new token for `principal` with `role`.

    Returns:
        The token text (shown once: only its digest is stored) and its record.

    Raises:
        InvalidInput: a blank principal or an unknown role.
    """
    token = PREFIX + secrets.token_urlsafe(32)
    return token, store_token(ws, token, principal, role, created_by=created_by, note=note)


def list_tokens(ws: Workspace, *, include_revoked: bool = False) -> list[TokenRecord]:
    """Every token record, oldest first (revoked ones only on request)."""
    from sqlalchemy import select

    from mloop.auth.tables import auth_tokens as t

    query = select(t).order_by(t.c.id)
    if not include_revoked:
        query = query.where(t.c.revoked_at.is_(None))
    with ws.db.begin() as conn:
        return [TokenRecord.from_row(r) for r in conn.execute(query)]


def revoke_token(ws: Workspace, token_id: int) -> TokenRecord:
    """Revoke a token (and so every dashboard session opened with it).

    Raises:
        NotFound: no token with that id, naming the live ones.
    """
    from sqlalchemy import select

    from mloop.auth.tables import auth_tokens as t

    with ws.db.begin() as conn:
        row = conn.execute(select(t).where(t.c.id == token_id)).first()
        if row is None:
            live = [str(r.id) for r in conn.execute(select(t.c.id).where(t.c.revoked_at.is_(None)))]
            raise NotFound(f"no token with id {token_id}",
                           hint=f"live token ids: {', '.join(live) or '(none)'}; see `mloop auth tokens list`.")
        if row.revoked_at is None:
            conn.execute(t.update().where(t.c.id == token_id).values(revoked_at=datetime.now(UTC)))
        row = conn.execute(select(t).where(t.c.id == token_id)).one()
    return TokenRecord.from_row(row)


def lookup(ws: Workspace, token: str) -> tuple[int, Principal] | None:
    """The live token `token` as (id, principal); None when unknown or revoked."""
    from sqlalchemy import select

    from mloop.auth.tables import auth_tokens as t

    wanted = digest(token)
    with ws.db.begin() as conn:
        row = conn.execute(select(t.c.id, t.c.token_hash, t.c.principal, t.c.role, t.c.revoked_at)
                           .where(t.c.token_hash == wanted)).first()
    if row is None or row.revoked_at is not None or not hmac.compare_digest(row.token_hash, wanted):
        return None
    return row.id, Principal(name=row.principal, role=row.role)


def hint_owners(ws: Workspace, token: str) -> set[str]:
    """Principals with a live token that starts like `token` (its shown hint): whom a wrong
    token was probably aimed at (login rate limits count failures against them)."""
    from sqlalchemy import select

    from mloop.auth.tables import auth_tokens as t

    if len(token) < HINT_CHARS:
        return set()
    with ws.db.begin() as conn:
        rows = conn.execute(select(t.c.principal).where(t.c.hint == token[:HINT_CHARS], t.c.revoked_at.is_(None)))
        return {r.principal for r in rows}


def authenticate(ws: Workspace, token: str) -> Principal:
    """The principal of a bearer token.

    Raises:
        Unauthenticated: the token is unknown or revoked.
    """
    found = lookup(ws, token.strip()) if token and token.strip() else None
    if found is None:
        raise Unauthenticated("unknown or revoked token",
                              hint="Ask an admin for a token: `mloop auth tokens create --principal NAME --role ROLE`.")
    return found[1]
