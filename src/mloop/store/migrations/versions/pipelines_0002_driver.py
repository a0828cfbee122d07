"""pipelines: record which process drives a local run (host:pid), so a run whose process died
(SIGKILL, OOM, power loss) can be told from a live one and retried.

Revision ID: pipelines_0002
Revises: pipelines_0001
"""

import sqlalchemy as sa
from alembic import op

revision = "pipelines_0002"
down_revision = "pipelines_0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.add_column(sa.Column("driver", sa.String(200), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("pipeline_runs") as batch:
        batch.drop_column("driver")
