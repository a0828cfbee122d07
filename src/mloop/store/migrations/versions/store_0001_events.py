"""store: the event log (what happened, to what, by whom).

Revision ID: store_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "store_0001"
down_revision = None
branch_labels = ("store",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "events",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("kind", sa.String(100), nullable=False, index=True),
        sa.Column("subject", sa.String(500), nullable=False, index=True),
        sa.Column("principal", sa.String(200), nullable=True),
        sa.Column("detail", sa.JSON, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("events")
