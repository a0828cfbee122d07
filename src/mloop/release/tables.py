"""SQLAlchemy Core tables of releases (mirror `release_0001`; the migration is the truth)."""

from __future__ import annotations

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, Text

from mloop.store import metadata
from mloop.store.timestamps import UtcDateTime

releases = Table(
    "releases",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(200), nullable=False, index=True),
    Column("model", String(200), nullable=False),
    Column("pipeline", String(200), nullable=False),
    Column("params", JSON, nullable=False),
    Column("options", JSON, nullable=False),
    Column("status", String(30), nullable=False, index=True),
    Column("stage", String(30)),
    Column("message", Text),
    Column("commit", String(64)),
    Column("branch", String(200)),
    Column("model_version", Integer),
    Column("created_by", String(200)),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
    Column("finished_at", UtcDateTime()),
    Column("driver", String(300)),
    Column("heartbeat_at", UtcDateTime()),
)

release_stages = Table(
    "release_stages",
    metadata,
    Column("release_id", Integer, ForeignKey("releases.id", ondelete="CASCADE"), primary_key=True),
    Column("name", String(30), primary_key=True),
    Column("position", Integer, nullable=False),
    Column("status", String(30), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("started_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("outputs", JSON, nullable=False),
    Column("detail", Text),
    Column("error", Text),
)

# One row per endpoint: its row lock serializes release starts, its column is the deploy lock.
release_endpoints = Table(
    "release_endpoints",
    metadata,
    Column("endpoint", String(200), primary_key=True),
    Column("deploying_release", Integer),
    Column("locked_at", UtcDateTime()),
)
