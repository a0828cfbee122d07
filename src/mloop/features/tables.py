"""SQLAlchemy Core tables of the feature store (mirrors migrations/versions/features_0001)."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    UniqueConstraint,
)

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

feature_groups = Table(
    "feature_groups",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("spec", JSON, nullable=False),
    Column("data_version", Integer, nullable=False, default=0, server_default="0"),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200)),
)

# One row per committed ingestion (a CSV/Parquet file, or a flushed batch of put_records).
# Its id orders ingestions (later wins on equal event time); `dedupe_key` makes re-ingesting
# the same content (or re-flushing the same spool batch) a no-op even under races.
feature_ingestions = Table(
    "feature_ingestions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("group_id", Integer, ForeignKey("feature_groups.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("kind", String(20), nullable=False),
    Column("source", String(1000), nullable=False),
    Column("source_hash", String(100), nullable=False, index=True),
    Column("dedupe_key", String(200)),
    Column("digest", String(64)),
    Column("rows", Integer, nullable=False),
    Column("rejected", Integer, nullable=False),
    Column("quarantine", String(1000)),
    Column("online_applied", Boolean, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("principal", String(200)),
    UniqueConstraint("group_id", "dedupe_key", name="uq_feature_ingestions_dedupe"),
)
