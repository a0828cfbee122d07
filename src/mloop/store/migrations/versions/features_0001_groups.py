"""features: feature groups and their ingestions (offline Parquet files).

Revision ID: features_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "features_0001"
down_revision = None
branch_labels = ("features",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "feature_groups",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False, unique=True),
        sa.Column("spec", sa.JSON, nullable=False),
        sa.Column("data_version", sa.Integer, nullable=False, server_default="0"),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=True),
    )
    op.create_table(
        "feature_ingestions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column(
            "group_id", sa.Integer,
            sa.ForeignKey("feature_groups.id", ondelete="CASCADE"), nullable=False, index=True,
        ),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("source", sa.String(1000), nullable=False),
        sa.Column("source_hash", sa.String(100), nullable=False, index=True),
        sa.Column("dedupe_key", sa.String(200), nullable=True),
        sa.Column("digest", sa.String(64), nullable=True),
        sa.Column("rows", sa.Integer, nullable=False),
        sa.Column("rejected", sa.Integer, nullable=False),
        sa.Column("quarantine", sa.String(1000), nullable=True),
        sa.Column("online_applied", sa.Boolean, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("principal", sa.String(200), nullable=True),
        sa.UniqueConstraint("group_id", "dedupe_key", name="uq_feature_ingestions_dedupe"),
    )


def downgrade() -> None:
    op.drop_table("feature_ingestions")
    op.drop_table("feature_groups")
