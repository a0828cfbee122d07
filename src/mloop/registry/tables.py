"""SQLAlchemy Core tables of the registry (schema: migrations/versions/registry_0001).

`registry_versions` holds the approval state (the source of truth; MLflow's version tag
`mloop.approval_status` mirrors it); `registry_audit` is append-only: one row per transition.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Index, Integer, String, Table, Text, UniqueConstraint

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

registry_versions = Table(
    "registry_versions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False),
    Column("version", Integer, nullable=False),
    Column("status", String(40), nullable=False),
    Column("model_uri", String(1000), nullable=False),
    Column("source", String(2000), nullable=False),
    Column("run_id", String(64)),
    Column("metrics", JSON, nullable=False),
    Column("meta", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("registered_by", String(200)),
    Column("decided_by", String(200)),
    Column("decided_at", UtcDateTime()),
    Column("comment", Text),
    UniqueConstraint("name", "version", name="uq_registry_versions_name_version"),
    Index("ix_registry_versions_status", "name", "status"),
)

registry_audit = Table(
    "registry_audit",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(255), nullable=False, index=True),
    Column("version", Integer, nullable=False),
    Column("from_status", String(40)),
    Column("to_status", String(40), nullable=False),
    Column("principal", String(200)),
    Column("at", UtcDateTime(), nullable=False),
    Column("comment", Text),
)
