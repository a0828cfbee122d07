"""Run records: pipeline definitions, runs, step runs, artifacts and their uses.

These mirror the Alembic branch "pipelines" (`store/migrations/versions/pipelines_*.py`).
Lineage reads them: an artifact has one producing step run and any number of consuming step
runs (`artifact_uses`); a cached step run points at the step run it reused (`cached_from`).
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from mloop.store.tables import metadata
from mloop.store.timestamps import UtcDateTime

pipelines = Table(
    "pipelines",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(200), nullable=False, index=True),
    Column("graph_hash", String(64), nullable=False),
    Column("graph", JSON, nullable=False),  # graph.Graph.to_dict()
    Column("source", String(500)),  # "module:function"
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("name", "graph_hash", name="uq_pipelines_name_hash"),
)

pipeline_runs = Table(
    "pipeline_runs",
    metadata,
    Column("id", String(64), primary_key=True),
    Column("pipeline_id", Integer, ForeignKey("pipelines.id"), nullable=False),
    Column("pipeline_name", String(200), nullable=False, index=True),
    Column("status", String(20), nullable=False),
    Column("params", JSON, nullable=False),
    Column("target", String(20), nullable=False),  # local | kfp
    Column("origin_run_id", String(64)),  # the run this one retries or clones
    Column("origin_kind", String(10)),  # retry | clone
    Column("no_cache", Boolean, nullable=False),
    Column("principal", String(200)),
    Column("git_commit", String(64)),
    Column("mlflow_run_id", String(64)),
    Column("experiment", String(200)),
    Column("error", Text),
    Column("created_at", UtcDateTime(), nullable=False, index=True),
    Column("started_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("driver", String(200)),  # host:pid of the process executing a local run
)

step_runs = Table(
    "step_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", String(64), ForeignKey("pipeline_runs.id"), nullable=False, index=True),
    Column("step_name", String(200), nullable=False),
    Column("kind", String(40), nullable=False),
    Column("func", String(500), nullable=False),
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False),
    Column("cache_key", String(64), index=True),
    Column("cached_from", Integer),  # step_runs.id whose outputs were reused
    Column("params", JSON, nullable=False),  # constant / parameter inputs, resolved
    Column("metrics", JSON, nullable=False),
    Column("outputs", JSON, nullable=False),  # output name -> digest
    Column("mlflow_run_id", String(64)),
    Column("model_uri", String(500)),
    Column("message", String(1000)),  # one readable line (why it failed, skipped...)
    Column("error", Text),  # traceback
    Column("logs", Text),  # captured stdout/stderr/logging (tail)
    Column("log_digest", String(64)),  # full log in the artifact store
    Column("started_at", UtcDateTime()),
    Column("finished_at", UtcDateTime()),
    Column("duration_s", Float),
    UniqueConstraint("run_id", "step_name", name="uq_step_runs_run_step"),
)

artifacts = Table(
    "artifacts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("digest", String(64), nullable=False, index=True),
    Column("uri", String(1000), nullable=False),
    Column("size", Integer, nullable=False),
    Column("type", String(200), nullable=False),  # python type, e.g. pandas.DataFrame
    Column("format", String(40), nullable=False),  # materializer: parquet, json, npy, dir, pickle
    Column("producer_step_run_id", Integer, ForeignKey("step_runs.id"), nullable=False, index=True),
    Column("output_name", String(200), nullable=False),
    Column("meta", JSON, nullable=False),
    Column("created_at", UtcDateTime(), nullable=False),
    UniqueConstraint("producer_step_run_id", "output_name", name="uq_artifacts_producer_output"),
)

artifact_uses = Table(
    "artifact_uses",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("artifact_id", Integer, ForeignKey("artifacts.id"), nullable=False, index=True),
    Column("step_run_id", Integer, ForeignKey("step_runs.id"), nullable=False, index=True),
    Column("input_name", String(200), nullable=False),
)
