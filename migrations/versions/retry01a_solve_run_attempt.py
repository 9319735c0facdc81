"""solve runs: the attempt, so a run whose worker died is retried once

Revision ID: retry01a
Revises: claim01a
Create Date: 2026-12-05 08:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = "retry01a"
down_revision = "claim01a"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("solve_runs") as batch:
        batch.add_column(sa.Column("attempt", sa.Integer(), nullable=False, server_default="1"))


def downgrade():
    with op.batch_alter_table("solve_runs") as batch:
        batch.drop_column("attempt")
