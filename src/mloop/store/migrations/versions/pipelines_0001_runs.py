"""pipelines: definitions, runs, step runs, artifacts and artifact uses.

Revision ID: pipelines_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "pipelines_0001"
down_revision = None
branch_labels = ("pipelines",)
depends_on = None

TS = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "pipelines",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(200), nullable=False, index=True),
        sa.Column("graph_hash", sa.String(64), nullable=False),
        sa.Column("graph", sa.JSON, nullable=False),
        sa.Column("source", sa.String(500)),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("name", "graph_hash", name="uq_pipelines_name_hash"),
    )
    op.create_table(
        "pipeline_runs",
        sa.Column("id", sa.String(64), primary_key=True),
        sa.Column("pipeline_id", sa.Integer, sa.ForeignKey("pipelines.id"), nullable=False),
        sa.Column("pipeline_name", sa.String(200), nullable=False, index=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("target", sa.String(20), nullable=False),
        sa.Column("origin_run_id", sa.String(64)),
        sa.Column("origin_kind", sa.String(10)),
        sa.Column("no_cache", sa.Boolean, nullable=False),
        sa.Column("principal", sa.String(200)),
        sa.Column("git_commit", sa.String(64)),
        sa.Column("mlflow_run_id", sa.String(64)),
        sa.Column("experiment", sa.String(200)),
        sa.Column("error", sa.Text),
        sa.Column("created_at", TS, nullable=False, index=True),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
    )
    op.create_table(
        "step_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.String(64), sa.ForeignKey("pipeline_runs.id"), nullable=False,
                  index=True),
        sa.Column("step_name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("func", sa.String(500), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("cache_key", sa.String(64), index=True),
        sa.Column("cached_from", sa.Integer),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("metrics", sa.JSON, nullable=False),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("mlflow_run_id", sa.String(64)),
        sa.Column("model_uri", sa.String(500)),
        sa.Column("message", sa.String(1000)),
        sa.Column("error", sa.Text),
        sa.Column("logs", sa.Text),
        sa.Column("log_digest", sa.String(64)),
        sa.Column("started_at", TS),
        sa.Column("finished_at", TS),
        sa.Column("duration_s", sa.Float),
        sa.UniqueConstraint("run_id", "step_name", name="uq_step_runs_run_step"),
    )
    op.create_table(
        "artifacts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("digest", sa.String(64), nullable=False, index=True),
        sa.Column("uri", sa.String(1000), nullable=False),
        sa.Column("size", sa.Integer, nullable=False),
        sa.Column("type", sa.String(200), nullable=False),
        sa.Column("format", sa.String(40), nullable=False),
        sa.Column("producer_step_run_id", sa.Integer, sa.ForeignKey("step_runs.id"),
                  nullable=False, index=True),
        sa.Column("output_name", sa.String(200), nullable=False),
        sa.Column("meta", sa.JSON, nullable=False),
        sa.Column("created_at", TS, nullable=False),
        sa.UniqueConstraint("producer_step_run_id", "output_name",
                            name="uq_artifacts_producer_output"),
    )
    op.create_table(
        "artifact_uses",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("artifact_id", sa.Integer, sa.ForeignKey("artifacts.id"), nullable=False,
                  index=True),
        sa.Column("step_run_id", sa.Integer, sa.ForeignKey("step_runs.id"), nullable=False,
                  index=True),
        sa.Column("input_name", sa.String(200), nullable=False),
    )


def downgrade() -> None:
    for name in ("artifact_uses", "artifacts", "step_runs", "pipeline_runs", "pipelines"):
        op.drop_table(name)
