"""SQLAlchemy Core tables of the serving package (mirror `serving_0001`).

`endpoints.generation` increases with every configuration change; servers poll it to know when
to reload. `endpoint_history` keeps the full variant list after each change, so a rollback can
restore any earlier configuration and the history reads as an audit trail.
"""

from __future__ import annotations

from sqlalchemy import JSON, Column, DateTime, ForeignKey, Integer, String, Table, UniqueConstraint

from mloop.store.tables import metadata

endpoints = Table(
    "endpoints",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("follow_model", String(200)),
    Column("follow_canary_weight", Integer),
    Column("guardrails", JSON, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

endpoint_variants = Table(
    "endpoint_variants",
    metadata,
    Column("endpoint", String(200), ForeignKey("endpoints.name", ondelete="CASCADE"), primary_key=True),
    Column("variant", String(100), primary_key=True),
    Column("model_name", String(200), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("model_uri", String(1000), nullable=False),
    Column("weight", Integer, nullable=False),
    Column("deployed_at", DateTime(timezone=True), nullable=False),
)

endpoint_history = Table(
    "endpoint_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(200), nullable=False, index=True),
    Column("generation", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("action", String(50), nullable=False),
    Column("principal", String(200)),
    Column("variants", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
    UniqueConstraint("endpoint", "generation", name="uq_endpoint_history_generation"),
)
