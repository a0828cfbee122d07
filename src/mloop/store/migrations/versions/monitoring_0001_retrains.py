"""monitoring: what retrain_on_drift decided for each drift alert (started or skipped, and why).

Revision ID: monitoring_0001
Revises:
"""

import sqlalchemy as sa
from alembic import op

revision = "monitoring_0001"
down_revision = None
branch_labels = ("monitoring",)
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drift_retrains",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False, index=True),
        sa.Column("endpoint", sa.String(200), nullable=False),
        sa.Column("model", sa.String(200), nullable=True, index=True),
        sa.Column("alert_id", sa.Integer, nullable=True),
        sa.Column("report_digest", sa.String(64), nullable=True),
        sa.Column("report_uri", sa.String(1000), nullable=True),
        sa.Column("decision", sa.String(20), nullable=False),
        sa.Column("reason", sa.Text, nullable=True),
        sa.Column("release_id", sa.Integer, nullable=True),
    )


def downgrade() -> None:
    op.drop_table("drift_retrains")
