"""lineage: explicit links between nodes no run records (alert -> drift report -> release -> version).

Revision ID: lineage_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "lineage_0001"
down_revision = None
branch_labels = ("lineage",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "lineage_links",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("source", sa.String(500), nullable=False, index=True),
        sa.Column("target", sa.String(500), nullable=False, index=True),
        sa.Column("relation", sa.String(50), nullable=False),
        sa.Column("source_detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("lineage_links")
