"""The per-endpoint lock in the metadata store: one release deploys an endpoint at a time.

Each endpoint has one `release_endpoints` row. Reading it `FOR UPDATE` serializes release starts
and lock changes (PostgreSQL takes a row lock; SQLite's `BEGIN IMMEDIATE` already serializes every
writer). The `deploying_release` column is the deploy lock: held from the start of Deploy to the
end of Verify, so no other release can deploy between a deploy and its verification. A lock whose
holder finished, or whose driver died, is free.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from mloop.release.drivers import TERMINAL, driver_alive, now
from mloop.release.tables import release_endpoints, releases

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Database


def ensure_endpoint_row(db: Database, endpoint: str) -> None:
    """Create the endpoint's row if missing (its own transaction: a race only loses an insert)."""

    with db.begin() as conn:
        found = conn.execute(select(release_endpoints.c.endpoint)
                             .where(release_endpoints.c.endpoint == endpoint)).first()
    if found:
        return
    try:
        with db.begin() as conn:
            conn.execute(release_endpoints.insert().values(endpoint=endpoint))
    except IntegrityError:
        pass


def lock_endpoint_row(conn: Connection, endpoint: str) -> Any:
    """Row-lock the endpoint's row for the rest of `conn`'s transaction and return it."""

    return conn.execute(
        select(release_endpoints).where(release_endpoints.c.endpoint == endpoint).with_for_update()
    ).first()


def _holder_alive(conn: Connection, release_id: int) -> bool:

    row = conn.execute(select(releases.c.status, releases.c.driver, releases.c.heartbeat_at)
                       .where(releases.c.id == release_id)).first()
    if row is None or row.status in TERMINAL:
        return False
    return driver_alive(row.driver, row.heartbeat_at)


def try_lock(db: Database, endpoint: str, release_id: int) -> int | None:
    """Take the deploy lock of `endpoint` for `release_id`.

    Returns:
        None when this release holds the lock now; else the id of the live release holding it.
    """

    ensure_endpoint_row(db, endpoint)
    with db.begin() as conn:
        row = lock_endpoint_row(conn, endpoint)
        holder = row.deploying_release
        if holder not in (None, release_id) and _holder_alive(conn, holder):
            return int(holder)
        conn.execute(update(release_endpoints).where(release_endpoints.c.endpoint == endpoint)
                     .values(deploying_release=release_id, locked_at=now()))
        return None


def unlock_in(conn: Connection, endpoint: str, release_id: int) -> None:
    """Free the deploy lock if `release_id` holds it (inside the caller's transaction)."""

    conn.execute(update(release_endpoints).where(
        release_endpoints.c.endpoint == endpoint, release_endpoints.c.deploying_release == release_id
    ).values(deploying_release=None, locked_at=None))


def lock_holder(db: Database, endpoint: str) -> int | None:
    """The release holding the deploy lock of `endpoint` (None when free)."""

    with db.begin() as conn:
        row = conn.execute(select(release_endpoints.c.deploying_release)
                           .where(release_endpoints.c.endpoint == endpoint)).first()
    return None if row is None else row.deploying_release
