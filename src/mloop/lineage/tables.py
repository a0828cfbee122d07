"""SQLAlchemy Core tables of the lineage package (schema: migrations/versions/lineage_0001).

Most lineage is derived from the run, registry and endpoint records. What no run records, such
as a drift alert that started a release, is an explicit link between two node URIs.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, String, Table

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

lineage_links = Table(
    "lineage_links",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("source", String(500), nullable=False, index=True),  # mloop://alerts/3
    Column("target", String(500), nullable=False, index=True),  # mloop://releases/7
    Column("relation", String(50), nullable=False),  # evidence | started | registered
    Column("source_detail", JSON, nullable=False),  # what the source node is (digest, title...)
)
