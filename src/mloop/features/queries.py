"""Read-only queries over the features package's tables, for the packages above it (lineage).

The tables are private to this package; each query takes an open connection so a caller can
compose it with other packages' queries in one transaction.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Connection, select

from mloop.features.tables import feature_groups, feature_ingestions


def ingestion_history(conn: Connection, groups: list[str]) -> dict[str, list[tuple[datetime, int]]]:
    """(committed at, data version) of every ingestion of `groups`, oldest first (UTC-aware)."""
    if not groups:
        return {}
    query = (select(feature_groups.c.name, feature_ingestions.c.created_at, feature_ingestions.c.version)
             .join(feature_ingestions, feature_ingestions.c.group_id == feature_groups.c.id)
             .where(feature_groups.c.name.in_(groups)).order_by(feature_ingestions.c.version))
    out: dict[str, list[tuple[datetime, int]]] = {}
    for row in conn.execute(query):
        out.setdefault(row.name, []).append((row.created_at, int(row.version)))
    return out
