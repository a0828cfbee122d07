"""SQLAlchemy Core tables of the auth package (schema: migrations/versions/auth_0001).

Neither table holds a secret: a token or session id is stored as the SHA-256 of its text, so
a copy of the database lets nobody log in.
"""

from __future__ import annotations

from sqlalchemy import Column, ForeignKey, Integer, String, Table

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

auth_tokens = Table(
    "auth_tokens",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("hint", String(20), nullable=False),  # the first characters, to tell tokens apart
    Column("principal", String(200), nullable=False, index=True),
    Column("role", String(20), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("created_by", String(200)),
    Column("note", String(500)),
    Column("revoked_at", UtcDateTime()),
)

auth_sessions = Table(
    "auth_sessions",
    metadata,
    Column("id_hash", String(64), primary_key=True),
    Column("token_id", Integer, ForeignKey("auth_tokens.id"), nullable=False, index=True),
    Column("csrf", String(64), nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("expires_at", UtcDateTime(), nullable=False),
    Column("revoked_at", UtcDateTime()),
)
