"""An outbox: writes meant for another system, recorded in mloop's database first.

When MLflow is down (or too slow to import in a one-second CLI command), mloop records what it
must tell MLflow as an outbox entry in the same database as its own records, and a later
process delivers it (`drain` with a handler per topic). An entry leaves the outbox only once
its handler succeeded; a failing one keeps its last error and is tried again next time.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from mloop.errors import MloopError

# The tables (SQLAlchemy) are imported where a query runs: the registry writes here and
# `import mloop.serving` reaches it, free of SQLAlchemy.
if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Workspace


@dataclass(frozen=True)
class Entry:
    id: int
    topic: str
    subject: str
    payload: dict[str, Any]
    created_at: datetime
    attempts: int
    last_error: str | None


def add(ws: Workspace, topic: str, subject: str, payload: dict[str, Any],
        conn: Connection | None = None) -> None:
    """Record a write to deliver later (`subject` names what it is about: a run, a version).

    Pass `conn` to record it in the caller's transaction (committed with the change it mirrors).
    """
    from mloop.store.tables import outbox

    insert = outbox.insert().values(topic=topic, subject=subject, payload=payload,
                                    created_at=datetime.now(UTC), attempts=0)
    if conn is not None:
        conn.execute(insert)
        return
    with ws.db.begin() as own:
        own.execute(insert)


def pending(ws: Workspace, topic: str | None = None, subject: str | None = None) -> list[Entry]:
    """Undelivered entries, oldest first."""
    from sqlalchemy import select

    from mloop.store.tables import outbox

    query = select(outbox).order_by(outbox.c.id)
    if topic is not None:
        query = query.where(outbox.c.topic == topic)
    if subject is not None:
        query = query.where(outbox.c.subject == subject)
    with ws.db.begin() as conn:
        return [Entry(**dict(r._mapping)) for r in conn.execute(query)]


def drain(ws: Workspace, topic: str, deliver: Callable[[Entry], None],
          subject: str | None = None, deadline: float | None = None) -> tuple[int, list[str]]:
    """Deliver pending entries of `topic` in order; returns (delivered, errors).

    A delivery that raises stays in the outbox with its error; the rest are still tried, except
    after an entry of the same subject failed (order within a subject is kept). Past `deadline`
    (a `time.monotonic()` value) no new delivery starts: the rest stay for the next drain.
    """
    import time

    from sqlalchemy import delete, update

    from mloop.store.tables import outbox

    delivered, errors, blocked = 0, [], set()
    for entry in pending(ws, topic, subject):
        if deadline is not None and time.monotonic() >= deadline:
            break
        if entry.subject in blocked:
            continue
        try:
            deliver(entry)
        except MloopError as exc:
            blocked.add(entry.subject)
            errors.append(f"{entry.subject}: {exc.message}")
            with ws.db.begin() as conn:
                conn.execute(update(outbox).where(outbox.c.id == entry.id).values(
                    attempts=entry.attempts + 1, last_error=exc.message[:2000]))
            continue
        with ws.db.begin() as conn:
            conn.execute(delete(outbox).where(outbox.c.id == entry.id))
        delivered += 1
    return delivered, errors
