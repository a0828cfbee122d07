"""SQLAlchemy Core tables of the store package; other packages declare theirs on `metadata`.

Table definitions here mirror the Alembic revisions in `migrations/versions/`; the migrations
are the source of truth for the schema, these objects are how code queries it.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, Integer, MetaData, String, Table, Text

from mloop.store.timestamps import UtcDateTime

metadata = MetaData()

events = Table(
    "events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("kind", String(100), nullable=False, index=True),
    Column("subject", String(500), nullable=False, index=True),
    Column("principal", String(200)),
    Column("detail", JSON, nullable=False),
)

outbox = Table(  # see mloop.store.outbox
    "outbox",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("topic", String(50), nullable=False, index=True),
    Column("subject", String(500), nullable=False, index=True),
    Column("payload", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text),
)
