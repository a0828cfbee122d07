"""The event log: a small, append-only record of what happened, for audit and the demo."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.store.database import Database

# The tables (SQLAlchemy) are imported where a query runs: the registry writes here and
# `import mloop.serving` reaches it, free of SQLAlchemy.
if TYPE_CHECKING:
    from sqlalchemy import Connection


def record_event(
    db: Database, kind: str, subject: str, detail: dict[str, Any] | None = None,
    principal: str | None = None,
) -> int:
    """Append one event in its own transaction and return its id."""
    with db.begin() as conn:
        return append_event(conn, kind, subject, detail, principal)


def append_event(conn: Connection, kind: str, subject: str, detail: dict[str, Any] | None = None,
                 principal: str | None = None, at: datetime | None = None) -> int:
    """Append one event inside the caller's transaction (it commits or rolls back with the change
    it records, e.g. a registry status change); returns its id. The events table is the store's:
    other packages write it through here."""
    from mloop.store.tables import events

    result = conn.execute(events.insert().values(
        at=at or datetime.now(UTC), kind=kind, subject=subject, principal=principal, detail=detail or {}))
    key = result.inserted_primary_key
    assert key is not None
    return int(key[0])


def list_events(
    db: Database, kind: str | None = None, subject: str | None = None, limit: int = 100
) -> list[dict[str, Any]]:
    """The newest events first, optionally filtered by kind and subject."""
    from sqlalchemy import select

    from mloop.store.tables import events

    query = select(events).order_by(events.c.id.desc()).limit(limit)
    if kind:
        query = query.where(events.c.kind == kind)
    if subject:
        query = query.where(events.c.subject == subject)
    with db.begin() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]
