"""SQLAlchemy Core tables of the serving package (mirror `serving_0001` and `serving_0002`).

`endpoints.generation` increases with every configuration change; servers poll it to know when
to reload. `endpoint_history` keeps the full variant list after each change, so a rollback can
restore any earlier configuration and the history reads as an audit trail. A shadow variant
(`shadow`, with its `sample` share) takes no traffic; the servers log what it predicts on copies of
requests next to the live answer in `prediction_log`, and count the copies they dropped in
`shadow_drops`, for `mloop endpoints compare`.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    UniqueConstraint,
    false,
)

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

endpoints = Table(
    "endpoints",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("generation", Integer, nullable=False),
    Column("follow_model", String(200)),
    Column("follow_canary_weight", Integer),
    Column("guardrails", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    Column("updated_at", UtcDateTime(), nullable=False),
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
    Column("deployed_at", UtcDateTime(), nullable=False),
    Column("shadow", Boolean, nullable=False, server_default=false()),
    Column("sample", Float, nullable=False, server_default="1.0"),
)

endpoint_history = Table(
    "endpoint_history",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(200), nullable=False, index=True),
    Column("generation", Integer, nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("action", String(50), nullable=False),
    Column("principal", String(200)),
    Column("variants", JSON, nullable=False),
    Column("detail", JSON, nullable=False),
    UniqueConstraint("endpoint", "generation", name="uq_endpoint_history_generation"),
)

prediction_log = Table(
    "prediction_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(200), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("request_id", String(100), nullable=False),
    Column("row", Integer, nullable=False),
    Column("variant", String(100), nullable=False),
    Column("model_name", String(200), nullable=False),
    Column("model_version", Integer, nullable=False),
    Column("shadow", Boolean, nullable=False),
    Column("task", String(30)),
    Column("prediction", Float),
    Column("error", String(500)),
    Column("latency_ms", Float, nullable=False),
    Index("ix_prediction_log_endpoint_at", "endpoint", "at"),
)

shadow_drops = Table(
    "shadow_drops",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(200), nullable=False),
    Column("variant", String(100), nullable=False),
    Column("at", UtcDateTime(), nullable=False),
    Column("dropped", Integer, nullable=False),
    Index("ix_shadow_drops_endpoint_at", "endpoint", "at"),
)
