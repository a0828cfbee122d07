"""SQLAlchemy Core tables of the alerts package (schema: migrations/versions/alerts_0001)."""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, Index, Integer, String, Table, Text

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("source", String(200), nullable=False, index=True),
    Column("severity", String(20), nullable=False, index=True),
    Column("title", String(500), nullable=False),
    Column("detail", JSON, nullable=False),
    Column("principal", String(200)),
    Column("delivery", String(20), nullable=False),  # none | delivered | failed
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("kind", String(50), nullable=False),  # alert | registry
    Column("subject", String(500), nullable=False),
    Column("url", String(2000), nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("status_code", Integer),
    Column("error", Text),
    Column("duration_ms", Float, nullable=False),
    Index("ix_webhook_deliveries_subject", "kind", "subject"),
)
