"""serving: shadow variants (no traffic, a sampled copy of each request) and the prediction log
that holds their answers next to the live ones, with the copies a server had to drop.

Revision ID: serving_0002
Revises: serving_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "serving_0002"
down_revision = "serving_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("endpoint_variants") as batch:
        batch.add_column(sa.Column("shadow", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("sample", sa.Float, nullable=False, server_default="1.0"))
    op.create_table(
        "prediction_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("request_id", sa.String(100), nullable=False),
        sa.Column("row", sa.Integer, nullable=False),
        sa.Column("variant", sa.String(100), nullable=False),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("shadow", sa.Boolean, nullable=False),
        sa.Column("task", sa.String(30), nullable=True),
        sa.Column("prediction", sa.Float, nullable=True),
        sa.Column("error", sa.String(500), nullable=True),
        sa.Column("latency_ms", sa.Float, nullable=False),
    )
    op.create_index("ix_prediction_log_endpoint_at", "prediction_log", ["endpoint", "at"])
    op.create_table(
        "shadow_drops",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("variant", sa.String(100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("dropped", sa.Integer, nullable=False),
    )
    op.create_index("ix_shadow_drops_endpoint_at", "shadow_drops", ["endpoint", "at"])


def downgrade() -> None:
    op.drop_index("ix_shadow_drops_endpoint_at", "shadow_drops")
    op.drop_table("shadow_drops")
    op.drop_index("ix_prediction_log_endpoint_at", "prediction_log")
    op.drop_table("prediction_log")
    with op.batch_alter_table("endpoint_variants") as batch:
        batch.drop_column("sample")
        batch.drop_column("shadow")
