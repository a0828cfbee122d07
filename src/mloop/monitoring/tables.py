"""SQLAlchemy Core tables of the monitoring package (schema: migrations/versions/monitoring_0001)."""

from __future__ import annotations

from sqlalchemy import Column, Integer, String, Table, Text

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

# What `retrain_on_drift` decided for each drift alert: a release started, or why none was.
drift_retrains = Table(
    "drift_retrains",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime(), nullable=False, index=True),
    Column("endpoint", String(200), nullable=False),
    Column("model", String(200), index=True),
    Column("alert_id", Integer),
    Column("report_digest", String(64)),
    Column("report_uri", String(1000)),
    Column("decision", String(20), nullable=False),  # started | skipped
    Column("reason", Text),
    Column("release_id", Integer),
)
