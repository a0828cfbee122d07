"""serving: endpoints, their variants (weighted model versions) and the deployment history.

Revision ID: serving_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "serving_0001"
down_revision = None
branch_labels = ("serving",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "endpoints",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("follow_model", sa.String(200), nullable=True),
        sa.Column("follow_canary_weight", sa.Integer, nullable=True),
        sa.Column("guardrails", sa.JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "endpoint_variants",
        sa.Column("endpoint", sa.String(200), sa.ForeignKey("endpoints.name", ondelete="CASCADE"),
                  primary_key=True),
        sa.Column("variant", sa.String(100), primary_key=True),
        sa.Column("model_name", sa.String(200), nullable=False),
        sa.Column("model_version", sa.Integer, nullable=False),
        sa.Column("model_uri", sa.String(1000), nullable=False),
        sa.Column("weight", sa.Integer, nullable=False),
        sa.Column("deployed_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_table(
        "endpoint_history",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("endpoint", sa.String(200), nullable=False, index=True),
        sa.Column("generation", sa.Integer, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("action", sa.String(50), nullable=False),
        sa.Column("principal", sa.String(200), nullable=True),
        sa.Column("variants", sa.JSON, nullable=False),
        sa.Column("detail", sa.JSON, nullable=False),
        sa.UniqueConstraint("endpoint", "generation", name="uq_endpoint_history_generation"),
    )


def downgrade() -> None:
    op.drop_table("endpoint_history")
    op.drop_table("endpoint_variants")
    op.drop_table("endpoints")
