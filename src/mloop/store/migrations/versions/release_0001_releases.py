"""release: releases, their stages, and the per-endpoint row that serializes deploys.

Revision ID: release_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "release_0001"
down_revision = None
branch_labels = ("release",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "releases",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(200), nullable=False, index=True),
        sa.Column("model", sa.String(200), nullable=False),
        sa.Column("pipeline", sa.String(200), nullable=False),
        sa.Column("params", sa.JSON, nullable=False),
        sa.Column("options", sa.JSON, nullable=False),
        sa.Column("status", sa.String(30), nullable=False, index=True),
        sa.Column("stage", sa.String(30), nullable=True),
        sa.Column("message", sa.Text, nullable=True),
        sa.Column("commit", sa.String(64), nullable=True),
        sa.Column("branch", sa.String(200), nullable=True),
        sa.Column("model_version", sa.Integer, nullable=True),
        sa.Column("created_by", sa.String(200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("driver", sa.String(300), nullable=True),
        sa.Column("heartbeat_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "release_stages",
        sa.Column("release_id", sa.Integer, sa.ForeignKey("releases.id", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("name", sa.String(30), primary_key=True),
        sa.Column("position", sa.Integer, nullable=False),
        sa.Column("status", sa.String(30), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, default=0),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outputs", sa.JSON, nullable=False),
        sa.Column("detail", sa.Text, nullable=True),
        sa.Column("error", sa.Text, nullable=True),
    )
    op.create_table(
        "release_endpoints",
        sa.Column("endpoint", sa.String(200), primary_key=True),
        sa.Column("deploying_release", sa.Integer, nullable=True),
        sa.Column("locked_at", sa.DateTime(timezone=True), nullable=True),
    )


def downgrade() -> None:
    op.drop_table("release_endpoints")
    op.drop_table("release_stages")
    op.drop_table("releases")
