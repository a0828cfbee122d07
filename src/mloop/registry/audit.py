"""The audit trail's writer: every status change of a version, and the event that announces it.

Registration, decisions and adoption from MLflow all write through `write_audit`, inside the
transaction that changes the version, so the trail and the version can never disagree.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from mloop.store.events import append_event

# SQLAlchemy and the tables are imported where a query runs: `import mloop.serving` reaches the
# registry and stays free of SQLAlchemy.
if TYPE_CHECKING:
    from sqlalchemy import Connection


def write_audit(conn: Connection, name: str, version: int, from_status: str | None, to: str,
                principal: str | None, at: datetime, comment: str | None) -> None:
    """Append one audit entry and its `registry.status_changed` event in the caller's transaction."""
    from mloop.registry.tables import registry_audit

    conn.execute(registry_audit.insert().values(
        name=name, version=version, from_status=from_status, to_status=to, principal=principal,
        at=at, comment=comment,
    ))
    append_event(conn, "registry.status_changed", f"{name}/{version}",
                 {"from": from_status, "to": to, "comment": comment}, principal, at=at)
