"""SQLAlchemy Core tables of the experiments package (mirror `experiments_0001`).

`experiments` holds what was asked (endpoint, the two variants pinned to their model versions,
metric, alpha, tau, margin, sample limits) and where it stands (status, decision, the running
always-valid p-value, the last evidence). `experiment_looks` keeps one row per evaluation whose
counts changed: the dashboard draws the confidence sequence over time from it, and the running
minimum of the p-value is taken over these looks.
"""

from __future__ import annotations

from sqlalchemy import JSON, Boolean, Column, Float, ForeignKey, Integer, String, Table

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

experiments = Table(
    "experiments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("endpoint", String(200), nullable=False, index=True),
    Column("metric", String(50), nullable=False),
    Column("variants", JSON, nullable=False),
    Column("settings", JSON, nullable=False),
    Column("auto_promote", Boolean, nullable=False),
    Column("status", String(20), nullable=False, index=True),
    Column("decision", String(200), nullable=False),
    Column("p_value", Float, nullable=False),
    Column("evidence", JSON, nullable=False),
    Column("principal", String(200)),
    Column("started_at", UtcDateTime(), nullable=False),
    Column("ended_at", UtcDateTime()),
)

experiment_looks = Table(
    "experiment_looks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("experiment_id", Integer, ForeignKey("experiments.id", ondelete="CASCADE"), nullable=False,
           index=True),
    Column("at", UtcDateTime(), nullable=False),
    Column("counts", JSON, nullable=False),
    Column("effect", Float, nullable=False),
    Column("lower", Float, nullable=False),
    Column("upper", Float, nullable=False),
    Column("p_value", Float, nullable=False),
)
