"""experiments: A/B tests on an endpoint's variants and the looks taken at them.

Revision ID: experiments_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "experiments_0001"
down_revision = None
branch_labels = ("experiments",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "experiments",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(200), nullable=False, index=True),
        sa.Column("metric", sa.String(50), nullable=False),
        sa.Column("variants", sa.JSON, nullable=False),
        sa.Column("settings", sa.JSON, nullable=False),
        sa.Column("auto_promote", sa.Boolean, nullable=False),
        sa.Column("status", sa.String(20), nullable=False, index=True),
        sa.Column("decision", sa.String(200), nullable=False),
        sa.Column("p_value", sa.Float, nullable=False),
        sa.Column("evidence", sa.JSON, nullable=False),
        sa.Column("principal", sa.String(200), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
    )
    op.create_table(
        "experiment_looks",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("experiment_id", sa.Integer, sa.ForeignKey("experiments.id", ondelete="CASCADE"),
                  nullable=False, index=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("counts", sa.JSON, nullable=False),
        sa.Column("effect", sa.Float, nullable=False),
        sa.Column("lower", sa.Float, nullable=False),
        sa.Column("upper", sa.Float, nullable=False),
        sa.Column("p_value", sa.Float, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("experiment_looks")
    op.drop_table("experiments")
