"""Explicit lineage links: arrows that no run record implies, recorded when they happen.

A node is a URI (`mloop://alerts/3`, `mloop://monitoring/drift-reports/<digest>`,
`mloop://releases/7`, `mloop://models/NAME/versions/N`); a link says the source led to the target
(`evidence`, `started`, `registered`) and describes the source (its digest, title...), so the
trail behind a model version reads back without asking the packages that own those nodes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from mloop.lineage.records import iso
from mloop.lineage.tables import lineage_links as ll

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from mloop.store import Database

MAX_DEPTH = 8


def model_uri(name: str, version: int) -> str:
    """The URI of a model version node (the `arn` lineage.model shows)."""
    return f"mloop://models/{name}/versions/{int(version)}"


def record_link(db: Database, source: str, target: str, relation: str,
                source_detail: dict[str, Any] | None = None) -> None:
    """Record that `source` led to `target`; recording the same link again changes nothing."""
    with db.begin() as conn:
        found = conn.execute(select(ll.c.id).where(ll.c.source == source, ll.c.target == target,
                                                   ll.c.relation == relation)).first()
        if found is None:
            conn.execute(ll.insert().values(at=datetime.now(UTC), source=source, target=target,
                                            relation=relation, source_detail=source_detail or {}))


def trail(conn: Connection, uri: str) -> list[dict[str, Any]]:
    """The nodes that led to `uri`, nearest first: `[{node, relation, detail, at}]` following
    the earliest recorded link into each node (a node has one cause in practice)."""
    out: list[dict[str, Any]] = []
    seen = {uri}
    current = uri
    for _ in range(MAX_DEPTH):
        row = conn.execute(select(ll).where(ll.c.target == current).order_by(ll.c.id).limit(1)).first()
        if row is None or row.source in seen:
            break
        out.append({"node": row.source, "relation": row.relation, "target": current,
                    "detail": dict(row.source_detail or {}), "at": iso(row.at)})
        seen.add(row.source)
        current = row.source
    return out
