"""Dashboard sessions: a random id in the cookie, its digest and expiry in the database.

Logging in with a token opens a session with a fresh CSRF token (so the CSRF token rotates at
every login); logging out revokes it, so a copied cookie stops working at once. Revoking the
token also ends every session opened with it.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from mloop.auth.principals import Principal
from mloop.auth.tokens import digest

# The tables (SQLAlchemy) are imported where a query runs: `import mloop.serving` reaches auth
# and stays free of SQLAlchemy.
if TYPE_CHECKING:
    from mloop.store import Workspace


@dataclass(frozen=True)
class Session:
    """A live session: who it belongs to and the CSRF token its forms must carry."""

    principal: Principal
    csrf: str
    expires_at: datetime


def open_session(ws: Workspace, token_id: int, hours: float) -> tuple[str, str]:
    """Open a session for token `token_id`; return (session id for the cookie, CSRF token)."""
    from mloop.auth.tables import auth_sessions as s

    session_id, csrf = secrets.token_urlsafe(32), secrets.token_hex(20)  # hex: what forms and tests expect
    now = datetime.now(UTC)
    with ws.db.begin() as conn:
        conn.execute(s.insert().values(id_hash=digest(session_id), token_id=token_id, csrf=csrf,
                                       created_at=now, expires_at=now + timedelta(hours=hours)))
        # Housekeeping: sessions that ended more than a day ago are of no use to anyone.
        conn.execute(s.delete().where(s.c.expires_at < now - timedelta(days=1)))
    return session_id, csrf


def find_session(ws: Workspace, session_id: str) -> Session | None:
    """The live session `session_id`; None when unknown, expired, logged out or its token revoked."""
    from sqlalchemy import select

    from mloop.auth.tables import auth_sessions as s
    from mloop.auth.tables import auth_tokens as t

    query = (select(s.c.csrf, s.c.expires_at, s.c.revoked_at, t.c.principal, t.c.role,
                    t.c.revoked_at.label("token_revoked"))
             .join(t, t.c.id == s.c.token_id).where(s.c.id_hash == digest(session_id)))
    with ws.db.begin() as conn:
        row = conn.execute(query).first()
    if row is None or row.revoked_at is not None or row.token_revoked is not None:
        return None
    expires = row.expires_at
    if expires <= datetime.now(UTC):
        return None
    return Session(Principal(name=row.principal, role=row.role), row.csrf, expires)


def close_session(ws: Workspace, session_id: str) -> None:
    """Revoke a session (logout); unknown ids are ignored."""
    from mloop.auth.tables import auth_sessions as s

    with ws.db.begin() as conn:
        conn.execute(s.update().where(s.c.id_hash == digest(session_id), s.c.revoked_at.is_(None))
                     .values(revoked_at=datetime.now(UTC)))
